// ITCH 5.0 decoder/encoder: every message type from hand-built bytes (laid out from the spec, not
// from the encoder), framing across chunk edges, and every fault path.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "minihft/feed/itch.hpp"

namespace itch = minihft::feed::itch;
using minihft::MdEventType;

namespace {

// Big-endian message builder: type, locate, tracking, 6-byte timestamp, then fields.
struct Msg {
  std::vector<uint8_t> b;
  Msg(char type, uint16_t locate, uint64_t ts, uint16_t tracking = 0x0102) {
    b.push_back(static_cast<uint8_t>(type));
    u(locate, 2).u(tracking, 2).u(ts, 6);
  }
  Msg& u(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  Msg& s(const std::string& str) {
    b.insert(b.end(), str.begin(), str.end());
    return *this;
  }
  std::vector<uint8_t> frame() const {
    std::vector<uint8_t> f{static_cast<uint8_t>(b.size() >> 8), static_cast<uint8_t>(b.size())};
    f.insert(f.end(), b.begin(), b.end());
    return f;
  }
};

constexpr uint64_t kTs = 0x0000123456789ABCull;

itch::Output decode_all(const std::vector<uint8_t>& bytes, itch::Counters& c) {
  itch::Output out;
  const auto r = itch::decode(bytes.data(), bytes.size(), 0, itch::OnError::Stop, out, c);
  EXPECT_FALSE(r.fault);
  EXPECT_EQ(r.consumed, bytes.size());
  return out;
}

std::vector<uint8_t> cat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::string sym(const itch::Symbol& s) { return std::string(s.data(), 8); }

}  // namespace

TEST(ItchDecode, BookMessages) {
  const auto bytes = cat({
      Msg('A', 7, kTs).u(1001, 8).s("B").u(300, 4).s("GOOG    ").u(5794000, 4).frame(),
      Msg('F', 7, kTs).u(1002, 8).s("S").u(100, 4).s("GOOG    ").u(5802300, 4).s("MPID").frame(),
      Msg('E', 7, kTs).u(1001, 8).u(50, 4).u(9001, 8).frame(),
      Msg('C', 7, kTs).u(1001, 8).u(25, 4).u(9002, 8).s("Y").u(5794100, 4).frame(),
      Msg('X', 7, kTs).u(1001, 8).u(5, 4).frame(),
      Msg('D', 7, kTs).u(1002, 8).frame(),
      Msg('U', 7, kTs).u(1001, 8).u(1003, 8).u(77, 4).u(5794200, 4).frame(),
      Msg('P', 7, kTs).u(0, 8).s("S").u(40, 4).s("GOOG    ").u(5795100, 4).u(9003, 8).frame(),
      Msg('Q', 7, kTs).u(5000000000ull, 8).s("GOOG    ").u(5790000, 4).u(9004, 8).s("C").frame(),
      Msg('B', 7, kTs).u(9003, 8).frame(),
  });
  itch::Counters c;
  const auto out = decode_all(bytes, c);
  ASSERT_EQ(out.events.size(), 10u);
  EXPECT_EQ(c.messages, 10u);
  EXPECT_EQ(c.md_events, 10u);
  EXPECT_EQ(c.bytes, bytes.size());
  for (const auto& e : out.events) {
    EXPECT_EQ(e.ts_event, static_cast<int64_t>(kTs));
    EXPECT_EQ(e.symbol_id, 7u);
    EXPECT_EQ(e.ts_recv, 0);
  }
  const auto& a = out.events[0];
  EXPECT_EQ(a.type, uint8_t(MdEventType::Add));
  EXPECT_EQ(a.order_id, 1001u);
  EXPECT_EQ(a.side, uint8_t(minihft::Side::Buy));
  EXPECT_EQ(a.qty, 300);
  EXPECT_EQ(a.price, 5794000);
  EXPECT_EQ(a.flags, 0);
  const auto& f = out.events[1];
  EXPECT_EQ(f.type, uint8_t(MdEventType::Add));
  EXPECT_EQ(f.side, uint8_t(minihft::Side::Sell));
  EXPECT_EQ(f.flags, itch::kFlagAttributed);
  const auto& e = out.events[2];
  EXPECT_EQ(e.type, uint8_t(MdEventType::Execute));
  EXPECT_EQ(e.qty, 50);
  EXPECT_EQ(e.new_order_id, 9001u);
  const auto& cx = out.events[3];
  EXPECT_EQ(cx.type, uint8_t(MdEventType::ExecuteAtPrice));
  EXPECT_EQ(cx.price, 5794100);
  EXPECT_EQ(cx.flags, itch::kFlagPrintable);
  EXPECT_EQ(out.events[4].type, uint8_t(MdEventType::Cancel));
  EXPECT_EQ(out.events[4].qty, 5);
  EXPECT_EQ(out.events[5].type, uint8_t(MdEventType::Delete));
  EXPECT_EQ(out.events[5].order_id, 1002u);
  const auto& u = out.events[6];
  EXPECT_EQ(u.type, uint8_t(MdEventType::Replace));
  EXPECT_EQ(u.order_id, 1001u);
  EXPECT_EQ(u.new_order_id, 1003u);
  EXPECT_EQ(u.qty, 77);
  EXPECT_EQ(u.price, 5794200);
  const auto& p = out.events[7];
  EXPECT_EQ(p.type, uint8_t(MdEventType::HiddenTrade));
  EXPECT_EQ(p.flags, 0);
  EXPECT_EQ(p.qty, 40);
  EXPECT_EQ(p.new_order_id, 9003u);
  const auto& q = out.events[8];
  EXPECT_EQ(q.type, uint8_t(MdEventType::HiddenTrade));
  EXPECT_EQ(q.qty, 5000000000ll);
  EXPECT_EQ(q.flags & itch::kFlagCross, itch::kFlagCross);
  EXPECT_EQ(itch::cross_type_char(static_cast<uint8_t>(q.flags >> itch::kCrossTypeShift)), 'C');
  const auto& b = out.events[9];
  EXPECT_EQ(b.flags, itch::kFlagBroken);
  EXPECT_EQ(b.new_order_id, 9003u);
}

TEST(ItchDecode, ReferenceMessages) {
  const auto bytes = cat({
      Msg('S', 0, kTs).s("O").frame(),
      Msg('R', 3, kTs).s("AAPL    NN").u(100, 4).s("NCZ PN 1N").u(2, 4).s("N").frame(),
      Msg('H', 3, kTs).s("AAPL    H ").s("T1  ").frame(),
      Msg('Y', 3, kTs).s("AAPL    1").frame(),
      Msg('L', 3, kTs).s("ABCDAAPL    YNA").frame(),
      Msg('V', 0, kTs).u(1, 8).u(2, 8).u(3, 8).frame(),
      Msg('W', 0, kTs).s("2").frame(),
      Msg('K', 3, kTs).s("AAPL    ").u(36000, 4).s("A").u(250000, 4).frame(),
      Msg('J', 3, kTs).s("AAPL    ").u(10, 4).u(11, 4).u(9, 4).u(1, 4).frame(),
      Msg('h', 3, kTs).s("AAPL    QH").frame(),
      Msg('I', 3, kTs).u(500, 8).u(70, 8).s("BAAPL    ").u(1, 4).u(2, 4).u(3, 4).s("OL").frame(),
      Msg('N', 3, kTs).s("AAPL    B").frame(),
      Msg('O', 3, kTs).s("AAPL    Y").u(1, 4).u(2, 4).u(3, 4).u(4, 8).u(5, 4).u(6, 4).frame(),
  });
  itch::Counters c;
  const auto out = decode_all(bytes, c);
  EXPECT_EQ(c.messages, 13u);
  ASSERT_EQ(out.system_events.size(), 1u);
  EXPECT_EQ(out.system_events[0].event_code, 'O');
  EXPECT_EQ(out.system_events[0].tracking, 0x0102);
  EXPECT_EQ(out.system_events[0].seq, 0u);
  ASSERT_EQ(out.stock_directory.size(), 1u);
  const auto& r = out.stock_directory[0];
  EXPECT_EQ(sym(r.stock), "AAPL    ");
  EXPECT_EQ(r.locate, 3);
  EXPECT_EQ(r.round_lot_size, 100u);
  EXPECT_EQ(r.issue_subtype[0], 'Z');
  EXPECT_EQ(r.luld_tier, '1');
  EXPECT_EQ(r.etp_leverage_factor, 2u);
  EXPECT_EQ(r.inverse, 'N');
  EXPECT_EQ(r.seq, 1u);
  ASSERT_EQ(out.trading_actions.size(), 1u);
  EXPECT_EQ(out.trading_actions[0].trading_state, 'H');
  EXPECT_EQ(std::string(out.trading_actions[0].reason, 4), "T1  ");
  ASSERT_EQ(out.events.size(), 1u);  // the H status event
  EXPECT_EQ(out.events[0].type, uint8_t(MdEventType::TradingStatus));
  EXPECT_EQ(out.events[0].flags, itch::kStatusHalted);
  EXPECT_EQ(out.reg_sho.at(0).action, '1');
  EXPECT_EQ(std::string(out.participant_positions.at(0).mpid, 4), "ABCD");
  EXPECT_EQ(out.participant_positions.at(0).participant_state, 'A');
  EXPECT_EQ(out.mwcb_decline.at(0).level3, 3u);
  EXPECT_EQ(out.mwcb_status.at(0).breached_level, '2');
  EXPECT_EQ(out.ipo_quoting.at(0).release_time, 36000u);
  EXPECT_EQ(out.ipo_quoting.at(0).ipo_price, 250000u);
  EXPECT_EQ(out.luld_collars.at(0).lower_price, 9u);
  EXPECT_EQ(out.luld_collars.at(0).extension, 1u);
  EXPECT_EQ(out.operational_halts.at(0).action, 'H');
  const auto& n = out.noii.at(0);
  EXPECT_EQ(n.paired_shares, 500u);
  EXPECT_EQ(n.imbalance_shares, 70u);
  EXPECT_EQ(n.direction, 'B');
  EXPECT_EQ(n.ref_price, 3u);
  EXPECT_EQ(n.price_variation, 'L');
  EXPECT_EQ(out.rpii.at(0).interest_flag, 'B');
  const auto& o = out.dlcr_prices.at(0);
  EXPECT_EQ(o.open_eligibility, 'Y');
  EXPECT_EQ(o.near_execution_time, 4u);
  EXPECT_EQ(o.upper_collar, 6u);
  EXPECT_EQ(out.dlcr_prices.at(0).seq, 12u);
}

TEST(ItchEncode, ReferenceAndEventsRoundTripByteForByte) {
  const auto bytes = cat({
      Msg('R', 3, kTs).s("AAPL    NN").u(100, 4).s("NCZ PN 1N").u(2, 4).s("N").frame(),
      Msg('I', 3, kTs).u(500, 8).u(70, 8).s("BAAPL    ").u(1, 4).u(2, 4).u(3, 4).s("OL").frame(),
      Msg('O', 3, kTs).s("AAPL    Y").u(1, 4).u(2, 4).u(3, 4).u(4, 8).u(5, 4).u(6, 4).frame(),
  });
  itch::Counters c;
  const auto out = decode_all(bytes, c);
  std::vector<uint8_t> back;
  itch::put_stock_directory(back, out.stock_directory[0]);
  itch::put_noii(back, out.noii[0]);
  itch::put_dlcr_price(back, out.dlcr_prices[0]);
  EXPECT_EQ(back, bytes);

  const auto flow = cat({
      // the writer sends tracking number 0: MdEvent does not keep it
      Msg('A', 3, kTs, 0).u(1, 8).s("B").u(300, 4).s("AAPL    ").u(5794000, 4).frame(),
      Msg('E', 3, kTs, 0).u(1, 8).u(50, 4).u(9001, 8).frame(),
      Msg('U', 3, kTs, 0).u(1, 8).u(2, 8).u(77, 4).u(5794200, 4).frame(),
      Msg('D', 3, kTs, 0).u(2, 8).frame(),
  });
  itch::Counters c2;
  auto ev = decode_all(flow, c2).events;
  std::vector<itch::Symbol> symbols(4, itch::Symbol{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '});
  std::memcpy(symbols[3].data(), "AAPL", 4);
  std::vector<uint8_t> written;
  uint64_t match = 0;
  ASSERT_TRUE(itch::put_events(written, ev.data(), ev.size(), symbols, match).ok());
  EXPECT_EQ(written, flow);
  ev[1].qty = int64_t{1} << 40;
  written.clear();
  const auto bad = itch::put_events(written, ev.data(), ev.size(), symbols, match);
  EXPECT_EQ(bad.index, 1u);
  EXPECT_STREQ(bad.what, "qty outside uint32");
}

TEST(ItchStream, FramesSplitAtEveryChunkSize) {
  std::vector<uint8_t> bytes;
  for (uint64_t i = 1; i <= 50; ++i) {
    const auto f = Msg('A', 1, kTs + i).u(i, 8).s("B").u(i, 4).s("X       ").u(100, 4).frame();
    bytes.insert(bytes.end(), f.begin(), f.end());
    const auto d = Msg('D', 1, kTs + i).u(i, 8).frame();
    bytes.insert(bytes.end(), d.begin(), d.end());
  }
  for (size_t chunk : {1ul, 2ul, 3ul, 7ul, 37ul, 38ul, 39ul, 1000ul}) {
    itch::StreamParser p;
    for (size_t pos = 0; pos < bytes.size(); pos += chunk)
      ASSERT_FALSE(p.feed(bytes.data() + pos, std::min(chunk, bytes.size() - pos)));
    ASSERT_FALSE(p.finish());
    ASSERT_EQ(p.output().events.size(), 100u) << chunk;
    for (uint64_t i = 0; i < 50; ++i) {
      EXPECT_EQ(p.output().events[2 * i].order_id, i + 1);
      EXPECT_EQ(p.output().events[2 * i].qty, static_cast<int64_t>(i + 1));
      EXPECT_EQ(p.output().events[2 * i + 1].type, uint8_t(MdEventType::Delete));
    }
    EXPECT_EQ(p.offset(), bytes.size());
  }
}

TEST(ItchFaults, UnknownTypeStopAndSkip) {
  const auto good = Msg('D', 1, kTs).u(5, 8).frame();
  auto unknown = Msg('D', 1, kTs).u(6, 8).frame();
  unknown[2] = 'z';
  const auto bytes = cat({good, unknown, good});
  itch::StreamParser stop(itch::OnError::Stop);
  const auto f = stop.feed(bytes.data(), bytes.size());
  EXPECT_EQ(f.fault, itch::Fault::UnknownType);
  EXPECT_EQ(f.offset, good.size());
  EXPECT_EQ(f.type, 'z');
  EXPECT_EQ(stop.output().events.size(), 1u);  // the frame before the fault is kept
  EXPECT_EQ(stop.feed(good.data(), good.size()).fault, itch::Fault::UnknownType);  // sticky

  itch::StreamParser skip(itch::OnError::Skip);
  EXPECT_FALSE(skip.feed(bytes.data(), bytes.size()));
  EXPECT_FALSE(skip.finish());
  EXPECT_EQ(skip.output().events.size(), 2u);
  EXPECT_EQ(skip.counters().skipped_unknown, 1u);
}

TEST(ItchFaults, LengthDisagreesWithType) {
  const auto good = Msg('D', 1, kTs).u(5, 8).frame();
  const auto bad = Msg('D', 1, kTs).u(5, 8).u(0, 1).frame();  // 20 bytes, D is 19
  const auto bytes = cat({good, good, bad, good});
  itch::Output out;
  itch::Counters c;
  auto r = itch::decode(bytes.data(), bytes.size(), 1000, itch::OnError::Stop, out, c);
  EXPECT_EQ(r.fault.fault, itch::Fault::BadLength);
  EXPECT_EQ(r.fault.offset, 1000 + 2 * good.size());
  EXPECT_EQ(r.fault.length, 20);
  EXPECT_EQ(r.fault.expected, 19);
  EXPECT_EQ(r.consumed, 2 * good.size());
  EXPECT_EQ(out.events.size(), 2u);

  itch::Output out2;
  itch::Counters c2;
  r = itch::decode(bytes.data(), bytes.size(), 0, itch::OnError::Skip, out2, c2);
  EXPECT_FALSE(r.fault);
  EXPECT_EQ(out2.events.size(), 3u);
  EXPECT_EQ(c2.skipped_bad_length, 1u);
  EXPECT_EQ(c2.bytes, bytes.size());
}

TEST(ItchFaults, TruncatedAtEndOfStream) {
  const auto good = Msg('D', 1, kTs).u(5, 8).frame();
  for (size_t cut : {1ul, 2ul, 3ul, 10ul}) {
    const auto tail = Msg('A', 1, kTs).u(1, 8).s("B").u(1, 4).s("X       ").u(1, 4).frame();
    auto bytes = cat({good, tail});
    bytes.resize(good.size() + cut);
    itch::StreamParser p(itch::OnError::Stop);
    EXPECT_FALSE(p.feed(bytes.data(), bytes.size()));
    const auto f = p.finish();
    EXPECT_EQ(f.fault, itch::Fault::Truncated) << cut;
    EXPECT_EQ(f.offset, good.size());
    EXPECT_EQ(f.type, cut >= 3 ? 'A' : 0);
    EXPECT_EQ(p.output().events.size(), 1u);
    EXPECT_EQ(p.counters().truncated_bytes, cut);

    itch::StreamParser s(itch::OnError::Skip);
    s.feed(bytes.data(), bytes.size());
    EXPECT_FALSE(s.finish());
    EXPECT_EQ(s.counters().truncated_frames, 1u);
  }
}

TEST(ItchFaults, ZeroLengthFrameIsEndMarkerNotFault) {
  const auto good = Msg('D', 1, kTs).u(5, 8).frame();
  const auto bytes = cat({good, {0, 0}, good});
  itch::Counters c;
  const auto out = decode_all(bytes, c);
  EXPECT_EQ(out.events.size(), 2u);
  EXPECT_EQ(c.empty_frames, 1u);
}

TEST(ItchTable, EveryTypeHasItsSpecLength) {
  const std::pair<char, int> spec[] = {
      {'S', 12}, {'R', 39}, {'H', 25}, {'Y', 20}, {'L', 26}, {'V', 35}, {'W', 12}, {'K', 28},
      {'J', 35}, {'h', 21}, {'A', 36}, {'F', 40}, {'E', 31}, {'C', 36}, {'X', 23}, {'D', 19},
      {'U', 35}, {'P', 44}, {'Q', 40}, {'B', 19}, {'I', 50}, {'N', 20}, {'O', 48}};
  int known = 0;
  for (int t = 0; t < 256; ++t) known += itch::message_length(static_cast<uint8_t>(t)) != 0;
  EXPECT_EQ(known, 23);
  for (const auto& [t, len] : spec) EXPECT_EQ(itch::message_length(uint8_t(t)), len) << t;
}
