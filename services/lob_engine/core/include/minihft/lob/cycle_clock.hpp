// Cycle counter for benchmarks only: core logic never reads a clock (time is injected).
//
// steady_clock costs ~20 ns per read through the vDSO, which is as much as a book update, so
// per-operation latency is timed with the TSC and converted to ns with a ratio calibrated once
// against steady_clock. On non-x86 targets the counter falls back to steady_clock ns (ratio 1).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

namespace minihft {

class CycleClock {
 public:
  // Raw counter. rdtsc is not serialising; for ops of tens of ns the skew is below the noise and
  // lfence/rdtscp would double the overhead we are trying to keep small.
  static inline uint64_t now() {
#if defined(__x86_64__) || defined(__i386__)
    return __rdtsc();
#else
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
#endif
  }

  // Ticks per ns, measured against steady_clock over `window_ns` of busy waiting.
  static double calibrate_ticks_per_ns(int64_t window_ns = 20'000'000) {
#if defined(__x86_64__) || defined(__i386__)
    using clk = std::chrono::steady_clock;
    auto t0 = clk::now();
    uint64_t c0 = now();
    clk::time_point t1;
    do {
      t1 = clk::now();
    } while (std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count() < window_ns);
    uint64_t c1 = now();
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
    return ns > 0 ? static_cast<double>(c1 - c0) / static_cast<double>(ns) : 1.0;
#else
    (void)window_ns;
    return 1.0;
#endif
  }

  // Median cost in ticks of two back-to-back reads: the floor under every timed interval.
  static uint64_t overhead_ticks(int samples = 10'000) {
    std::vector<uint64_t> d(static_cast<size_t>(samples));
    for (auto& x : d) {
      uint64_t a = now();
      uint64_t b = now();
      x = b - a;
    }
    auto mid = d.begin() + static_cast<std::ptrdiff_t>(d.size() / 2);
    std::nth_element(d.begin(), mid, d.end());
    return *mid;
  }
};

}  // namespace minihft
