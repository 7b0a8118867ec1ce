// Standalone copy of `_feed.bench_book`'s arrival-order loop, for callgrind/perf without Python.
// Build: see build_harness.sh. Usage: book_harness FILE [runs] [mode] [slice] [lookahead_from]
//   mode 0: decode, then apply the slice (batch prefetch); 1: decode only; 2: decode_apply.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "minihft/feed/itch.hpp"
#include "minihft/lob/book_builder.hpp"

namespace itch = minihft::feed::itch;

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  FILE* f = std::fopen(argv[1], "rb");
  if (!f) return 2;
  std::fseek(f, 0, SEEK_END);
  std::vector<uint8_t> data(static_cast<size_t>(std::ftell(f)));
  std::fseek(f, 0, SEEK_SET);
  if (std::fread(data.data(), 1, data.size(), f) != data.size()) return 2;
  std::fclose(f);
  int runs = argc > 2 ? atoi(argv[2]) : 1;
  int mode = argc > 3 ? atoi(argv[3]) : 0;
  const size_t la = argc > 5 ? strtoul(argv[5], nullptr, 0) : itch::kLookaheadFrom;
  const size_t slice = argc > 4 ? strtoul(argv[4], nullptr, 0) : 1 << 18;
  for (int i = 0; i < runs; ++i) {
    itch::Output out;
    itch::Counters c;
    minihft::BookBuilder books(256);
    timespec c0, c1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    auto t0 = std::chrono::steady_clock::now();
    size_t pos = 0;
    while (pos < data.size()) {
      const size_t n = std::min(slice, data.size() - pos);
      auto r = mode == 2 ? itch::decode_apply(data.data() + pos, n, pos, itch::OnError::Stop, out,
                                              c, books, la)
                         : itch::decode(data.data() + pos, n, pos, itch::OnError::Stop, out, c);
      if (mode == 0) books.apply(out.events.data(), out.events.size());
      out.clear();
      if (r.fault || r.consumed == 0) break;
      pos += r.consumed;
    }
    auto t1 = std::chrono::steady_clock::now();
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    const double cpu = (c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) * 1e-9;
    double s = std::chrono::duration<double>(t1 - t0).count();
    size_t live = 0;
    for (size_t k = 0; k < books.symbol_slots(); ++k)
      if (auto* b = books.book(static_cast<minihft::SymbolId>(k))) live += b->order_count();
    std::printf("%.4f s  %.1f ns/msg  cpu %.1f ns/msg  msgs=%llu live=%zu ok=%llu\n", s,
                s * 1e9 / c.messages, cpu * 1e9 / c.messages, (unsigned long long)c.messages, live,
                (unsigned long long)books.stats().by_status[0]);
  }
}
