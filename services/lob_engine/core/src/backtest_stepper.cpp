#include "minihft/lob/backtest_stepper.hpp"

#include <algorithm>
#include <numeric>
#include <utility>

#include "minihft/lob/book_builder.hpp"
#include "minihft/lob/lobster_replay.hpp"

namespace minihft {

BacktestStepper::BacktestStepper(std::vector<MdEvent> events, const FillConfig& cfg)
    : ev_(std::move(events)),
      sim_(cfg),
      rng_order_(cfg.seed ^ 0x6f72646572000001ULL),
      rng_cancel_(cfg.seed ^ 0x63616e63656c0002ULL),
      rng_report_(cfg.seed ^ 0x7265706f72740003ULL) {}

void BacktestStepper::seed_lobster(const int64_t* row0, size_t levels) {
  if (ev_.empty() || levels == 0) return;
  snap_fresh_ = false;
  sim_.seed(ev_[0].symbol_id, lobster_seed_levels(ev_[0], row0, levels), ev_[0].ts_event);
}

void BacktestStepper::set_lobster_truth(const int64_t* rows, size_t levels) {
  truth_levels_ = rows == nullptr ? 0 : levels;
  truth_.assign(rows, rows == nullptr ? rows : rows + ev_.size() * levels * kDepthCols);
  truth_rows_ = rows == nullptr ? nullptr : truth_.data();
}

void BacktestStepper::set_lobster_truth_view(const int64_t* rows, size_t levels) {
  truth_levels_ = rows == nullptr ? 0 : levels;
  truth_.clear();
  truth_rows_ = rows;
}

BacktestStepper::AppendResult BacktestStepper::append_events(const MdEvent* events, size_t n,
                                                             const int64_t* truth, size_t levels) {
  if (n == 0) return AppendResult::Ok;
  Nanos last = ev_.empty() ? std::numeric_limits<Nanos>::min() : ev_.back().ts_event;
  for (size_t k = 0; k < n; ++k) {
    if (events[k].ts_event < last) return AppendResult::OutOfOrder;
    last = events[k].ts_event;
  }
  const bool first = ev_.empty();
  const bool had_truth = truth_levels_ != 0;
  if (truth != nullptr &&
      (levels == 0 || (had_truth && levels != truth_levels_) || (!had_truth && !first))) {
    return AppendResult::TruthMismatch;
  }
  if (truth == nullptr && had_truth) return AppendResult::TruthMismatch;
  const size_t at = ev_.size();
  ev_.insert(ev_.end(), events, events + n);
  if (truth != nullptr) {
    truth_levels_ = levels;
    if (had_truth && truth_rows_ != truth_.data()) {  // a view so far: own it before growing
      truth_.assign(truth_rows_, truth_rows_ + at * levels * kDepthCols);
    }
    truth_.insert(truth_.end(), truth, truth + n * levels * kDepthCols);
    truth_rows_ = truth_.data();
    if (first) {
      snap_fresh_ = false;
      sim_.seed(ev_[at].symbol_id, lobster_seed_levels(ev_[at], truth, levels), ev_[at].ts_event);
    }
  }
  return AppendResult::Ok;
}

void BacktestStepper::enqueue(const OrderCommand& c) {
  const FillConfig& cfg = sim_.config();
  const Nanos issue = std::max(c.ts, now_);
  const bool is_cancel = c.type == static_cast<uint8_t>(CommandType::CancelOrder);
  const Nanos lat = is_cancel ? cfg.cancel_latency_ns + rng_cancel_.jitter(cfg.cancel_jitter_ns)
                              : cfg.order_latency_ns + rng_order_.jitter(cfg.order_jitter_ns);
  const Nanos at = std::max(issue + lat, last_arrival_);
  last_arrival_ = at;
  OrderCommand cmd = c;
  cmd.ts = issue;
  arrivals_.push_back(Arrival{at, cmd});
}

void BacktestStepper::queue_reports() {
  auto& r = sim_.reports;
  auto& x = sim_.extras;
  const FillConfig& cfg = sim_.config();
  for (size_t k = 0; k < r.size(); ++k) {
    const Nanos seen =
        std::max(x[k].ts_venue + cfg.report_latency_ns + rng_report_.jitter(cfg.report_jitter_ns),
                 last_visible_);
    last_visible_ = seen;
    ExecReport rep = r[k];
    rep.ts = seen;
    inflight_.push_back(Inflight{rep, x[k]});
  }
  r.clear();
  x.clear();
}

namespace {

// True when the top `levels` of `b` (null = empty) are `row`, in write_depth_row's layout. Runs
// per event twice (truth and wake checks): reads the levels in place and stops at the first
// difference instead of writing a row and comparing it.
bool depth_equals(const OrderBook* b, size_t levels, const int64_t* row) {
  for (const Side s : {Side::Sell, Side::Buy}) {
    const size_t col = s == Side::Sell ? 0 : 2;
    const size_t n = b != nullptr ? std::min(b->level_count(s), levels) : 0;
    size_t i = 0;
    for (; i < n; ++i) {
      const OrderBook::Level& l = b->level(s, i);
      if (l.price != row[i * kDepthCols + col] || l.qty != row[i * kDepthCols + col + 1]) {
        return false;
      }
    }
    for (; i < levels; ++i) {
      if ((row[i * kDepthCols + col] | row[i * kDepthCols + col + 1]) != 0) return false;
    }
  }
  return true;
}

}  // namespace

bool BacktestStepper::top_changed(SymbolId s, size_t levels) {
  if (levels == 0) return false;
  if (s >= snap_.size()) snap_.resize(s + 1);
  std::vector<int64_t>& last = snap_[s];
  // A symbol not looked at yet had an empty book as far as the caller knows.
  if (last.size() != levels * kDepthCols) last.assign(levels * kDepthCols, 0);
  const OrderBook* b = sim_.book(s);
  if (levels == 1) {  // the usual subscription: the touch only
    const OrderBook::Level* ask = b != nullptr ? b->best(Side::Sell) : nullptr;
    const OrderBook::Level* bid = b != nullptr ? b->best(Side::Buy) : nullptr;
    const int64_t now[kDepthCols] = {ask ? ask->price : 0, ask ? ask->qty : 0, bid ? bid->price : 0,
                                     bid ? bid->qty : 0};
    if (std::equal(now, now + kDepthCols, last.data())) return false;
    std::copy(now, now + kDepthCols, last.data());
    return true;
  }
  if (depth_equals(b, levels, last.data())) return false;
  write_depth_row(b, levels, last.data());
  return true;
}

void BacktestStepper::check_truth(const MdEvent& e) {
  const size_t w = truth_levels_ * kDepthCols;
  const int64_t* cur = truth_rows_ + i_ * w;
  if (!depth_equals(sim_.book(e.symbol_id), truth_levels_, cur)) {
    sim_.reconcile(e.symbol_id, i_ == 0 ? cur : cur - w, cur, truth_levels_, e.ts_event);
  }
}

uint32_t BacktestStepper::run_until(Nanos ts_limit, uint32_t wake_mask, size_t depth_levels) {
  const bool want_book = (wake_mask & kWakeBook) != 0 && depth_levels > 0;
  if (want_book && !(snap_fresh_ && snap_levels_ == depth_levels)) {
    // What the caller sees now is the baseline: only later changes wake it.
    for (SymbolId s = 0; s < snap_.size(); ++s) top_changed(s, depth_levels);
  }
  // Returning with want_book leaves snap_ current (every event and arrival below is checked).
  snap_fresh_ = want_book;
  snap_levels_ = depth_levels;
  while (true) {
    const Nanos te = i_ < ev_.size() ? ev_[i_].ts_event : kNever;
    const Nanos ta = arrivals_.empty() ? kNever : arrivals_.front().at;
    const Nanos tr = inflight_.empty() ? kNever : inflight_.front().report.ts;
    const Nanos tt = timers_.empty() ? kNever : timers_.top();
    const Nanos t = std::min({te, ta, tr, tt});
    if (t == kNever) return kWakeEnd;
    if (t > ts_limit) {
      now_ = std::max(now_, ts_limit);
      return kWakeLimit;
    }
    now_ = std::max(now_, t);
    uint32_t woke = 0;
    if (te == t) {
      const MdEvent& e = ev_[i_];
      const size_t trades_before = sim_.trades.size();
      sim_.apply(e, static_cast<int64_t>(i_));
      if (truth_levels_ != 0) check_truth(e);
      ++i_;
      flush_reports();
      if (sim_.trades.size() != trades_before) woke |= kWakeTrade;
      if (want_book && top_changed(e.symbol_id, depth_levels)) woke |= kWakeBook;
    } else if (ta == t) {
      const OrderCommand c = arrivals_.front().cmd;
      arrivals_.pop_front();
      sim_.arrive(c, t);
      flush_reports();
      if (want_book && top_changed(c.symbol_id, depth_levels)) woke |= kWakeBook;
    } else if (tr == t) {
      visible_.push_back(inflight_.front().report);
      visible_extra_.push_back(inflight_.front().extra);
      inflight_.pop_front();
      woke |= kWakeReport;
    } else {
      timers_.pop();
      woke |= kWakeTimer;
    }
    woke &= wake_mask;
    if (woke != 0) return woke;
  }
}

void BacktestStepper::take_reports(std::vector<ExecReport>& out, std::vector<ReportExtra>& extra) {
  out.insert(out.end(), visible_.begin(), visible_.end());
  extra.insert(extra.end(), visible_extra_.begin(), visible_extra_.end());
  visible_.clear();
  visible_extra_.clear();
}

void BacktestStepper::take_trades(std::vector<TradePrint>& out) {
  out.insert(out.end(), sim_.trades.begin(), sim_.trades.end());
  sim_.trades.clear();
}

void simulate(const MdEvent* events, size_t n, const OrderCommand* commands, size_t m,
              const FillConfig& cfg, const int64_t* seed_row, size_t seed_levels,
              const int64_t* truth, std::vector<ExecReport>& reports,
              std::vector<ReportExtra>& extras) {
  FillConfig c = cfg;
  c.record_trades = false;
  BacktestStepper st(std::vector<MdEvent>(events, events + n), c);
  if (seed_row != nullptr) st.seed_lobster(seed_row, seed_levels);
  if (truth != nullptr) st.set_lobster_truth(truth, seed_levels);
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return commands[a].ts < commands[b].ts; });
  for (size_t k : order) {
    st.run_until(commands[k].ts, 0, 0);
    st.enqueue(commands[k]);
  }
  st.run_until(kNever, 0, 0);
  st.take_reports(reports, extras);
}

QuoteTouchResult run_quote_touch(BacktestStepper& st, SymbolId symbol, Qty size,
                                 std::vector<ExecReport>& reports,
                                 std::vector<ReportExtra>& extras) {
  QuoteTouchResult res;
  const BacktestStepper& view = st;  // reads keep the Book wake baseline (sim())
  struct Quote {
    OrderId id = 0;
    Price px = 0;
    Price rejected_px = 0;  // not retried at this price: a reject would only repeat
  } q[2];
  OrderId next_id = 1;
  size_t seen = reports.size();
  while (true) {
    const uint32_t w = st.run_until(kNever, kWakeBook | kWakeReport, 1);
    ++res.wakes;
    st.take_reports(reports, extras);
    for (; seen < reports.size(); ++seen) {
      const ExecReport& r = reports[seen];
      const auto type = static_cast<ExecType>(r.type);
      if (type == ExecType::OrderFilled) {
        ++res.fills;
        res.filled_qty += r.qty;
        res.fees_e4 += extras[seen].fee_e4;
      }
      const bool gone = (type == ExecType::OrderFilled && r.leaves_qty == 0) ||
                        type == ExecType::OrderCancelled || type == ExecType::OrderRejected;
      for (Quote& x : q) {
        if (!gone || x.id != r.order_id) continue;
        if (type == ExecType::OrderRejected) x.rejected_px = x.px;
        x.id = 0;
      }
    }
    if ((w & kWakeEnd) != 0) break;
    const OrderBook* book = view.sim().book(symbol);
    if (book == nullptr) continue;
    const OrderBook::Level* bid = book->best(Side::Buy);
    const OrderBook::Level* ask = book->best(Side::Sell);
    if (bid != nullptr && ask != nullptr && bid->price >= ask->price) continue;  // no touch to join
    for (Side s : {Side::Buy, Side::Sell}) {
      const OrderBook::Level* best = s == Side::Buy ? bid : ask;
      Quote& x = q[static_cast<size_t>(s)];
      if (best == nullptr || (x.id != 0 && x.px == best->price)) continue;
      if (x.id == 0 && x.rejected_px == best->price) continue;
      OrderCommand c{};
      c.ts = st.now();
      c.symbol_id = symbol;
      c.account = 1;
      c.side = static_cast<uint8_t>(s);
      if (x.id != 0) {
        c.type = static_cast<uint8_t>(CommandType::CancelOrder);
        c.order_id = x.id;
        st.enqueue(c);
        ++res.cancels;
      }
      c.type = static_cast<uint8_t>(CommandType::SubmitOrder);
      c.order_id = next_id++;
      c.price = best->price;
      c.qty = size;
      c.order_type = static_cast<uint8_t>(OrderType::Limit);
      c.tif = static_cast<uint8_t>(TimeInForce::Day);
      st.enqueue(c);
      ++res.orders;
      x = Quote{c.order_id, c.price, 0};
    }
  }
  res.position = view.sim().position(symbol);
  res.cash = view.sim().cash(symbol);
  return res;
}

}  // namespace minihft
