"""Live ITCH sources: MoldUDP64 over UDP and SoupBinTCP over TCP, and their replay senders.

The socket loops run on C++ threads (`minihft._live`); each receiver feeds a lock-free SPSC ring
that Python drains in batches. A batch is the received ITCH messages in the standard file framing
(2-byte big-endian length + message, concatenated), so `minihft.marketdata.itch.parse_bytes` or
a streaming `_feed.Parser` reads it exactly like a file, plus the events (gaps, recoveries,
logins, disconnects) as a LIVE_EVENT array that says where in the stream they happened.
"""

from __future__ import annotations

import gzip
import time
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from types import TracebackType
from typing import Self

import numpy as np
from numpy.typing import NDArray

from minihft import _live

LIVE_EVENT = np.dtype(
    [("kind", "<u4"), ("aux", "<u4"), ("seq", "<u8"), ("count", "<u8"), ("ts_ns", "<i8")]
)
assert LIVE_EVENT.itemsize == _live.EVENT_SIZE


class EventKind(IntEnum):
    GAP_DETECTED = 1  # seq = first missing, count = how many
    GAP_RECOVERED = 2  # [seq, seq+count) has since been delivered (by retransmission)
    GAP_ABANDONED = 3  # [seq, seq+count) is lost
    SESSION_END = 4  # seq = next sequence number
    LOGIN_ACCEPTED = 5  # seq = first sequence number the server sends
    LOGIN_REJECTED = 6  # aux = reason code ('A' not authorised, 'S' session unavailable)
    DISCONNECTED = 7  # seq = next expected; aux = 1 when the peer left mid-message
    HEARTBEAT_TIMEOUT = 8
    PROTOCOL_ERROR = 9


@dataclass(frozen=True)
class Batch:
    data: bytes  # ITCH messages in file framing
    messages: int
    events: NDArray[np.void]  # LIVE_EVENT


def _batch(raw: tuple[bytes, bytes, int]) -> Batch:
    data, ev, n = raw
    return Batch(data, n, np.frombuffer(ev, dtype=LIVE_EVENT))


def read_itch(path: str | Path) -> bytes:
    """A whole ITCH file (raw or gzip, by magic bytes) in memory, for the replay senders."""
    p = Path(path)
    with p.open("rb") as f:
        magic = f.read(2)
    if magic == b"\x1f\x8b":
        with gzip.open(p, "rb") as g:
            return g.read()
    return p.read_bytes()


class _Receiver:
    _rx: _live.MoldReceiver | _live.SoupClient

    def start(self) -> Self:
        self._rx.start()
        return self

    def stop(self) -> None:
        self._rx.stop()

    def drain(self, max_bytes: int = 1 << 20) -> Batch:
        """Whole records only, about max_bytes at most; an empty batch when nothing arrived."""
        return _batch(self._rx.drain(max_bytes))

    @property
    def finished(self) -> bool:
        """MoldUDP64: end of session seen and every gap closed; SoupBinTCP: the loop ended."""
        return self._rx.finished

    def counters(self) -> dict[str, int]:
        return dict(self._rx.counters())

    def collect(self, timeout_s: float, max_bytes: int = 1 << 22) -> Batch:
        """Drains until finished (then once more) or timeout; the concatenation of all batches."""
        parts: list[bytes] = []
        events: list[NDArray[np.void]] = []
        n = 0
        deadline = time.monotonic() + timeout_s
        while True:
            done = self.finished or time.monotonic() > deadline
            b = self.drain(max_bytes)
            parts.append(b.data)
            events.append(b.events)
            n += b.messages
            if done and b.messages == 0 and len(b.events) == 0:
                break
            if b.messages == 0:
                time.sleep(0.002)
        return Batch(b"".join(parts), n, np.concatenate(events))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class MoldUdp64Receiver(_Receiver):
    """Binds at construction (port 0 picks one, see `port`); multicast when `group` is set, joined
    on the interface `host` (127.0.0.1 for loopback). Retransmission requests go to the re-request
    server given by `set_rerequest` (before `start`)."""

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        group: str = "",
        ring_bytes: int = 1 << 24,
        rcvbuf: int = 8 << 20,
        request_timeout_ms: int = 50,
        max_requests: int = 100,
    ) -> None:
        self._mold = _live.MoldReceiver(
            port=port,
            host=host,
            group=group,
            ring_bytes=ring_bytes,
            rcvbuf=rcvbuf,
            request_timeout_ms=request_timeout_ms,
            max_requests=max_requests,
        )
        self._rx = self._mold
        self._mold.open()

    @property
    def port(self) -> int:
        return self._mold.port

    def set_rerequest(self, port: int, host: str = "127.0.0.1") -> None:
        self._mold.set_rerequest(host, port)


class SoupBinTcpReceiver(_Receiver):
    """Logs in, receives, heartbeats every ~1 s when idle, and after a disconnect logs in again
    asking for the next expected sequence number (at most max_reconnects times)."""

    def __init__(
        self,
        port: int,
        host: str = "127.0.0.1",
        user: str = "",
        password: str = "",
        session: str = "",
        first_seq: int = 1,
        reconnect: bool = True,
        max_reconnects: int = 20,
        heartbeat_ms: int = 1000,
        server_timeout_ms: int = 5000,
        ring_bytes: int = 1 << 24,
    ) -> None:
        self._rx = _live.SoupClient(
            port=port,
            host=host,
            user=user,
            password=password,
            session=session,
            first_seq=first_seq,
            reconnect=reconnect,
            max_reconnects=max_reconnects,
            heartbeat_ms=heartbeat_ms,
            server_timeout_ms=server_timeout_ms,
            ring_bytes=ring_bytes,
        )


class _Sender:
    _tx: _live.MoldReplayer | _live.SoupServer

    def start(self) -> Self:
        try:
            self._tx.start()
        except RuntimeError as e:
            raise ValueError(f"{self._name}: {e}") from e
        return self

    def stop(self) -> None:
        self._tx.stop()

    def counters(self) -> dict[str, int]:
        return dict(self._tx.counters())

    @property
    def message_count(self) -> int:
        return self._tx.message_count

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    _name = "<bytes>"


class MoldUdp64Replayer(_Sender):
    """Plays ITCH bytes (file framing) as MoldUDP64 to host:port or group:port, at `speed` times
    the recorded pace (<= 0: as fast as possible), and answers retransmission requests on its
    re-request port from a window of the last `history` messages. drop_every / dup_every are
    test hooks on first transmissions."""

    def __init__(
        self,
        data: bytes,
        port: int,
        host: str = "127.0.0.1",
        group: str = "",
        session: str = "MINIHFT",
        speed: float = 0.0,
        rerequest_port: int = 0,
        history: int = 1 << 20,
        drop_every: int = 0,
        dup_every: int = 0,
        linger_ms: int = 2000,
        max_rate: float = 0.0,
        name: str = "<bytes>",
    ) -> None:
        self._name = name
        self._mold = _live.MoldReplayer(
            data,
            port,
            host=host,
            group=group,
            session=session,
            speed=speed,
            rerequest_port=rerequest_port,
            history=history,
            drop_every=drop_every,
            dup_every=dup_every,
            linger_ms=linger_ms,
            max_rate=max_rate,
        )
        self._tx = self._mold
        try:
            self._mold.open()
        except RuntimeError as e:
            raise ValueError(f"{name}: {e}") from e

    @property
    def rerequest_port(self) -> int:
        return self._mold.rerequest_port

    @property
    def done(self) -> bool:
        """Everything sent and the linger period (serving retransmissions) is over."""
        return self._mold.done


class SoupBinTcpReplayer(_Sender):
    """A SoupBinTCP server on host:port (0 picks one, see `port` after start) that plays ITCH
    bytes to each client that logs in with user/password, from the sequence number it asks for.
    disconnect_after / cut_after / pause_after are test hooks, each used once."""

    def __init__(
        self,
        data: bytes,
        port: int = 0,
        host: str = "127.0.0.1",
        user: str = "",
        password: str = "",
        session: str = "MINIHFT",
        speed: float = 0.0,
        heartbeat_ms: int = 1000,
        end_of_session: bool = True,
        disconnect_after: int = 0,
        cut_after: int = 0,
        pause_after: int = 0,
        pause_ms: int = 0,
        name: str = "<bytes>",
    ) -> None:
        self._name = name
        self._soup = _live.SoupServer(
            data,
            port=port,
            host=host,
            user=user,
            password=password,
            session=session,
            speed=speed,
            heartbeat_ms=heartbeat_ms,
            end_of_session=end_of_session,
            disconnect_after=disconnect_after,
            cut_after=cut_after,
            pause_after=pause_after,
            pause_ms=pause_ms,
        )
        self._tx = self._soup

    @property
    def port(self) -> int:
        return self._soup.port
