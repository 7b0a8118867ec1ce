// Standalone driver for callgrind: the Python extension is stripped, so profiling through it
// gives no C++ symbols. This binary is built -O3 (as Release) plus -g, and runs exactly the
// work of `minihft bench book` (one untimed pass of BookBuilder::apply over a raw MdEvent file)
// or `minihft bench match` (one untimed pass of MatchingEngine::process over raw OrderCommands).
// Reading the file happens before run_*(), which callgrind is told to collect alone.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "minihft/lob/book_builder.hpp"
#include "minihft/lob/matching_engine.hpp"
#include "minihft/lob/types.hpp"

using namespace minihft;

namespace {

template <typename T>
bool load(const char* path, std::vector<T>& out) {
  std::FILE* f = std::fopen(path, "rb");
  if (f == nullptr) return false;
  std::fseek(f, 0, SEEK_END);
  long bytes = std::ftell(f);
  std::fseek(f, 0, SEEK_SET);
  if (bytes < 0 || bytes % static_cast<long>(sizeof(T)) != 0) {
    std::fclose(f);
    return false;
  }
  out.resize(static_cast<size_t>(bytes) / sizeof(T));
  size_t got = std::fread(out.data(), sizeof(T), out.size(), f);
  std::fclose(f);
  return got == out.size();
}

struct CountSink {
  uint64_t reports = 0;
  void operator()(const ExecReport&) { ++reports; }
};

}  // namespace

// noinline keeps a stable symbol for --toggle-collect.
extern "C" __attribute__((noinline)) uint64_t run_book(const MdEvent* ev, size_t n) {
  BookBuilder b;
  uint64_t sink = 0;
  for (size_t i = 0; i < n; ++i) sink += static_cast<uint64_t>(b.apply(ev[i]));
  return sink;
}

extern "C" __attribute__((noinline)) uint64_t run_match(const OrderCommand* c, size_t n,
                                                        uint32_t n_symbols) {
  MatchingEngine engine(n_symbols, 1 << 12);
  CountSink sink;
  for (size_t i = 0; i < n; ++i) engine.process(c[i], sink);
  return sink.reports;
}

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[1], "book") != 0 && std::strcmp(argv[1], "match") != 0)) {
    std::fprintf(stderr, "usage: %s book EVENTS.bin | match COMMANDS.bin\n", argv[0]);
    return 2;
  }
  if (std::strcmp(argv[1], "book") == 0) {
    std::vector<MdEvent> ev;
    if (!load(argv[2], ev)) {
      std::fprintf(stderr, "%s: unreadable or not a whole number of MdEvent records\n", argv[2]);
      return 2;
    }
    std::printf("book events=%zu status_sum=%llu\n", ev.size(),
                static_cast<unsigned long long>(run_book(ev.data(), ev.size())));
  } else {
    std::vector<OrderCommand> c;
    if (!load(argv[2], c)) {
      std::fprintf(stderr, "%s: unreadable or not a whole number of OrderCommand records\n",
                   argv[2]);
      return 2;
    }
    std::printf("match commands=%zu reports=%llu\n", c.size(),
                static_cast<unsigned long long>(run_match(c.data(), c.size(), 8)));
  }
  return 0;
}
