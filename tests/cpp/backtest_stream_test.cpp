// Streamed events (BacktestStepper::append_events): a stepper fed batch by batch, with each batch
// appended before time passes its first event, must produce the same reports, byte for byte, as
// one built with every event up front. The Kafka lock-step backtest relies on this.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "minihft/lob/backtest_stepper.hpp"

namespace minihft {
namespace {

MdEvent event(MdEventType t, Nanos ts, OrderId id, Side s, Price px, Qty q) {
  MdEvent e{};
  e.ts_event = e.ts_recv = ts;
  e.order_id = id;
  e.price = px;
  e.qty = q;
  e.type = static_cast<uint8_t>(t);
  e.side = static_cast<uint8_t>(s);
  return e;
}

OrderCommand submit(Nanos ts, OrderId id, Side s, Price px, Qty q) {
  OrderCommand c{};
  c.ts = ts;
  c.order_id = id;
  c.price = px;
  c.qty = q;
  c.account = 1;
  c.type = static_cast<uint8_t>(CommandType::SubmitOrder);
  c.side = static_cast<uint8_t>(s);
  c.order_type = static_cast<uint8_t>(OrderType::Limit);
  c.tif = static_cast<uint8_t>(TimeInForce::Day);
  return c;
}

// Two-sided flow with executions on both sides, so resting orders of ours get filled.
std::vector<MdEvent> flow() {
  std::vector<MdEvent> e;
  for (int i = 0; i < 300; ++i) {
    const Side s = i % 2 ? Side::Sell : Side::Buy;
    e.push_back(event(MdEventType::Add, i * 100, 1000 + i, s, s == Side::Buy ? 100 : 101, 10));
    if (i > 4) {
      const Side o = (i - 4) % 2 ? Side::Sell : Side::Buy;
      e.push_back(event(MdEventType::Execute, i * 100 + 40, 1000 + i - 4, o, 0, 10));
    }
  }
  return e;
}

struct Out {
  std::vector<ExecReport> r;
  std::vector<ReportExtra> x;
  std::vector<uint32_t> wakes;
};

// The strategy: at every wake-up before t=20000, one order on alternating sides at the touch.
void drive(BacktestStepper& st, Out& out, const std::vector<MdEvent>* stream, size_t batch) {
  size_t fed = 0;
  auto feed_past = [&](Nanos limit) {
    if (stream == nullptr) return;
    while (fed < stream->size() && (fed == 0 || (*stream)[fed - 1].ts_event <= limit)) {
      const size_t n = std::min(batch, stream->size() - fed);
      ASSERT_EQ(st.append_events(stream->data() + fed, n, nullptr, 0),
                BacktestStepper::AppendResult::Ok);
      fed += n;
    }
  };
  OrderId next = 1;
  Nanos limit = 0;
  for (int k = 0; k < 10000; ++k) {
    limit += 250;
    feed_past(limit);
    const uint32_t w = st.run_until(limit, kWakeBook | kWakeReport | kWakeTrade, 1);
    out.wakes.push_back(w);
    st.take_reports(out.r, out.x);
    if ((w & kWakeEnd) != 0) break;
    if (st.now() < 20000) {
      const Side s = next % 2 ? Side::Buy : Side::Sell;
      st.enqueue(submit(st.now(), next++, s, s == Side::Buy ? 100 : 101, 3));
    }
  }
}

TEST(BacktestStream, BatchByBatchEqualsPreloaded) {
  FillConfig cfg;
  cfg.order_latency_ns = 70;
  cfg.order_jitter_ns = 30;
  cfg.report_latency_ns = 20;
  cfg.seed = 5;
  const std::vector<MdEvent> e = flow();
  Out whole;
  {
    BacktestStepper st(e, cfg);
    drive(st, whole, nullptr, 0);
  }
  ASSERT_GT(whole.r.size(), 50u);
  for (size_t batch : {size_t{1}, size_t{7}, size_t{64}}) {
    BacktestStepper st({}, cfg);
    Out streamed;
    drive(st, streamed, &e, batch);
    ASSERT_EQ(streamed.r.size(), whole.r.size()) << "batch " << batch;
    EXPECT_EQ(std::memcmp(streamed.r.data(), whole.r.data(), whole.r.size() * sizeof(ExecReport)),
              0);
    EXPECT_EQ(std::memcmp(streamed.x.data(), whole.x.data(), whole.x.size() * sizeof(ReportExtra)),
              0);
    EXPECT_EQ(streamed.wakes, whole.wakes) << "batch " << batch;
  }
}

// Truth rows streamed with the events seed the book like seed_lobster + set_lobster_truth.
TEST(BacktestStream, TruthSeedsAndReconcilesLikePreloaded) {
  // Row 1 shows the book after message 1 (add id 5 x 20 at bid 100): 100 x 70, so 50 was there
  // before. Message 3 deletes the only ask we know, and row 3 reveals 106 x 40 behind it, a
  // level no message named.
  const std::vector<MdEvent> e = {event(MdEventType::Add, 1, 5, Side::Buy, 100, 20),
                                  event(MdEventType::Add, 2, 8, Side::Sell, 105, 10),
                                  event(MdEventType::Delete, 3, 8, Side::Sell, 105, 10)};
  const int64_t rows[3][4] = {{0, 0, 100, 70}, {105, 10, 100, 70}, {106, 40, 100, 70}};
  BacktestStepper pre(e, FillConfig{});
  pre.seed_lobster(rows[0], 1);
  pre.set_lobster_truth(&rows[0][0], 1);
  pre.run_until(kNever, 0, 0);
  BacktestStepper streamed({}, FillConfig{});
  ASSERT_EQ(streamed.append_events(&e[0], 1, &rows[0][0], 1), BacktestStepper::AppendResult::Ok);
  ASSERT_EQ(streamed.append_events(&e[1], 2, &rows[1][0], 1), BacktestStepper::AppendResult::Ok);
  streamed.run_until(kNever, 0, 0);
  for (const BacktestStepper* st : {&pre, &streamed}) {
    EXPECT_EQ(st->sim().book(0)->best(Side::Buy)->qty, 70);
    ASSERT_NE(st->sim().book(0)->best(Side::Sell), nullptr);
    EXPECT_EQ(st->sim().book(0)->best(Side::Sell)->price, 106);
    EXPECT_EQ(st->sim().book(0)->best(Side::Sell)->qty, 40);
  }
}

TEST(BacktestStream, RejectsTimeTravelAndInconsistentTruth) {
  using R = BacktestStepper::AppendResult;
  const MdEvent a = event(MdEventType::Add, 10, 1, Side::Buy, 100, 5);
  const MdEvent earlier = event(MdEventType::Add, 9, 2, Side::Buy, 100, 5);
  const int64_t row[4] = {0, 0, 100, 5};
  BacktestStepper st({}, FillConfig{});
  ASSERT_EQ(st.append_events(&a, 1, nullptr, 0), R::Ok);
  EXPECT_EQ(st.append_events(&earlier, 1, nullptr, 0), R::OutOfOrder);
  EXPECT_EQ(st.append_events(&a, 1, row, 1), R::TruthMismatch);  // truth only from the start
  EXPECT_EQ(st.n_events(), 1u);                                  // nothing half-appended
  BacktestStepper with_truth({}, FillConfig{});
  ASSERT_EQ(with_truth.append_events(&a, 1, row, 1), R::Ok);
  EXPECT_EQ(with_truth.append_events(&a, 1, nullptr, 0), R::TruthMismatch);
  EXPECT_EQ(with_truth.append_events(&a, 1, row, 2), R::TruthMismatch);
  EXPECT_EQ(with_truth.n_events(), 1u);
}

}  // namespace
}  // namespace minihft
