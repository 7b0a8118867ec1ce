// The receiver-to-consumer channel: an SPSC byte ring carrying ITCH file framing plus in-band
// events (see events.hpp). The receive thread is the only producer, one consumer drains it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "minihft/common/spsc_ring.hpp"
#include "minihft/live/events.hpp"

namespace minihft::live {

inline int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class RingSink final : public Sink {
 public:
  RingSink(size_t ring_bytes, const std::atomic<bool>& stop) : ring_(ring_bytes), stop_(stop) {}

  // A full ring stalls the receive thread (the socket buffer then absorbs, and a datagram lost
  // there is a gap that retransmission repairs) rather than dropping inside the process.
  void on_message(uint64_t, const uint8_t* msg, uint16_t len) override {
    const uint8_t hdr[2] = {static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
    while (!ring_.push_all2(hdr, 2, msg, len)) {
      if (stop_.load(std::memory_order_relaxed)) return;
      full_waits.add();
      std::this_thread::yield();
    }
  }
  void on_event(const LiveEvent& ev) override {
    uint8_t rec[2 + sizeof(LiveEvent)] = {0, 0};
    LiveEvent stamped = ev;
    stamped.ts_ns = steady_ns();
    std::memcpy(rec + 2, &stamped, sizeof stamped);
    while (!ring_.push_all(rec, sizeof rec)) {
      if (stop_.load(std::memory_order_relaxed)) return;
      std::this_thread::yield();
    }
  }

  // Consumer side: moves whole records (at most about max_bytes) out of the ring, messages to
  // msgs (file framing, concatenated) and events to evs. Returns the number of messages.
  size_t drain(size_t max_bytes, std::string& msgs, std::vector<LiveEvent>& evs) {
    scratch_.resize(max_bytes);
    const size_t got = ring_.peek_n(scratch_.data(), max_bytes);
    size_t off = 0, n = 0, run = 0;  // run: start of the current stretch of plain messages
    while (off + 2 <= got) {
      const size_t len = (size_t{scratch_[off]} << 8) | scratch_[off + 1];
      if (len == 0) {
        if (off + 2 + sizeof(LiveEvent) > got) break;
        msgs.append(reinterpret_cast<const char*>(scratch_.data() + run), off - run);
        LiveEvent ev;
        std::memcpy(&ev, scratch_.data() + off + 2, sizeof ev);
        evs.push_back(ev);
        off += 2 + sizeof(LiveEvent);
        run = off;
        continue;
      }
      if (off + 2 + len > got) break;
      off += 2 + len;
      ++n;
    }
    msgs.append(reinterpret_cast<const char*>(scratch_.data() + run), off - run);
    ring_.consume(off);
    return n;
  }

  Counter full_waits;

 private:
  SpscRing<uint8_t> ring_;
  const std::atomic<bool>& stop_;
  std::vector<uint8_t> scratch_;
};

}  // namespace minihft::live
