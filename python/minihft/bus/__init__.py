"""The message bus: one interface, two transports (Kafka and in-process)."""

from minihft.bus.base import Bus, Consumer, Message, partition_for
from minihft.bus.inproc import InProcBus
from minihft.bus.topics import Topics

__all__ = ["Bus", "Consumer", "InProcBus", "Message", "Topics", "partition_for"]
