#include "minihft/live/soupbintcp.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace minihft::live::soup {
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
};

std::vector<uint8_t> sequenced(const std::string& m) {
  std::vector<uint8_t> out;
  append_packet(out, 'S', reinterpret_cast<const uint8_t*>(m.data()), m.size());
  return out;
}

TEST(SoupBinTcp, LoginRequestLayoutFollowsTheSpec) {
  std::vector<uint8_t> out;
  append_login_request(out, "bob", "pw", "SESS", 42);
  ASSERT_EQ(out.size(), 2u + 1u + kLoginRequestPayload);
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[1], 47);
  EXPECT_EQ(out[2], 'L');
  const std::string body(out.begin() + 3, out.end());
  EXPECT_EQ(body.substr(0, 6), "bob   ");  // alpha: right padded
  EXPECT_EQ(body.substr(6, 10), "pw        ");
  EXPECT_EQ(body.substr(16, 10), "      SESS");  // session: left padded
  EXPECT_EQ(body.substr(26, 20), std::string(18, ' ') + "42");
  LoginRequest r;
  ASSERT_TRUE(parse_login_request(out.data() + 3, out.size() - 3, r));
  EXPECT_EQ(r.user, "bob");
  EXPECT_EQ(r.password, "pw");
  EXPECT_EQ(r.session, "SESS");
  EXPECT_EQ(r.seq, 42u);
  out[3 + 40] = 'x';  // non-numeric sequence number
  EXPECT_FALSE(parse_login_request(out.data() + 3, out.size() - 3, r));
}

TEST(SoupBinTcp, FramerReassemblesAcrossArbitrarySplits) {
  std::vector<uint8_t> stream;
  for (int i = 0; i < 20; ++i) {
    auto p = sequenced(std::string(static_cast<size_t>(i), static_cast<char>('a' + i)));
    stream.insert(stream.end(), p.begin(), p.end());
  }
  for (size_t chunk : {1u, 2u, 3u, 7u, 1000u}) {
    Framer f;
    int got = 0;
    for (size_t off = 0; off < stream.size(); off += chunk) {
      f.feed(stream.data() + off, std::min(chunk, stream.size() - off));
      char t;
      const uint8_t* p;
      size_t n;
      while (f.next(t, p, n)) {
        EXPECT_EQ(t, 'S');
        EXPECT_EQ(n, static_cast<size_t>(got));
        ++got;
      }
    }
    EXPECT_EQ(got, 20) << chunk;
    EXPECT_EQ(f.partial_bytes(), 0u);
  }
}

TEST(SoupBinTcp, ZeroLengthIsAProtocolError) {
  Framer f;
  const uint8_t bad[3] = {0, 0, 'S'};
  f.feed(bad, 3);
  char t;
  const uint8_t* p;
  size_t n;
  EXPECT_FALSE(f.next(t, p, n));
  EXPECT_TRUE(f.error());
}

TEST(SoupBinTcp, SessionNumbersSequencedDataFromLoginAccepted) {
  Collect s;
  ClientCounters c;
  ClientSession cs(s, c, "u", "p", "", 5, 1000, 5000);
  std::vector<uint8_t> out;
  cs.on_connect(0, out);
  LoginRequest r;
  ASSERT_TRUE(parse_login_request(out.data() + 3, out.size() - 3, r));
  EXPECT_EQ(r.seq, 5u);
  std::vector<uint8_t> in;
  append_login_accepted(in, "TODAY", 5);
  for (const char* m : {"aa", "bbb"}) {
    auto p = sequenced(m);
    in.insert(in.end(), p.begin(), p.end());
  }
  append_packet(in, 'H', nullptr, 0);
  out.clear();
  ASSERT_TRUE(cs.on_bytes(in.data(), in.size(), 10, out));
  EXPECT_EQ(cs.state(), ClientState::LoggedIn);
  EXPECT_EQ(cs.session(), "TODAY");
  EXPECT_EQ(s.seqs, (std::vector<uint64_t>{5, 6}));
  EXPECT_EQ(s.msgs[1], "bbb");
  EXPECT_EQ(c.server_heartbeats.get(), 1u);
  EXPECT_EQ(cs.next_expected(), 7u);
}

TEST(SoupBinTcp, RejectEndsTheSession) {
  Collect s;
  ClientCounters c;
  ClientSession cs(s, c, "u", "bad", "", 1);
  std::vector<uint8_t> out, in;
  cs.on_connect(0, out);
  append_login_rejected(in, 'A');
  EXPECT_FALSE(cs.on_bytes(in.data(), in.size(), 1, out));
  EXPECT_EQ(cs.state(), ClientState::Rejected);
  ASSERT_EQ(s.evs.size(), 1u);
  EXPECT_EQ(s.evs[0].kind, static_cast<uint32_t>(EventKind::LoginRejected));
  EXPECT_EQ(s.evs[0].aux, static_cast<uint32_t>('A'));
}

TEST(SoupBinTcp, ClientHeartbeatsWhenIdleAndDetectsSilentServer) {
  Collect s;
  ClientCounters c;
  ClientSession cs(s, c, "u", "p", "", 1, 1000, 5000);
  std::vector<uint8_t> out, in;
  cs.on_connect(0, out);
  append_login_accepted(in, "S", 1);
  cs.on_bytes(in.data(), in.size(), 0, out);
  out.clear();
  EXPECT_TRUE(cs.poll(999, out));
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(cs.poll(1000, out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2], 'R');
  EXPECT_FALSE(cs.poll(5000, out));  // nothing heard for 5000
  EXPECT_EQ(s.evs.back().kind, static_cast<uint32_t>(EventKind::HeartbeatTimeout));
}

TEST(SoupBinTcp, DisconnectMidMessageNamesTheSequenceNumberAndResumesThere) {
  Collect s;
  ClientCounters c;
  ClientSession cs(s, c, "u", "p", "", 1);
  std::vector<uint8_t> out, in;
  cs.on_connect(0, out);
  append_login_accepted(in, "S", 1);
  for (const char* m : {"one", "two", "three"}) {
    auto p = sequenced(m);
    in.insert(in.end(), p.begin(), p.end());
  }
  in.resize(in.size() - 2);  // "three" cut short
  cs.on_bytes(in.data(), in.size(), 1, out);
  EXPECT_EQ(s.seqs, (std::vector<uint64_t>{1, 2}));
  cs.on_disconnect();
  const LiveEvent& e = s.evs.back();
  EXPECT_EQ(e.kind, static_cast<uint32_t>(EventKind::Disconnected));
  EXPECT_EQ(e.aux, 1u);
  EXPECT_EQ(e.seq, 3u);
  EXPECT_EQ(c.mid_message_disconnects.get(), 1u);
  out.clear();
  cs.on_connect(2, out);  // reconnect asks for 3, and the half packet is forgotten
  LoginRequest r;
  ASSERT_TRUE(parse_login_request(out.data() + 3, out.size() - 3, r));
  EXPECT_EQ(r.seq, 3u);
}

}  // namespace
}  // namespace minihft::live::soup
