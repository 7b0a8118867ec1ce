// MoldUDP64: packet codec, receiver sequencing with gap recovery, sender packing. No I/O.
//
// Packet: session (10 bytes) | sequence number of the first message (u64 BE) | message count
// (u16 BE) | count x (u16 BE length | message). Count 0 is a heartbeat and 0xFFFF the end of
// session; both carry the next sequence number. A retransmission request is a bare header with
// the first wanted sequence number and how many.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "minihft/live/events.hpp"

namespace minihft::live::mold {

constexpr size_t kHeaderSize = 20;
constexpr uint16_t kHeartbeat = 0;
constexpr uint16_t kEndOfSession = 0xFFFF;
constexpr size_t kDefaultMaxPacket = 1400;  // stays under a 1500-byte Ethernet MTU with IP/UDP

using Session = std::array<char, 10>;
Session make_session(const char* name);  // space padded / truncated to 10

struct Header {
  Session session;
  uint64_t seq;
  uint16_t count;
};

void encode_header(uint8_t* out, const Header& h);
bool decode_header(const uint8_t* p, size_t len, Header& h);

// Calls fn(seq, msg, len) per message block. False (and nothing further) when a block runs past
// the end or the count does not match the payload; `bad_offset` then names the byte.
template <typename Fn>
bool for_each_message(const uint8_t* p, size_t len, const Header& h, Fn&& fn, size_t* bad_offset) {
  if (h.count == kHeartbeat || h.count == kEndOfSession) return len == kHeaderSize;
  size_t off = kHeaderSize;
  for (uint16_t i = 0; i < h.count; ++i) {
    if (off + 2 > len) {
      if (bad_offset) *bad_offset = off;
      return false;
    }
    const uint16_t n = static_cast<uint16_t>((p[off] << 8) | p[off + 1]);
    if (off + 2 + n > len) {
      if (bad_offset) *bad_offset = off;
      return false;
    }
    fn(h.seq + i, p + off + 2, n);
    off += 2 + size_t{n};
  }
  return true;
}

// Packs consecutive messages into packets of at most max_packet bytes.
class PacketBuilder {
 public:
  PacketBuilder(const Session& session, size_t max_packet = kDefaultMaxPacket);
  void start(uint64_t first_seq);
  // False when the message does not fit (the caller flushes and starts a new packet).
  bool add(const uint8_t* msg, uint16_t len);
  uint16_t count() const { return count_; }
  size_t size() const { return len_; }
  const uint8_t* data();  // finalises the header
  uint64_t next_seq() const { return seq_ + count_; }

 private:
  Session session_;
  std::vector<uint8_t> buf_;
  size_t len_ = 0;
  uint64_t seq_ = 1;
  uint16_t count_ = 0;
};

struct RecvCounters {
  Counter packets, messages, duplicates, gaps, missing, retransmitted, requests, abandoned,
      heartbeats, session_mismatch, malformed, ended;
};

struct SequencerConfig {
  uint64_t first_seq = 1;
  int64_t request_timeout_ns = 50'000'000;  // re-request an unfilled gap after this long
  uint32_t max_requests = 100;              // per gap, then it is abandoned
  size_t max_pending = 1 << 20;             // out-of-order messages held while a gap is open
  // Messages asked for per request: few enough that the answer fits in the socket buffer.
  uint16_t max_request_count = 8192;
};

// Receiver-side state: delivers messages in sequence order exactly once, detects gaps, asks for
// them again, and drops duplicates. Requests go out through the callback set by the adapter.
class Sequencer {
 public:
  struct Request {
    uint64_t seq;
    uint16_t count;
  };
  Sequencer(Sink& sink, RecvCounters& c, SequencerConfig cfg = {});

  // One received datagram; `now` only orders timeouts. Returns requests to send (maybe none).
  void on_packet(const uint8_t* p, size_t len, int64_t now, std::vector<Request>& requests);
  // Timeouts: re-request or abandon an unfilled gap.
  void poll(int64_t now, std::vector<Request>& requests);

  uint64_t next_expected() const { return expected_; }
  bool gap_open() const { return !gaps_.empty(); }
  bool finished() const { return ended_ && expected_ >= end_seq_ && gaps_.empty(); }
  const Session& session() const { return session_; }

 private:
  void accept(uint64_t seq, const uint8_t* msg, uint16_t len);
  void see_next(uint64_t next_seq);  // the sender says it has sent everything below next_seq
  void deliver_pending();
  void settle_gaps();
  void deliver(uint64_t seq, const uint8_t* msg, uint16_t len);
  void maybe_request(int64_t now, std::vector<Request>& requests);
  void abandon_front();
  void event(EventKind k, uint64_t seq, uint64_t count, uint32_t aux = 0);

  Sink& sink_;
  RecvCounters& c_;
  SequencerConfig cfg_;
  bool have_session_ = false;
  Session session_{};
  uint64_t expected_;
  uint64_t high_;  // one past the highest sequence number known to exist
  bool ended_ = false;
  bool end_reported_ = false;
  uint64_t end_seq_ = 0;
  std::map<uint64_t, std::vector<uint8_t>> pending_;
  struct Gap {
    uint64_t first, end;
    bool lossy;  // part of it was abandoned: no GapRecovered for it
  };
  std::deque<Gap> gaps_;  // detected and not yet fully delivered, in order
  uint64_t last_req_seq_ = 0;
  uint64_t last_req_end_ = 0;
  int64_t last_req_ns_ = 0;
  uint32_t req_tries_ = 0;
};

// Sender-side retransmission store: the last `capacity` messages by sequence number, as views
// into a caller-owned buffer that outlives the history (the replay tool's input file).
class History {
 public:
  explicit History(size_t capacity) : cap_(capacity) {}
  void push(uint64_t seq, const uint8_t* msg, uint16_t len);
  // False when seq has left the window (or never existed).
  bool get(uint64_t seq, const uint8_t*& msg, uint16_t& len) const;
  uint64_t first_seq() const { return first_; }
  uint64_t end_seq() const { return first_ + items_.size(); }

 private:
  struct Item {
    const uint8_t* p;
    uint16_t len;
  };
  size_t cap_;
  uint64_t first_ = 1;
  std::deque<Item> items_;
};

}  // namespace minihft::live::mold
