"""feed_handler live-source parsing, config validation and ReferenceEvent encoding."""

from __future__ import annotations

import numpy as np
import pytest
from minihft import codec
from minihft.marketdata import itch
from minihft.schema.HopPoint import HopPoint
from minihft.schema.Stage import Stage
from minihft.services.feed_handler import reference
from minihft.services.feed_handler.app import FeedHandlerConfig
from minihft.services.feed_handler.live_mode import parse_source


def test_moldudp64_url() -> None:
    s = parse_source(
        "moldudp64://127.0.0.1:26400?group=239.1.1.1&rerequest=10.0.0.5:26401&max_requests=7"
    )
    assert (s.proto, s.host, s.port, s.group) == ("moldudp64", "127.0.0.1", 26400, "239.1.1.1")
    assert s.rerequest == ("10.0.0.5", 26401)
    assert s.max_requests == 7 and s.request_timeout_ms == 50


def test_soupbintcp_url() -> None:
    s = parse_source("soupbintcp://feed.example:9000?user=ab&password=c%26d&session=S1")
    assert (s.proto, s.host, s.port) == ("soupbintcp", "feed.example", 9000)
    assert (s.user, s.password, s.session) == ("ab", "c&d", "S1")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("moldudp64://hostonly", "HOST:PORT"),
        ("moldudp64://h:99999", "HOST:PORT"),
        ("moldudp64://h:1?user=x", "unknown parameter"),
        ("soupbintcp://h:1?group=x", "unknown parameter"),
        ("moldudp64://h:1?rerequest=h", "rerequest"),
        ("moldudp64://h:1?request_timeout_ms=-5", "request_timeout_ms"),
        ("tcp://h:1", "scheme"),
    ],
)
def test_bad_urls_name_the_problem(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_source(url)


def test_config_needs_exactly_one_source() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        FeedHandlerConfig()
    with pytest.raises(ValueError, match="exactly one"):
        FeedHandlerConfig(file="a.itch", source="moldudp64://h:1")
    with pytest.raises(ValueError, match="unknown parameter"):
        FeedHandlerConfig(source="moldudp64://h:1?bogus=1")
    assert FeedHandlerConfig(source="some/file.itch").file == "some/file.itch"
    assert FeedHandlerConfig(source="moldudp64://h:1").file is None


def test_reference_events_round_trip() -> None:
    sd = itch.stock_directory({5: "AMZN", 9: "GOOG"}, ts=123)
    sd["seq"] = [40, 41]
    hops = codec.make_hops((77, Stage.FeedHandler, HopPoint.Publish, 0))
    got = [reference.decode(reference.stock_directory(r, 500, hops)) for r in sd]
    assert [(r.kind, r.symbol_id, r.stock, r.seq, r.ts_event) for r in got] == [
        ("stock_directory", 5, "AMZN", 40, 123),
        ("stock_directory", 9, "GOOG", 41, 123),
    ]
    g = reference.decode(reference.sequence_gap("moldudp64://h:1", 100, 130, 9, hops))
    assert (g.kind, g.session, g.expected_seq, g.received_seq, g.symbol_id) == (
        "sequence_gap", "moldudp64://h:1", 100, 130, 0,
    )  # fmt: skip
    # A consumer of md.events tells it apart from the batches by identifier.
    with pytest.raises(codec.CodecError, match="ReferenceEvent"):
        codec.decode(reference.sequence_gap("s", 1, 2, 0, hops), codec.MD_EVENTS)
    batch = codec.encode(
        codec.MD_EVENTS, np.zeros(0, codec.MD_EVENTS.dtype), symbol_id=1, batch_seq=0
    )
    with pytest.raises(codec.CodecError, match="ReferenceEvent"):
        reference.decode(batch)
