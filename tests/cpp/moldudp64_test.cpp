#include "minihft/live/moldudp64.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace minihft::live::mold {
namespace {

struct Collect final : Sink {
  std::vector<uint64_t> seqs;
  std::vector<std::string> msgs;
  std::vector<LiveEvent> evs;
  void on_message(uint64_t seq, const uint8_t* m, uint16_t n) override {
    seqs.push_back(seq);
    msgs.emplace_back(reinterpret_cast<const char*>(m), n);
  }
  void on_event(const LiveEvent& e) override { evs.push_back(e); }
  size_t count(EventKind k) const {
    size_t c = 0;
    for (const auto& e : evs) c += e.kind == static_cast<uint32_t>(k);
    return c;
  }
};

std::string msg(uint64_t seq) { return "M" + std::to_string(seq) + std::string(seq % 7, 'x'); }

// One packet holding messages [first, first+n).
std::vector<uint8_t> packet(uint64_t first, uint16_t n, const char* session = "S1") {
  PacketBuilder b(make_session(session), 1400);
  b.start(first);
  for (uint64_t s = first; s < first + n; ++s) {
    const std::string m = msg(s);
    EXPECT_TRUE(b.add(reinterpret_cast<const uint8_t*>(m.data()), static_cast<uint16_t>(m.size())));
  }
  return std::vector<uint8_t>(b.data(), b.data() + b.size());
}

std::vector<uint8_t> control(uint64_t next, uint16_t count) {
  std::vector<uint8_t> p(kHeaderSize);
  encode_header(p.data(), Header{make_session("S1"), next, count});
  return p;
}

TEST(MoldUdp64, HeaderRoundTripIsBigEndian) {
  uint8_t b[kHeaderSize];
  encode_header(b, Header{make_session("ABC"), 0x0102030405060708ULL, 0x0A0B});
  EXPECT_EQ(std::string(reinterpret_cast<char*>(b), 10), "ABC       ");
  EXPECT_EQ(b[10], 0x01);
  EXPECT_EQ(b[17], 0x08);
  EXPECT_EQ(b[18], 0x0A);
  EXPECT_EQ(b[19], 0x0B);
  Header h;
  ASSERT_TRUE(decode_header(b, sizeof b, h));
  EXPECT_EQ(h.seq, 0x0102030405060708ULL);
  EXPECT_EQ(h.count, 0x0A0B);
  EXPECT_FALSE(decode_header(b, kHeaderSize - 1, h));
}

TEST(MoldUdp64, BuilderRespectsMaxPacketSize) {
  PacketBuilder b(make_session("S"), 100);
  b.start(5);
  const uint8_t m[30] = {};
  EXPECT_TRUE(b.add(m, 30));
  EXPECT_TRUE(b.add(m, 30));
  EXPECT_FALSE(b.add(m, 30));  // 20 + 3*32 > 100
  EXPECT_EQ(b.count(), 2);
  EXPECT_EQ(b.size(), 20u + 64u);
  EXPECT_EQ(b.next_seq(), 7u);
}

TEST(MoldUdp64, InOrderDeliveryAndDuplicateSuppression) {
  Collect s;
  RecvCounters c;
  Sequencer q(s, c);
  std::vector<Sequencer::Request> reqs;
  auto p1 = packet(1, 3), p2 = packet(4, 2);
  q.on_packet(p1.data(), p1.size(), 0, reqs);
  q.on_packet(p1.data(), p1.size(), 0, reqs);  // whole packet again
  q.on_packet(p2.data(), p2.size(), 0, reqs);
  EXPECT_EQ(s.seqs, (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(s.msgs[3], msg(4));
  EXPECT_EQ(c.duplicates.get(), 3u);
  EXPECT_TRUE(reqs.empty());
  EXPECT_EQ(c.gaps.get(), 0u);
}

TEST(MoldUdp64, GapIsRequestedAndFilledInOrder) {
  Collect s;
  RecvCounters c;
  Sequencer q(s, c);
  std::vector<Sequencer::Request> reqs;
  auto a = packet(1, 2), lost = packet(3, 4), b = packet(7, 2);
  q.on_packet(a.data(), a.size(), 0, reqs);
  q.on_packet(b.data(), b.size(), 0, reqs);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].seq, 3u);
  EXPECT_EQ(reqs[0].count, 4);
  ASSERT_EQ(s.count(EventKind::GapDetected), 1u);
  EXPECT_EQ(s.evs[0].seq, 3u);
  EXPECT_EQ(s.evs[0].count, 4u);
  EXPECT_EQ(s.seqs, (std::vector<uint64_t>{1, 2}));  // 7, 8 held back
  reqs.clear();
  q.on_packet(b.data(), b.size(), 1, reqs);  // duplicate of held messages
  EXPECT_EQ(c.duplicates.get(), 2u);
  EXPECT_TRUE(reqs.empty());  // still within the request timeout
  q.on_packet(lost.data(), lost.size(), 2, reqs);
  EXPECT_EQ(s.seqs, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(s.msgs[7], msg(8));
  EXPECT_EQ(c.retransmitted.get(), 4u);
  EXPECT_EQ(s.count(EventKind::GapRecovered), 1u);
  EXPECT_FALSE(q.gap_open());
}

TEST(MoldUdp64, RequestRepeatsAfterTimeoutThenAbandons) {
  Collect s;
  RecvCounters c;
  SequencerConfig cfg;
  cfg.request_timeout_ns = 100;
  cfg.max_requests = 3;
  Sequencer q(s, c, cfg);
  std::vector<Sequencer::Request> reqs;
  auto a = packet(1, 1), b = packet(4, 1);
  q.on_packet(a.data(), a.size(), 0, reqs);
  q.on_packet(b.data(), b.size(), 0, reqs);
  q.poll(50, reqs);
  EXPECT_EQ(reqs.size(), 1u);
  q.poll(100, reqs);
  q.poll(200, reqs);
  EXPECT_EQ(reqs.size(), 3u);
  q.poll(300, reqs);  // fourth try exceeds max_requests: give up on 2..3
  EXPECT_EQ(reqs.size(), 3u);
  EXPECT_EQ(c.abandoned.get(), 2u);
  ASSERT_EQ(s.count(EventKind::GapAbandoned), 1u);
  EXPECT_EQ(s.seqs, (std::vector<uint64_t>{1, 4}));
  EXPECT_EQ(s.count(EventKind::GapRecovered), 0u);
}

TEST(MoldUdp64, HeartbeatRevealsTailLossAndEndOfSessionWaitsForRecovery) {
  Collect s;
  RecvCounters c;
  Sequencer q(s, c);
  std::vector<Sequencer::Request> reqs;
  auto a = packet(1, 2), tail = packet(3, 2);
  auto hb = control(5, kHeartbeat), eos = control(5, kEndOfSession);
  q.on_packet(a.data(), a.size(), 0, reqs);
  q.on_packet(hb.data(), hb.size(), 0, reqs);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].seq, 3u);
  EXPECT_EQ(reqs[0].count, 2);
  q.on_packet(eos.data(), eos.size(), 0, reqs);
  EXPECT_FALSE(q.finished());
  EXPECT_EQ(s.count(EventKind::SessionEnd), 0u);
  q.on_packet(tail.data(), tail.size(), 0, reqs);
  EXPECT_TRUE(q.finished());
  EXPECT_EQ(s.count(EventKind::SessionEnd), 1u);
  EXPECT_EQ(c.heartbeats.get(), 1u);
}

TEST(MoldUdp64, MalformedAndForeignSessionPacketsAreDropped) {
  Collect s;
  RecvCounters c;
  Sequencer q(s, c);
  std::vector<Sequencer::Request> reqs;
  auto a = packet(1, 2);
  auto truncated = packet(3, 3);
  truncated.resize(truncated.size() - 1);
  auto foreign = packet(3, 1, "OTHER");
  q.on_packet(a.data(), a.size(), 0, reqs);
  q.on_packet(truncated.data(), truncated.size(), 0, reqs);
  q.on_packet(foreign.data(), foreign.size(), 0, reqs);
  EXPECT_EQ(s.seqs.size(), 2u);  // nothing of the truncated packet was applied
  EXPECT_EQ(c.malformed.get(), 1u);
  EXPECT_EQ(c.session_mismatch.get(), 1u);
  ASSERT_EQ(s.count(EventKind::ProtocolError), 1u);
}

TEST(MoldUdp64, HistoryKeepsABoundedWindow) {
  History h(3);
  const uint8_t m[5] = {1, 2, 3, 4, 5};
  for (uint64_t s = 1; s <= 5; ++s) h.push(s, m + s - 1, 1);
  const uint8_t* p;
  uint16_t n;
  EXPECT_FALSE(h.get(2, p, n));
  ASSERT_TRUE(h.get(3, p, n));
  EXPECT_EQ(*p, 3);
  EXPECT_TRUE(h.get(5, p, n));
  EXPECT_FALSE(h.get(6, p, n));
}

}  // namespace
}  // namespace minihft::live::mold
