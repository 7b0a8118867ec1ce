// MatchingEngine for Python: a batch of ORDER_COMMAND records in (as raw bytes), a batch of
// EXEC_REPORT records out (as raw bytes Python views with the dtype). No per-command objects.
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "minihft/lob/cycle_clock.hpp"
#include "minihft/lob/matching_engine.hpp"

namespace nb = nanobind;

namespace minihft::py {
namespace {

using Bytes = nb::ndarray<const uint8_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using OutBytes = nb::ndarray<nb::numpy, uint8_t, nb::ndim<1>>;

// Reinterprets a uint8 buffer as OrderCommands; the size must be a whole number of records.
const OrderCommand* as_commands(const Bytes& raw, size_t& n) {
  size_t bytes = raw.shape(0);
  if (bytes % sizeof(OrderCommand) != 0) {
    throw nb::value_error(("commands buffer is " + std::to_string(bytes) +
                           " bytes, not a multiple of the 56-byte ORDER_COMMAND record")
                              .c_str());
  }
  n = bytes / sizeof(OrderCommand);
  return reinterpret_cast<const OrderCommand*>(raw.data());
}

// Takes ownership of a new[]-allocated buffer as a numpy uint8 array.
OutBytes own(uint8_t* buf, size_t bytes) {
  nb::capsule owner(buf, [](void* p) noexcept { delete[] static_cast<uint8_t*>(p); });
  return OutBytes(buf, {bytes}, owner);
}

uint8_t* copy_bytes(const void* src, size_t bytes) {
  auto* buf = new uint8_t[bytes == 0 ? 1 : bytes];
  if (bytes != 0) std::memcpy(buf, src, bytes);
  return buf;
}

// Copies `n` records of `size` bytes into a fresh numpy-owned uint8 array.
OutBytes to_numpy(const void* src, size_t n, size_t size) {
  return own(copy_bytes(src, n * size), n * size);
}

class PyEngine {
 public:
  PyEngine(uint32_t n_symbols, size_t expected_orders) : engine_(n_symbols, expected_orders) {}
  PyEngine(const PyEngine&) = delete;
  PyEngine& operator=(const PyEngine&) = delete;

  OutBytes process(const Bytes& raw) {
    size_t n = 0;
    const OrderCommand* cmds = as_commands(raw, n);
    uint8_t* buf = nullptr;
    size_t bytes = 0;
    {
      // The GIL is released while matching, so two Python threads may call in at once.
      nb::gil_scoped_release unlocked;
      std::lock_guard<std::mutex> guard(mu_);
      out_.clear();
      engine_.process(cmds, n, [this](const ExecReport& r) { out_.push_back(r); });
      bytes = out_.size() * sizeof(ExecReport);
      buf = copy_bytes(out_.data(), bytes);
    }
    return own(buf, bytes);
  }

  OutBytes depth(uint32_t symbol, int side, size_t n) const {
    if (side != 0 && side != 1) throw nb::value_error("side must be 0 (buy) or 1 (sell)");
    const OrderBook* b = engine_.book(symbol);
    n = b ? std::min(n, b->level_count(static_cast<Side>(side))) : 0;
    std::vector<DepthLevel> levels(n);
    size_t m = engine_.depth(symbol, static_cast<Side>(side), n, levels.data());
    return to_numpy(levels.data(), m, sizeof(DepthLevel));
  }

  // Resting orders of a side in the order they would trade: (order_id, price, qty) rows. For
  // tests and inspection; it walks the whole side.
  nb::ndarray<nb::numpy, int64_t, nb::ndim<2>> queue(uint32_t symbol, int side) const {
    if (side != 0 && side != 1) throw nb::value_error("side must be 0 (buy) or 1 (sell)");
    std::vector<int64_t> rows;
    if (const OrderBook* b = engine_.book(symbol)) {
      Side s = static_cast<Side>(side);
      for (size_t i = 0; i < b->level_count(s); ++i) {
        b->for_each_order(b->level(s, i), [&](const OrderBook::Order& o) {
          rows.insert(rows.end(), {static_cast<int64_t>(o.id), o.price, o.qty});
        });
      }
    }
    size_t n = rows.size() / 3;
    auto* buf = new int64_t[rows.empty() ? 1 : rows.size()];
    std::copy(rows.begin(), rows.end(), buf);
    nb::capsule owner(buf, [](void* p) noexcept { delete[] static_cast<int64_t*>(p); });
    return nb::ndarray<nb::numpy, int64_t, nb::ndim<2>>(buf, {n, 3}, owner);
  }

  std::optional<int64_t> order_qty(uint32_t symbol, uint64_t id) const {
    Qty q = engine_.order_qty(symbol, id);
    return q < 0 ? std::nullopt : std::optional<int64_t>(q);
  }

  nb::dict counters() const {
    const auto& c = engine_.counters();
    nb::dict d;
    d["commands"] = c.commands;
    d["accepted"] = c.accepted;
    d["rejected"] = c.rejected;
    d["trades"] = c.trades;
    d["traded_qty"] = c.traded_qty;
    d["cancelled"] = c.cancelled;
    d["replaced"] = c.replaced;
    return d;
  }

  uint32_t n_symbols() const { return engine_.n_symbols(); }

 private:
  MatchingEngine engine_;
  std::vector<ExecReport> out_;
  std::mutex mu_;
};

// Caller-owned report buffer as a service would have it: flushed (here: dropped) in batches so
// the timed loop measures matching, not an ever-growing vector.
struct BenchSink {
  std::vector<ExecReport> buf;
  uint64_t reports = 0;
  void operator()(const ExecReport& r) { buf.push_back(r); }
  void flush() {
    reports += buf.size();
    buf.clear();
  }
};

nb::dict bench_match(const Bytes& raw, uint32_t n_symbols, size_t expected_orders, int passes) {
  size_t n = 0;
  const OrderCommand* cmds = as_commands(raw, n);
  if (n == 0) throw nb::value_error("bench_match needs at least one command");
  if (passes < 1) throw nb::value_error("bench_match needs passes >= 1");
  double wall_s = 0;
  double best_s = 0;
  uint64_t reports = 0;
  std::vector<uint64_t> ticks(n);
  double ticks_per_ns = 1;
  uint64_t overhead = 0;
  {
    nb::gil_scoped_release unlocked;
    ticks_per_ns = CycleClock::calibrate_ticks_per_ns();
    overhead = CycleClock::overhead_ticks();
    BenchSink sink;
    sink.buf.reserve(1 << 16);
    // Throughput with no per-command timing, on a fresh engine per pass; the median of the
    // passes damps the preemption bursts of a shared machine.
    std::vector<double> secs;
    for (int pass = 0; pass < passes; ++pass) {
      MatchingEngine engine(n_symbols, expected_orders);
      sink.reports = 0;
      auto t0 = std::chrono::steady_clock::now();
      for (size_t i = 0; i < n; ++i) {
        engine.process(cmds[i], sink);
        if ((i & 1023) == 0) sink.flush();
      }
      auto t1 = std::chrono::steady_clock::now();
      sink.flush();
      reports = sink.reports;
      secs.push_back(std::chrono::duration<double>(t1 - t0).count());
    }
    std::sort(secs.begin(), secs.end());
    wall_s = secs[secs.size() / 2];
    best_s = secs.front();
    // Pass 2: per-command latency with the cycle counter, on a fresh engine.
    {
      MatchingEngine engine(n_symbols, expected_orders);
      for (size_t i = 0; i < n; ++i) {
        uint64_t a = CycleClock::now();
        engine.process(cmds[i], sink);
        uint64_t b = CycleClock::now();
        ticks[i] = b - a;
        if ((i & 1023) == 0) sink.flush();
      }
    }
    std::sort(ticks.begin(), ticks.end());
  }
  auto pct = [&](double q) {
    size_t i = std::min(n - 1, static_cast<size_t>(q * static_cast<double>(n)));
    return static_cast<double>(ticks[i]) / ticks_per_ns;
  };
  nb::dict lat;
  lat["p50"] = pct(0.50);
  lat["p99"] = pct(0.99);
  lat["p99_9"] = pct(0.999);
  lat["max"] = static_cast<double>(ticks[n - 1]) / ticks_per_ns;
  nb::dict d;
  d["orders"] = n;
  d["reports"] = reports;
  d["wall_s"] = wall_s;
  d["orders_per_s"] = static_cast<double>(n) / wall_s;
  d["orders_per_s_best"] = static_cast<double>(n) / best_s;
  d["passes"] = passes;
  d["latency_ns"] = lat;
  d["timer_overhead_ns"] = static_cast<double>(overhead) / ticks_per_ns;
  d["ticks_per_ns"] = ticks_per_ns;
  return d;
}

}  // namespace

void bind_matching(nb::module_& m) {
  nb::class_<PyEngine>(m, "MatchingEngine",
                       "Price-time matching engine; semantics in matching_engine.hpp")
      .def(nb::init<uint32_t, size_t>(), nb::arg("n_symbols") = 64,
           nb::arg("expected_orders") = 1 << 14)
      .def("process", &PyEngine::process, nb::arg("commands").noconvert(),
           "uint8 view of ORDER_COMMAND records -> uint8 array of EXEC_REPORT records")
      .def("depth", &PyEngine::depth, nb::arg("symbol_id"), nb::arg("side"), nb::arg("n"),
           "uint8 array of up to n DEPTH_LEVEL records, best first")
      .def("queue", &PyEngine::queue, nb::arg("symbol_id"), nb::arg("side"),
           "int64 rows (order_id, price, qty) of one side in trading priority")
      .def("order_qty", &PyEngine::order_qty, nb::arg("symbol_id"), nb::arg("order_id"))
      .def("counters", &PyEngine::counters)
      .def_prop_ro("n_symbols", &PyEngine::n_symbols);
  m.def("bench_match", &bench_match, nb::arg("commands").noconvert(), nb::arg("n_symbols") = 64,
        nb::arg("expected_orders") = 1 << 14, nb::arg("passes") = 3,
        "run the commands through fresh engines: `passes` untimed runs for throughput (median "
        "and best), then one run timing each command with the cycle counter");
}

}  // namespace minihft::py
