// Time source of the service's hop stamps and latency metrics. The core never reads a clock; the
// service adapter injects one so tests and replays can substitute their own.
#pragma once

#include <chrono>
#include <cstdint>

namespace minihft::service {

class Clock {
 public:
  virtual ~Clock() = default;
  // int64 ns; comparable only with other readings of the same clock.
  virtual int64_t now_ns() const = 0;
};

// Wall time: hop stamps are compared across processes on one host, so they need a shared epoch.
class WallClock final : public Clock {
 public:
  int64_t now_ns() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace minihft::service
