// Backtest fill simulation for Python (semantics: fill_simulator.hpp, backtest_stepper.hpp).
// Events, commands, reports, extras and trades cross as raw record bytes that Python views with
// its dtypes; the config crosses as one dict. Python is called back never: it steps the loop.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>

#include <chrono>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "bindings.hpp"
#include "minihft/lob/backtest_stepper.hpp"
#include "minihft/lob/book_builder.hpp"
#include "minihft/lob/fill_simulator.hpp"

namespace nb = nanobind;

namespace minihft::py {
namespace {

using Bytes = nb::ndarray<const uint8_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Row = nb::ndarray<const int64_t, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
using Rows = nb::ndarray<const int64_t, nb::ndim<3>, nb::c_contig, nb::device::cpu>;
using OutBytes = nb::ndarray<nb::numpy, uint8_t, nb::ndim<1>>;
using MutBytes = nb::ndarray<uint8_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using OutI64 = nb::ndarray<nb::numpy, int64_t, nb::ndim<2>>;

template <typename T>
std::pair<const T*, size_t> records(const Bytes& raw, const char* what) {
  if (raw.size() % sizeof(T) != 0) {
    throw nb::value_error((std::string(what) + ": byte length " + std::to_string(raw.size()) +
                           " is not a multiple of the " + std::to_string(sizeof(T)) +
                           "-byte record")
                              .c_str());
  }
  return {reinterpret_cast<const T*>(raw.data()), raw.size() / sizeof(T)};
}

template <typename T>
nb::bytearray to_bytearray(const std::vector<T>& v) {
  return nb::bytearray(v.data(), v.size() * sizeof(T));
}

template <typename T>
OutBytes to_numpy(const std::vector<T>& v) {
  const size_t bytes = v.size() * sizeof(T);
  auto* buf = new uint8_t[bytes == 0 ? 1 : bytes];
  if (bytes != 0) std::memcpy(buf, v.data(), bytes);
  nb::capsule owner(buf, [](void* p) noexcept { delete[] static_cast<uint8_t*>(p); });
  return OutBytes(buf, {bytes}, owner);
}

std::vector<MdEvent> checked_events(const Bytes& raw) {
  auto [ev, n] = records<MdEvent>(raw, "events");
  for (size_t i = 1; i < n; ++i) {
    if (ev[i].ts_event < ev[i - 1].ts_event) {
      throw nb::value_error(("events: row " + std::to_string(i) + " field ts_event " +
                             std::to_string(ev[i].ts_event) + " is before row " +
                             std::to_string(i - 1) + " (" + std::to_string(ev[i - 1].ts_event) +
                             "); events must be sorted by ts_event")
                                .c_str());
    }
  }
  return std::vector<MdEvent>(ev, ev + n);
}

FillConfig config_of(const nb::dict& d) {
  FillConfig c;
  for (auto [k, v] : d) {
    const std::string key = nb::cast<std::string>(k);
    auto i64 = [&] { return nb::cast<int64_t>(v); };
    if (key == "order_latency_ns") {
      c.order_latency_ns = i64();
    } else if (key == "order_jitter_ns") {
      c.order_jitter_ns = i64();
    } else if (key == "cancel_latency_ns") {
      c.cancel_latency_ns = i64();
    } else if (key == "cancel_jitter_ns") {
      c.cancel_jitter_ns = i64();
    } else if (key == "report_latency_ns") {
      c.report_latency_ns = i64();
    } else if (key == "report_jitter_ns") {
      c.report_jitter_ns = i64();
    } else if (key == "maker_fee_e4") {
      c.maker_fee_e4 = i64();
    } else if (key == "taker_fee_e4") {
      c.taker_fee_e4 = i64();
    } else if (key == "seed") {
      c.seed = nb::cast<uint64_t>(v);
    } else if (key == "hidden_fills") {
      c.hidden_fills = nb::cast<bool>(v);
    } else if (key == "record_trades") {
      c.record_trades = nb::cast<bool>(v);
    } else {
      throw nb::value_error(("config: unknown key '" + key + "'").c_str());
    }
  }
  for (Nanos x : {c.order_latency_ns, c.order_jitter_ns, c.cancel_latency_ns, c.cancel_jitter_ns,
                  c.report_latency_ns, c.report_jitter_ns}) {
    if (x < 0) throw nb::value_error("config: latencies and jitters must be >= 0 ns");
  }
  return c;
}

// LOBSTER orderbook row 1 as (L, 4) with empty levels 0, 0.
std::pair<const int64_t*, size_t> seed_row_of(const std::optional<Row>& row) {
  if (!row) return {nullptr, 0};
  if (row->shape(1) != kDepthCols || row->shape(0) == 0) {
    throw nb::value_error(
        "seed_row: expected shape (levels, 4) of ask_px, ask_qty, bid_px, bid_qty");
  }
  return {row->data(), row->shape(0)};
}

// LOBSTER orderbook rows aligned with the events: (n_events, L, 4), L equal to the seed row's.
const int64_t* truth_of(const std::optional<Rows>& t, size_t n_events, size_t levels) {
  if (!t) return nullptr;
  if (t->shape(0) != n_events || t->shape(1) != levels || t->shape(2) != kDepthCols) {
    throw nb::value_error(("truth: expected shape (" + std::to_string(n_events) + ", " +
                           std::to_string(levels) + ", 4) matching events and seed_row, got (" +
                           std::to_string(t->shape(0)) + ", " + std::to_string(t->shape(1)) + ", " +
                           std::to_string(t->shape(2)) + ")")
                              .c_str());
  }
  return t->data();
}

class PyBacktester {
 public:
  PyBacktester(const Bytes& events, const nb::dict& cfg)
      : st_(checked_events(events), config_of(cfg)) {}
  PyBacktester(const PyBacktester&) = delete;
  PyBacktester& operator=(const PyBacktester&) = delete;

  void seed_lobster(const Row& row) {
    if (st_.cursor() != 0) throw nb::value_error("seed_lobster: events were already applied");
    auto [p, levels] = seed_row_of(row);
    st_.seed_lobster(p, levels);
  }
  void set_lobster_truth(const Rows& rows) {
    if (st_.cursor() != 0) throw nb::value_error("set_lobster_truth: events were already applied");
    // Read in place, no copy: truth_ holds a reference to the array as long as the stepper may
    // read it (append copies what it has before growing).
    st_.set_lobster_truth_view(truth_of(rows, st_.n_events(), rows.shape(1)), rows.shape(1));
    truth_ = rows;
  }
  // Streamed events (and their LOBSTER rows): see BacktestStepper::append_events.
  void append(const Bytes& raw, const std::optional<Rows>& truth) {
    auto [ev, n] = records<MdEvent>(raw, "events");
    const int64_t* rows = nullptr;
    size_t levels = 0;
    if (truth) {
      levels = truth->shape(1);
      rows = truth_of(truth, n, levels);
    }
    using R = BacktestStepper::AppendResult;
    switch (st_.append_events(ev, n, rows, levels)) {
      case R::Ok:
        return;
      case R::OutOfOrder:
        throw nb::value_error(("append: events go back in time (field ts_event) within the batch "
                               "or against the last of the " +
                               std::to_string(st_.n_events()) + " events appended before")
                                  .c_str());
      case R::TruthMismatch:
        throw nb::value_error(
            "append: truth rows must come with every batch from the first one on, with the same "
            "number of levels");
    }
  }
  void enqueue(const Bytes& raw) {
    auto [c, n] = records<OrderCommand>(raw, "commands");
    for (size_t i = 0; i < n; ++i) st_.enqueue(c[i]);
  }
  // Commands as Python tuples in ORDER_COMMAND field order (ts, order_id, price, qty, account,
  // symbol_id, type, side, order_type, tif, flags[, reserved]), the rows StrategyContext
  // queues: the same commands as enqueue() of their array, without building one per flush.
  void enqueue_rows(const nb::list& rows) {
    for (nb::handle row : rows) {
      nb::tuple t = nb::borrow<nb::tuple>(row);
      if (t.size() < 11) throw nb::value_error("enqueue_rows: a row needs 11 ORDER_COMMAND fields");
      OrderCommand c{};
      c.ts = nb::cast<int64_t>(t[0]);
      c.order_id = nb::cast<uint64_t>(t[1]);
      c.price = nb::cast<int64_t>(t[2]);
      c.qty = nb::cast<int64_t>(t[3]);
      c.account = nb::cast<uint64_t>(t[4]);
      c.symbol_id = nb::cast<uint32_t>(t[5]);
      c.type = nb::cast<uint8_t>(t[6]);
      c.side = nb::cast<uint8_t>(t[7]);
      c.order_type = nb::cast<uint8_t>(t[8]);
      c.tif = nb::cast<uint8_t>(t[9]);
      c.flags = nb::cast<uint32_t>(t[10]);
      st_.enqueue(c);
    }
  }
  // One command from its fields, issued now: a strategy's submit or cancel without building a
  // one-row structured array (which costs more than the rest of a wake-up).
  void enqueue_one(uint8_t type, uint64_t order_id, uint8_t side, int64_t price, int64_t qty,
                   uint8_t order_type, uint8_t tif, uint32_t flags, uint64_t account,
                   uint32_t symbol_id) {
    OrderCommand c{};
    c.ts = st_.now();
    c.order_id = order_id;
    c.price = price;
    c.qty = qty;
    c.account = account;
    c.symbol_id = symbol_id;
    c.type = type;
    c.side = side;
    c.order_type = order_type;
    c.tif = tif;
    c.flags = flags;
    st_.enqueue(c);
  }
  std::pair<uint32_t, int64_t> run_until(int64_t limit, uint32_t mask, size_t levels) {
    uint32_t w;
    {
      nb::gil_scoped_release unlocked;
      w = st_.run_until(limit, mask, levels);
    }
    return {w, st_.now()};
  }
  // bytearrays, not ndarrays: a strategy loop takes reports at most wake-ups, and an ndarray
  // with its owner capsule costs ~1 us to build against ~0.1 us (np.frombuffer views either).
  std::pair<nb::bytearray, nb::bytearray> take_reports() {
    r_.clear();
    x_.clear();
    st_.take_reports(r_, x_);
    return {to_bytearray(r_), to_bytearray(x_)};
  }
  nb::bytearray take_trades() {
    t_.clear();
    st_.take_trades(t_);
    return to_bytearray(t_);
  }
  // The touch as (ask_px, ask_qty, bid_px, bid_qty), empty = 0, 0: depth(symbol, 1) as a tuple.
  std::tuple<int64_t, int64_t, int64_t, int64_t> touch(uint32_t symbol) const {
    int64_t row[kDepthCols];
    write_depth_row(st_.sim().book(symbol), 1, row);
    return {row[0], row[1], row[2], row[3]};
  }
  // Writes the book of `symbol` into a codec.BOOK_UPDATE row (512 bytes, viewed as uint8): ts,
  // the top 10 levels a side (orders and reserved left as they are: 0), n_bids, n_asks; returns
  // the touch (ask px, ask qty, bid px, bid qty). The on_book row without numpy per field.
  std::tuple<int64_t, int64_t, int64_t, int64_t> fill_book_update(uint32_t symbol, int64_t ts,
                                                                  MutBytes row) {
    constexpr size_t kLevels = 10, kBids = 32, kAsks = kBids + kLevels * sizeof(DepthLevel);
    if (row.shape(0) != kAsks + kLevels * sizeof(DepthLevel)) {
      throw nb::value_error("fill_book_update: row must be one 512-byte BOOK_UPDATE");
    }
    int64_t d[kLevels * kDepthCols];
    write_depth_row(std::as_const(st_).sim().book(symbol), kLevels, d);
    uint8_t* out = row.data();
    std::memcpy(out, &ts, sizeof ts);
    std::memcpy(out + 8, &ts, sizeof ts);
    uint8_t n_bids = 0, n_asks = 0;
    for (size_t i = 0; i < kLevels; ++i) {
      const int64_t* r = d + i * kDepthCols;
      std::memcpy(out + kAsks + i * sizeof(DepthLevel), r, 2 * sizeof(int64_t));
      std::memcpy(out + kBids + i * sizeof(DepthLevel), r + 2, 2 * sizeof(int64_t));
      n_asks += r[1] != 0;
      n_bids += r[3] != 0;
    }
    out[28] = n_bids;
    out[29] = n_asks;
    return {d[0], d[1], d[2], d[3]};
  }
  OutI64 depth(uint32_t symbol, size_t levels) {
    auto* buf = new int64_t[levels * kDepthCols + 1];
    write_depth_row(std::as_const(st_).sim().book(symbol), levels, buf);
    nb::capsule owner(buf, [](void* p) noexcept { delete[] static_cast<int64_t*>(p); });
    return OutI64(buf, {levels, kDepthCols}, owner);
  }
  nb::dict counters() const {
    const auto& c = std::as_const(st_).sim().counters();
    nb::dict d;
    d["events"] = c.events;
    d["unknown_order_events"] = c.unknown_order_events;
    d["absorbed_qty"] = c.absorbed_qty;
    d["maker_fills"] = c.maker_fills;
    d["taker_fills"] = c.taker_fills;
    return d;
  }
  BacktestStepper st_;

 private:
  std::optional<Rows> truth_;  // keeps set_lobster_truth's array alive (read in place)
  std::vector<ExecReport> r_;
  std::vector<ReportExtra> x_;
  std::vector<TradePrint> t_;
};

}  // namespace

void bind_backtest(nb::module_& m) {
  nb::dict sizes;
  sizes["ReportExtra"] = sizeof(ReportExtra);
  sizes["TradePrint"] = sizeof(TradePrint);
  m.attr("BACKTEST_STRUCT_SIZES") = sizes;
  nb::dict offsets;
  offsets["ReportExtra.md_index"] = offsetof(ReportExtra, md_index);
  offsets["ReportExtra.cause"] = offsetof(ReportExtra, cause);
  offsets["TradePrint.symbol_id"] = offsetof(TradePrint, symbol_id);
  offsets["TradePrint.aggressor"] = offsetof(TradePrint, aggressor);
  offsets["TradePrint.hidden"] = offsetof(TradePrint, hidden);
  m.attr("BACKTEST_STRUCT_OFFSETS") = offsets;
  m.attr("NEVER") = kNever;

  nb::class_<PyBacktester>(m, "Backtester")
      .def(nb::init<const Bytes&, const nb::dict&>(), nb::arg("events"), nb::arg("config"))
      .def("seed_lobster", &PyBacktester::seed_lobster, nb::arg("row"))
      .def("set_lobster_truth", &PyBacktester::set_lobster_truth, nb::arg("rows"))
      .def("append", &PyBacktester::append, nb::arg("events"), nb::arg("truth").none() = nb::none())
      .def("enqueue", &PyBacktester::enqueue, nb::arg("commands"))
      .def("enqueue_rows", &PyBacktester::enqueue_rows, nb::arg("rows"))
      .def("enqueue_one", &PyBacktester::enqueue_one, nb::arg("type"), nb::arg("order_id"),
           nb::arg("side"), nb::arg("price"), nb::arg("qty"), nb::arg("order_type"), nb::arg("tif"),
           nb::arg("flags"), nb::arg("account"), nb::arg("symbol_id"))
      .def("visible_reports", [](const PyBacktester& b) { return b.st_.visible_reports(); })
      .def("pending_trades", [](const PyBacktester& b) { return b.st_.sim().trades.size(); })
      .def("touch", &PyBacktester::touch, nb::arg("symbol_id"))
      .def(
          "set_timer", [](PyBacktester& b, int64_t ts) { b.st_.set_timer(ts); }, nb::arg("ts"))
      .def("run_until", &PyBacktester::run_until, nb::arg("ts_limit"), nb::arg("wake_mask"),
           nb::arg("depth_levels"))
      .def("take_reports", &PyBacktester::take_reports)
      .def("take_trades", &PyBacktester::take_trades)
      .def("depth", &PyBacktester::depth, nb::arg("symbol_id"), nb::arg("levels"))
      .def("fill_book_update", &PyBacktester::fill_book_update, nb::arg("symbol_id"), nb::arg("ts"),
           nb::arg("row"))
      .def("now", [](const PyBacktester& b) { return b.st_.now(); })
      .def("cursor", [](const PyBacktester& b) { return b.st_.cursor(); })
      .def("finished", [](const PyBacktester& b) { return b.st_.finished(); })
      .def(
          "position", [](const PyBacktester& b, uint32_t s) { return b.st_.sim().position(s); },
          nb::arg("symbol_id"))
      .def(
          "cash", [](const PyBacktester& b, uint32_t s) { return b.st_.sim().cash(s); },
          nb::arg("symbol_id"))
      .def(
          "open_qty",
          [](const PyBacktester& b, uint32_t s, uint64_t id) {
            return b.st_.sim().open_qty(s, id);
          },
          nb::arg("symbol_id"), nb::arg("order_id"))
      .def(
          "queue_ahead",
          [](const PyBacktester& b, uint32_t s, uint64_t id) {
            return b.st_.sim().queue_ahead(s, id);
          },
          nb::arg("symbol_id"), nb::arg("order_id"))
      .def("counters", &PyBacktester::counters);

  m.def(
      "backtest_simulate",
      [](const Bytes& events, const Bytes& commands, const nb::dict& cfg,
         const std::optional<Row>& seed_row, const std::optional<Rows>& truth) {
        std::vector<MdEvent> ev = checked_events(events);
        auto [c, m] = records<OrderCommand>(commands, "commands");
        FillConfig fc = config_of(cfg);
        auto [row, levels] = seed_row_of(seed_row);
        if (truth && !row) throw nb::value_error("truth needs seed_row");
        const int64_t* tr = truth_of(truth, ev.size(), levels);
        std::vector<ExecReport> r;
        std::vector<ReportExtra> x;
        {
          nb::gil_scoped_release unlocked;
          simulate(ev.data(), ev.size(), c, m, fc, row, levels, tr, r, x);
        }
        return std::make_pair(to_numpy(r), to_numpy(x));
      },
      nb::arg("events"), nb::arg("commands"), nb::arg("config"), nb::arg("seed_row").none(),
      nb::arg("truth").none());

  // Wall time of the whole C++ loop (seeding, stepping, strategy) with steady_clock: a benchmark,
  // not core logic.
  m.def(
      "bench_quote_touch",
      [](const Bytes& events, const nb::dict& cfg, const std::optional<Row>& seed_row,
         const std::optional<Rows>& truth, int64_t size) {
        if (size <= 0) throw nb::value_error("bench_quote_touch: size must be > 0");
        std::vector<MdEvent> ev = checked_events(events);
        if (ev.empty()) throw nb::value_error("bench_quote_touch: no events");
        FillConfig fc = config_of(cfg);
        fc.record_trades = false;
        auto [row, levels] = seed_row_of(seed_row);
        if (truth && !row) throw nb::value_error("truth needs seed_row");
        const int64_t* tr = truth_of(truth, ev.size(), levels);
        const size_t n = ev.size();
        const SymbolId symbol = ev[0].symbol_id;
        std::vector<ExecReport> r;
        std::vector<ReportExtra> x;
        QuoteTouchResult res;
        double seconds = 0;
        {
          nb::gil_scoped_release unlocked;
          auto t0 = std::chrono::steady_clock::now();
          BacktestStepper st(std::move(ev), fc);
          if (row != nullptr) st.seed_lobster(row, levels);
          if (tr != nullptr) st.set_lobster_truth_view(tr, levels);  // the array outlives st
          res = run_quote_touch(st, symbol, size, r, x);
          seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        }
        nb::dict d;
        d["events"] = n;
        d["seconds"] = seconds;
        d["events_per_s"] = seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
        d["wakes"] = res.wakes;
        d["orders"] = res.orders;
        d["cancels"] = res.cancels;
        d["fills"] = res.fills;
        d["filled_qty"] = res.filled_qty;
        d["position"] = res.position;
        d["cash"] = res.cash;
        d["fees_e4"] = res.fees_e4;
        d["reports"] = to_numpy(r);
        d["extras"] = to_numpy(x);
        return d;
      },
      nb::arg("events"), nb::arg("config"), nb::arg("seed_row").none(), nb::arg("truth").none(),
      nb::arg("size") = 100);
}

}  // namespace minihft::py
