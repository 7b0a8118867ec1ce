// How an idle pipeline thread waits: optionally spin briefly (a message 1-2 us away costs no
// syscall) and yield, then park on a futex until the upstream thread says it pushed something, or
// a timeout passes (periodic work: gauges, commits, delivery reports). Never unbounded: that
// would take a whole core from the rest of the stack; never a plain sleep (the old 50 us costs
// 60-100 us of timer slack per hop).
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

namespace minihft::service {

// One waiter, any number of wakers.
class Parker {
 public:
  // After making work visible (e.g. a ring push).
  void wake() {
    seq_.fetch_add(1, std::memory_order_seq_cst);
    if (sleeping_.load(std::memory_order_seq_cst)) {
      syscall(SYS_futex, reinterpret_cast<uint32_t*>(&seq_), FUTEX_WAKE_PRIVATE, 1, nullptr,
              nullptr, 0);
    }
  }
  // Sleeps until wake() or `timeout_us`, unless `has_work()` already holds once the waiter is
  // announced (a wake() between the caller's last check and the futex call is never lost: it
  // changes seq_, and the futex returns at once).
  template <typename F>
  void park(F&& has_work, long timeout_us) {
    const uint32_t s = seq_.load(std::memory_order_seq_cst);
    sleeping_.store(true, std::memory_order_seq_cst);
    if (!has_work()) {
      timespec ts{timeout_us / 1'000'000, (timeout_us % 1'000'000) * 1000};
      syscall(SYS_futex, reinterpret_cast<uint32_t*>(&seq_), FUTEX_WAIT_PRIVATE, s, &ts, nullptr,
              0);
    }
    sleeping_.store(false, std::memory_order_relaxed);
  }

 private:
  std::atomic<uint32_t> seq_{0};
  std::atomic<bool> sleeping_{false};
};
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));

// Spin (spin_ns), then yield (until yield_ns), then park; reset() on work. The window is set once
// from --spin-us before any thread starts: a spin only pays when the next item is microseconds
// away, and on a busy 2-core host every spin and yield takes the core from the thread the wake
// was for (tick-to-order: lob_engine hop p99 3.1 ms with a 100 us window, 0.56 ms without).
class Backoff {
 public:
  static inline int64_t spin_ns = 0;
  static inline int64_t yield_ns = 0;
  static void set_window_us(int64_t us) {
    yield_ns = us * 1000;
    spin_ns = std::min<int64_t>(20'000, yield_ns);
  }

  void reset() { idle_since_ = 0; }
  template <typename F>
  void idle(Parker& parker, F&& has_work, long park_timeout_us) {
    const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    if (idle_since_ == 0) idle_since_ = now;
    const int64_t idle = now - idle_since_;
    if (idle < spin_ns) {
      for (int i = 0; i < 64; ++i) __builtin_ia32_pause();
    } else if (idle < yield_ns) {
      std::this_thread::yield();
    } else {
      parker.park(has_work, park_timeout_us);
    }
  }

 private:
  int64_t idle_since_ = 0;
};

}  // namespace minihft::service
