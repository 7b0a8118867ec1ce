// BookBuilder, the LOBSTER replay and the book benchmark loop for Python. Every call takes a whole
// batch (a numpy MD_EVENT array) and returns numpy arrays: no Python object per event.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "bindings.hpp"
#include "minihft/lob/book_builder.hpp"
#include "minihft/lob/cycle_clock.hpp"
#include "minihft/lob/lobster_replay.hpp"
#include "minihft/lob/types.hpp"

namespace nb = nanobind;

namespace minihft::py {
namespace {

// MD_EVENT arrays arrive as raw bytes (a structured dtype has no ndarray type); the view is
// checked for contiguity and a whole number of records.
using Bytes = nb::ndarray<const uint8_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using I64_3 = nb::ndarray<const int64_t, nb::ndim<3>, nb::c_contig, nb::device::cpu>;

template <typename T>
nb::ndarray<nb::numpy, T> owned(size_t n_total, std::initializer_list<size_t> shape) {
  T* data = new T[n_total]();
  nb::capsule owner(data, [](void* p) noexcept { delete[] static_cast<T*>(p); });
  return nb::ndarray<nb::numpy, T>(data, shape.size(), shape.begin(), owner);
}

std::pair<const MdEvent*, size_t> events_of(const Bytes& raw) {
  if (raw.size() % sizeof(MdEvent) != 0) {
    throw std::invalid_argument("events: byte length " + std::to_string(raw.size()) +
                                " is not a multiple of sizeof(MdEvent)=56; pass an MD_EVENT array");
  }
  return {reinterpret_cast<const MdEvent*>(raw.data()), raw.size() / sizeof(MdEvent)};
}

nb::dict stats_dict(const BookBuilder& b) {
  static const char* kTypes[] = {"invalid", "add",           "execute", "execute_at_price",
                                 "cancel",  "delete",        "replace", "hidden_trade",
                                 "clear",   "trading_status"};
  const auto& s = b.stats();
  nb::dict by_status;
  for (size_t i = 0; i < BookBuilder::kCounterSlots; ++i) {
    if (s.by_status[i] != 0) by_status[to_string(static_cast<ErrorCode>(i))] = s.by_status[i];
  }
  nb::dict by_type;
  for (size_t i = 0; i < BookBuilder::kCounterSlots; ++i) {
    if (s.by_type[i] == 0) continue;
    const char* name = i < sizeof(kTypes) / sizeof(kTypes[0]) ? kTypes[i] : "invalid";
    by_type[name] = s.by_type[i];
  }
  nb::dict d;
  d["events"] = s.events;
  d["by_status"] = by_status;
  d["by_type"] = by_type;
  return d;
}

}  // namespace

void bind_book(nb::module_& m) {
  nb::class_<BookBuilder>(m, "BookBuilder")
      .def(nb::init<size_t>(), nb::arg("expected_orders_per_symbol") = 1 << 14)
      .def(
          "apply",
          [](BookBuilder& b, const Bytes& raw) {
            auto [ev, n] = events_of(raw);
            auto status = owned<uint8_t>(n, {n});
            uint8_t* out = status.data();
            {
              nb::gil_scoped_release unlocked;
              for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(b.apply(ev[i]));
            }
            return status;
          },
          nb::arg("events"))
      .def(
          "apply_with_depth",
          [](BookBuilder& b, const Bytes& raw, size_t levels) {
            auto [ev, n] = events_of(raw);
            if (levels == 0) throw std::invalid_argument("levels must be >= 1");
            auto status = owned<uint8_t>(n, {n});
            auto depth = owned<int64_t>(n * levels * kDepthCols, {n, levels, kDepthCols});
            uint8_t* st = status.data();
            int64_t* d = depth.data();
            {
              nb::gil_scoped_release unlocked;
              for (size_t i = 0; i < n; ++i) {
                st[i] = static_cast<uint8_t>(b.apply(ev[i]));
                b.depth_row(ev[i].symbol_id, levels, d + i * levels * kDepthCols);
              }
            }
            return nb::make_tuple(status, depth);
          },
          nb::arg("events"), nb::arg("levels"))
      .def(
          "depth",
          [](const BookBuilder& b, uint32_t symbol, size_t levels) {
            auto depth = owned<int64_t>(levels * kDepthCols, {levels, kDepthCols});
            b.depth_row(symbol, levels, depth.data());
            return depth;
          },
          nb::arg("symbol_id"), nb::arg("levels"))
      .def(
          "order_count",
          [](const BookBuilder& b, uint32_t symbol) {
            const OrderBook* book = b.book(symbol);
            return book ? book->order_count() : 0;
          },
          nb::arg("symbol_id"))
      .def("stats", &stats_dict)
      .def("reset_stats", &BookBuilder::reset_stats);

  m.def(
      "lobster_replay",
      [](const Bytes& raw, const I64_3& truth, bool reconcile) {
        auto [ev, n] = events_of(raw);
        if (n == 0) throw std::invalid_argument("lobster_replay: no events");
        if (truth.shape(0) != n || truth.shape(2) != kDepthCols || truth.shape(1) == 0) {
          throw std::invalid_argument("lobster_replay: truth must have shape (n_events, L, 4)");
        }
        size_t levels = truth.shape(1);
        auto status = owned<uint8_t>(n, {n});
        auto depth = owned<int64_t>(n * levels * kDepthCols, {n, levels, kDepthCols});
        auto step_eq = owned<uint8_t>(n * levels, {n, levels});
        LobsterReplayStats st;
        {
          nb::gil_scoped_release unlocked;
          st = lobster_replay(ev, n, truth.data(), levels, reconcile, status.data(), depth.data(),
                              step_eq.data());
        }
        nb::dict d;
        d["unknown_order_events"] = st.unknown_order_events;
        d["unmatched_unknown_events"] = st.unmatched_unknown;
        d["clamped_unknown_events"] = st.clamped_unknown;
        d["absorbed_unknown_orders"] = st.absorbed_unknown;
        d["repaired_events"] = st.repaired_events;
        d["reconciled_rows"] = st.reconciled_rows;
        d["reconciled_levels"] = st.reconciled_levels;
        d["first_reconciled_row"] = st.first_reconciled_row;
        return nb::make_tuple(status, depth, step_eq, d);
      },
      nb::arg("events"), nb::arg("truth_depth"), nb::arg("reconcile"));

  // Applies the events `repeats` times through one fresh BookBuilder (the stream is expected to
  // clear its books at the start). With `timed`, each apply is bracketed by two counter reads
  // and the tick deltas are returned; without, only the loop's total ticks.
  m.def(
      "bench_book_apply",
      [](const Bytes& raw, size_t repeats, bool timed) {
        auto [ev, n] = events_of(raw);
        size_t total = n * repeats;
        auto ticks = owned<uint32_t>(timed ? total : 1, {timed ? total : 0});
        uint32_t* t = ticks.data();
        double ticks_per_ns = 1.0;
        uint64_t overhead = 0, start = 0, end = 0, sink = 0;
        {
          nb::gil_scoped_release unlocked;
          ticks_per_ns = CycleClock::calibrate_ticks_per_ns();
          overhead = CycleClock::overhead_ticks();
          BookBuilder b;
          start = CycleClock::now();
          for (size_t r = 0; r < repeats; ++r) {
            if (timed) {
              uint32_t* tr = t + r * n;
              for (size_t i = 0; i < n; ++i) {
                uint64_t a = CycleClock::now();
                ErrorCode c = b.apply(ev[i]);
                uint64_t z = CycleClock::now();
                sink += static_cast<uint64_t>(c);
                tr[i] = static_cast<uint32_t>(std::min<uint64_t>(z - a, UINT32_MAX));
              }
            } else {
              for (size_t i = 0; i < n; ++i) sink += static_cast<uint64_t>(b.apply(ev[i]));
            }
          }
          end = CycleClock::now();
        }
        nb::dict d;
        d["ticks_per_ns"] = ticks_per_ns;
        d["overhead_ticks"] = overhead;
        d["elapsed_ticks"] = end - start;
        d["status_sum"] = sink;
        return nb::make_tuple(ticks, d);
      },
      nb::arg("events"), nb::arg("repeats"), nb::arg("timed"));
}

}  // namespace minihft::py
