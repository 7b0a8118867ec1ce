// Event-driven backtest loop around FillSimulator: owns the historical events (one or several
// symbols, sorted by ts_event), delays our commands and reports by the configured latencies, and
// returns to the caller (a Python strategy) only when something it subscribed to happens.
//
// Latency. Submit and replace reach the venue after order_latency + U[0, order_jitter], cancels
// after cancel_latency + U[0, cancel_jitter]; each report is seen report_latency +
// U[0, report_jitter] after it happened. The jitter comes from splitmix64 streams seeded from
// `seed`, drawn in command order, so a run is reproducible byte for byte. Orders travel one
// session (TCP): arrivals keep the order of issue, and so do reports (a draw that would overtake
// the previous one waits for it). A command is issued at max(command ts, now()).
//
// Time order. At one timestamp, historical events come first, then our arrivals (an order
// stamped at the same ns as a venue event arrives after it), then reports becoming visible, then
// timers. Market data reaches the strategy with no delay (depth(), trades at venue time).
//
// Wake bits: a historical event or our arrival changed the top `depth_levels` levels of that
// symbol's book (Book), the tape printed (Trade), a report became visible (Report), a timer fired
// (Timer). run_until also stops at ts_limit (Limit; now() = ts_limit) and when nothing is left
// (End). The return value is the OR of the bits that stopped it.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <queue>
#include <vector>

#include "minihft/lob/fill_simulator.hpp"
#include "minihft/lob/types.hpp"

namespace minihft {

enum WakeBits : uint32_t {
  kWakeBook = 1,
  kWakeTrade = 2,
  kWakeReport = 4,
  kWakeTimer = 8,
  kWakeLimit = 16,
  kWakeEnd = 32,
};

constexpr Nanos kNever = std::numeric_limits<Nanos>::max();

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, span] (span >= 0); modulo bias is below 2^-40 for spans under a second.
  Nanos jitter(Nanos span) {
    return span <= 0 ? 0 : static_cast<Nanos>(next() % (static_cast<uint64_t>(span) + 1));
  }

 private:
  uint64_t s_;
};

class BacktestStepper {
 public:
  BacktestStepper(std::vector<MdEvent> events, const FillConfig& cfg);
  BacktestStepper(const BacktestStepper&) = delete;
  BacktestStepper& operator=(const BacktestStepper&) = delete;

  // Seeds the symbol of the first event from LOBSTER orderbook row 1 (`levels` x 4, empty = 0).
  void seed_lobster(const int64_t* row0, size_t levels);
  // LOBSTER orderbook rows aligned with the events (n x levels x 4, empty = 0), copied: after
  // each event the depth the file reveals beyond its previous window is written in
  // (FillSimulator::reconcile). Without it, levels that were deeper than the file's window at the
  // start stay unknown when the touch moves onto them.
  void set_lobster_truth(const int64_t* rows, size_t levels);
  // The same, read in place (no copy of n x levels x 4 int64): `rows` must stay valid while
  // events are applied. A later append_events with truth copies them first.
  void set_lobster_truth_view(const int64_t* rows, size_t levels);

  // Events arriving after construction (a replay streamed over a bus). The caller must append
  // every event up to ts T, plus one later event or the end of the data, before run_until(T):
  // the loop takes "no next event" to mean the data has ended. `truth` (may be null): their
  // LOBSTER orderbook rows, `levels` x 4 each; a stream with truth must carry it on every append,
  // and the first such append seeds the book from its first row, as seed_lobster does.
  enum class AppendResult : uint8_t { Ok, OutOfOrder, TruthMismatch };
  AppendResult append_events(const MdEvent* events, size_t n, const int64_t* truth, size_t levels);

  // Submit, cancel or replace (by c.type), issued now, reaching the venue after its latency.
  void enqueue(const OrderCommand& c);
  void set_timer(Nanos ts) { timers_.push(ts); }

  uint32_t run_until(Nanos ts_limit, uint32_t wake_mask, size_t depth_levels);

  Nanos now() const { return now_; }
  size_t cursor() const { return i_; }  // historical events applied so far
  size_t n_events() const { return ev_.size(); }
  bool finished() const {
    return i_ == ev_.size() && arrivals_.empty() && inflight_.empty() && timers_.empty();
  }

  // Reports seen by now and not yet taken.
  size_t visible_reports() const { return visible_.size(); }
  // Reports seen by now (ts = when seen), with their extras; appended to the outputs.
  void take_reports(std::vector<ExecReport>& out, std::vector<ReportExtra>& extra);
  void take_trades(std::vector<TradePrint>& out);

  // Mutable access may change the book behind the Book wake's baseline: it is taken afresh.
  FillSimulator& sim() {
    snap_fresh_ = false;
    return sim_;
  }
  const FillSimulator& sim() const { return sim_; }

 private:
  struct Arrival {
    Nanos at;
    OrderCommand cmd;
  };
  struct Inflight {
    ExecReport report;
    ReportExtra extra;
  };

  void flush_reports() {
    if (!sim_.reports.empty()) queue_reports();
  }
  void queue_reports();
  bool top_changed(SymbolId s, size_t levels);
  void check_truth(const MdEvent& e);

  std::vector<MdEvent> ev_;
  size_t i_ = 0;
  FillSimulator sim_;
  std::deque<Arrival> arrivals_;
  std::deque<Inflight> inflight_;
  std::vector<ExecReport> visible_;
  std::vector<ReportExtra> visible_extra_;
  std::priority_queue<Nanos, std::vector<Nanos>, std::greater<Nanos>> timers_;
  std::vector<std::vector<int64_t>> snap_;  // per symbol: last top-N seen by the caller
  // snap_ is every book's top snap_levels_ as it is now: the last run_until checked every change.
  bool snap_fresh_ = false;
  size_t snap_levels_ = 0;
  std::vector<int64_t> truth_;           // owned rows (set_lobster_truth, append_events)
  const int64_t* truth_rows_ = nullptr;  // truth_.data() or the caller's rows (view)
  size_t truth_levels_ = 0;
  SplitMix64 rng_order_, rng_cancel_, rng_report_;
  Nanos now_ = 0;
  Nanos last_arrival_ = std::numeric_limits<Nanos>::min();
  Nanos last_visible_ = std::numeric_limits<Nanos>::min();
};

// Non-reactive run: commands issued at their own ts (stable-sorted by ts), everything run to the
// end; every report in the order seen. seed_row may be null (no seeding).
// truth (may be null): LOBSTER rows for set_lobster_truth, n x seed_levels x 4.
void simulate(const MdEvent* events, size_t n, const OrderCommand* commands, size_t m,
              const FillConfig& cfg, const int64_t* seed_row, size_t seed_levels,
              const int64_t* truth, std::vector<ExecReport>& reports,
              std::vector<ReportExtra>& extras);

// Benchmark strategy, all in C++: quote `size` at the venue best bid and best ask of `symbol`,
// re-peg (cancel + new order) whenever the touch moves away from our quote.
struct QuoteTouchResult {
  uint64_t wakes = 0;
  uint64_t orders = 0;
  uint64_t cancels = 0;
  uint64_t fills = 0;
  Qty filled_qty = 0;
  Qty position = 0;
  int64_t cash = 0;     // ticks
  int64_t fees_e4 = 0;  // 1e-4 ticks
};
QuoteTouchResult run_quote_touch(BacktestStepper& st, SymbolId symbol, Qty size,
                                 std::vector<ExecReport>& reports,
                                 std::vector<ReportExtra>& extras);

}  // namespace minihft
