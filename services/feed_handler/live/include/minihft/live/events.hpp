// What a live receiver hands its consumer: ITCH messages in file framing, and events in band.
//
// Ring layout (bytes): a message is [u16 BE length][message], exactly the ITCH file framing;
// an event is [0x0000][LiveEvent], told apart by the zero length that no ITCH message has.
// Keeping events in band preserves where in the stream a gap or disconnect happened.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace minihft::live {

enum class EventKind : uint32_t {
  GapDetected = 1,    // seq = first missing, count = how many
  GapRecovered = 2,   // the whole gap [seq, seq+count) has since been delivered
  GapAbandoned = 3,   // retransmission did not come: [seq, seq+count) is lost
  SessionEnd = 4,     // end of session seen and everything before it delivered; seq = next
  LoginAccepted = 5,  // seq = first sequence number the server will send
  LoginRejected = 6,  // aux = reject reason code ('A' not authorised, 'S' no such session)
  Disconnected = 7,   // seq = next expected; aux = 1 when the peer left mid-message
  HeartbeatTimeout = 8,
  ProtocolError = 9,  // malformed packet; seq = next expected, aux = offending byte or type
};

struct LiveEvent {
  uint32_t kind;
  uint32_t aux;
  uint64_t seq;
  uint64_t count;
  int64_t ts_ns;  // steady-clock time the receiver saw it (adapter-stamped, 0 in pure logic)
};
static_assert(sizeof(LiveEvent) == 32);

// Single-writer counter readable from any thread (no locked RMW on the hot path).
struct Counter {
  std::atomic<uint64_t> v{0};
  void add(uint64_t n = 1) {
    v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void set(uint64_t n) { v.store(n, std::memory_order_relaxed); }
  uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

// Where protocol logic puts its output. Pure classes call it; adapters implement it.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void on_message(uint64_t seq, const uint8_t* msg, uint16_t len) = 0;
  virtual void on_event(const LiveEvent& ev) = 0;
};

}  // namespace minihft::live
