// Hand-checked fill-simulation scenarios: each expected number is worked out in the comment above
// it from the rules in fill_simulator.hpp. Sides: Buy = 0, Sell = 1; prices in ticks.
#include "minihft/lob/fill_simulator.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "minihft/lob/backtest_stepper.hpp"

namespace minihft {
namespace {

constexpr auto B = Side::Buy;
constexpr auto S = Side::Sell;

MdEvent ev(MdEventType t, Nanos ts, OrderId id, Side side, Price px, Qty qty) {
  MdEvent e{};
  e.ts_event = ts;
  e.ts_recv = ts;
  e.order_id = id;
  e.price = px;
  e.qty = qty;
  e.type = static_cast<uint8_t>(t);
  e.side = static_cast<uint8_t>(side);
  return e;
}
MdEvent add(Nanos ts, OrderId id, Side s, Price px, Qty q) {
  return ev(MdEventType::Add, ts, id, s, px, q);
}
MdEvent exe(Nanos ts, OrderId id, Side s, Price px, Qty q) {
  return ev(MdEventType::Execute, ts, id, s, px, q);
}
MdEvent cxl(Nanos ts, OrderId id, Side s, Price px, Qty q) {
  return ev(MdEventType::Cancel, ts, id, s, px, q);
}
MdEvent del(Nanos ts, OrderId id, Side s, Price px, Qty q) {
  return ev(MdEventType::Delete, ts, id, s, px, q);
}

OrderCommand cmd(CommandType t, Nanos ts, OrderId id, Side s, Price px, Qty q,
                 TimeInForce tif = TimeInForce::Day, OrderType ot = OrderType::Limit) {
  OrderCommand c{};
  c.ts = ts;
  c.order_id = id;
  c.price = px;
  c.qty = q;
  c.account = 7;
  c.type = static_cast<uint8_t>(t);
  c.side = static_cast<uint8_t>(s);
  c.order_type = static_cast<uint8_t>(ot);
  c.tif = static_cast<uint8_t>(tif);
  return c;
}
OrderCommand sub(Nanos ts, OrderId id, Side s, Price px, Qty q,
                 TimeInForce tif = TimeInForce::Day) {
  return cmd(CommandType::SubmitOrder, ts, id, s, px, q, tif);
}
OrderCommand cancel(Nanos ts, OrderId id) { return cmd(CommandType::CancelOrder, ts, id, B, 0, 0); }

struct SimRun {
  std::vector<ExecReport> r;
  std::vector<ReportExtra> x;
  std::vector<size_t> fills() const {
    std::vector<size_t> out;
    for (size_t i = 0; i < r.size(); ++i) {
      if (r[i].type == static_cast<uint8_t>(ExecType::OrderFilled)) out.push_back(i);
    }
    return out;
  }
  Qty filled() const {
    Qty q = 0;
    for (size_t i : fills()) q += r[i].qty;
    return q;
  }
};

SimRun run(const std::vector<MdEvent>& events, const std::vector<OrderCommand>& cmds,
           FillConfig cfg = {}) {
  SimRun out;
  simulate(events.data(), events.size(), cmds.data(), cmds.size(), cfg, nullptr, 0, nullptr, out.r,
           out.x);
  return out;
}

// Orders ahead that cancel move us up; orders ahead that execute move us up without filling us.
// Bid 100: A 50, B 30, then our 20 arrives at t=3 -> ahead = 80. t=4 A deleted -> 30; t=5 B
// cancels 10 -> 20; t=6 B executes 20 (ahead of us: no fill) -> 0, we are first.
TEST(FillSimulator, QueueAheadCancelsAndExecutesMoveUsUp) {
  std::vector<MdEvent> e = {add(1, 1, B, 100, 50), add(2, 2, B, 100, 30), del(4, 1, B, 100, 50),
                            cxl(5, 2, B, 100, 10), exe(6, 2, B, 100, 20)};
  BacktestStepper st(e, FillConfig{});
  st.run_until(3, 0, 0);
  st.enqueue(sub(3, 9, B, 100, 20));
  st.run_until(3, 0, 0);
  EXPECT_EQ(st.sim().queue_ahead(0, 9), 80);
  st.run_until(4, 0, 0);
  EXPECT_EQ(st.sim().queue_ahead(0, 9), 30);
  st.run_until(5, 0, 0);
  EXPECT_EQ(st.sim().queue_ahead(0, 9), 20);
  st.run_until(6, 0, 0);
  EXPECT_EQ(st.sim().queue_ahead(0, 9), 0);
  EXPECT_EQ(st.sim().open_qty(0, 9), 20);  // B's execution was ahead of us: no fill
  EXPECT_EQ(st.sim().position(0), 0);
}

// Our buy 100 x 20 joins behind A (50). C (40) joins behind us. t=4 C executes 15: a FIFO venue
// would have filled us first -> fill 15 at 100, leaves 5, md_index 2, contra C. t=5 C executes 25
// -> fill min(25, 5) = 5, leaves 0. A never traded, so no other fill. Total 20.
TEST(FillSimulator, OrderBehindUsExecutedFillsUs) {
  std::vector<MdEvent> e = {add(1, 1, B, 100, 50), add(3, 3, B, 100, 40), exe(4, 3, B, 100, 15),
                            exe(5, 3, B, 100, 25)};
  SimRun o = run(e, {sub(2, 9, B, 100, 20)});
  auto f = o.fills();
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(o.r[f[0]].qty, 15);
  EXPECT_EQ(o.r[f[0]].leaves_qty, 5);
  EXPECT_EQ(o.r[f[0]].price, 100);
  EXPECT_EQ(o.r[f[0]].contra_order_id, 3u);
  EXPECT_EQ(o.x[f[0]].md_index, 2);
  EXPECT_EQ(o.x[f[0]].cause, static_cast<uint8_t>(FillCause::QueueBehind));
  EXPECT_EQ(o.r[f[0]].liquidity, static_cast<uint8_t>(Liquidity::Maker));
  EXPECT_EQ(o.r[f[1]].qty, 5);
  EXPECT_EQ(o.r[f[1]].leaves_qty, 0);
  EXPECT_EQ(o.x[f[1]].md_index, 3);
}

// Bid A 100 x 50, ask 102. Our buy 101 x 30 rests inside the spread. t=3 A executes 20 at 100:
// the seller traded through 101 -> fill 20 at OUR price 101 (TradeThrough), leaves 10. t=4 A
// executes 25 -> fill min(25, 10) = 10.
TEST(FillSimulator, TradeThroughFillsPartiallyAtOurPrice) {
  std::vector<MdEvent> e = {add(1, 1, B, 100, 50), add(1, 2, S, 102, 50), exe(3, 1, B, 100, 20),
                            exe(4, 1, B, 100, 25)};
  SimRun o = run(e, {sub(2, 9, B, 101, 30)});
  auto f = o.fills();
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(o.r[f[0]].qty, 20);
  EXPECT_EQ(o.r[f[0]].price, 101);
  EXPECT_EQ(o.r[f[0]].leaves_qty, 10);
  EXPECT_EQ(o.x[f[0]].cause, static_cast<uint8_t>(FillCause::TradeThrough));
  EXPECT_EQ(o.r[f[1]].qty, 10);
  EXPECT_EQ(o.r[f[1]].leaves_qty, 0);
}

// Asks: S1 101 x 10, S2 101 x 5 (behind S1), S3 102 x 20, S4 103 x 50. Our IOC buy 102 x 40 takes
// 10 @101 (S1), 5 @101 (S2), 20 @102 (S3) = 35; the other 5 are cancelled (NoLiquidity). The
// depth left shows 103 x 50 only.
TEST(FillSimulator, AggressiveSweepAcrossLevels) {
  std::vector<MdEvent> e = {add(1, 1, S, 101, 10), add(1, 2, S, 101, 5), add(1, 3, S, 102, 20),
                            add(1, 4, S, 103, 50)};
  BacktestStepper st(e, FillConfig{});
  st.run_until(1, 0, 0);
  st.enqueue(sub(2, 9, B, 102, 40, TimeInForce::IOC));
  st.run_until(kNever, 0, 0);
  std::vector<ExecReport> r;
  std::vector<ReportExtra> x;
  st.take_reports(r, x);
  ASSERT_EQ(r.size(), 5u);  // accepted, 3 fills, cancelled
  EXPECT_EQ(r[1].price, 101);
  EXPECT_EQ(r[1].qty, 10);
  EXPECT_EQ(r[1].contra_order_id, 1u);
  EXPECT_EQ(r[2].price, 101);
  EXPECT_EQ(r[2].qty, 5);
  EXPECT_EQ(r[3].price, 102);
  EXPECT_EQ(r[3].qty, 20);
  EXPECT_EQ(r[3].liquidity, static_cast<uint8_t>(Liquidity::Taker));
  EXPECT_EQ(r[4].type, static_cast<uint8_t>(ExecType::OrderCancelled));
  EXPECT_EQ(r[4].qty, 5);
  EXPECT_EQ(r[4].reason, static_cast<uint8_t>(ErrorCode::NoLiquidity));
  const OrderBook* b = st.sim().book(0);
  ASSERT_EQ(b->level_count(S), 1u);
  EXPECT_EQ(b->best(S)->price, 103);
  EXPECT_EQ(b->best(S)->qty, 50);
  EXPECT_EQ(st.sim().position(0), 35);
}

// Ask S1 102 x 10, bid 99. Our buy 102 x 6 takes 6 of S1 -> the book shows 102 x 4. Our sell 101
// x 5 then rests inside the spread. History: S1 executes 6 (t=5) -> all of it absorbed by what we
// took: no fill for anyone (else our sell at 101 would be traded through), book still 102 x 4.
// S1 executes 4 (t=6) -> nothing left to absorb: a real trade through 101 -> our sell fills 4.
TEST(FillSimulator, LiquidityTakenIsNotTakenAgain) {
  std::vector<MdEvent> e = {add(1, 1, S, 102, 10), add(1, 2, B, 99, 10), exe(5, 1, S, 102, 6),
                            exe(6, 1, S, 102, 4)};
  BacktestStepper st(e, FillConfig{});
  st.run_until(1, 0, 0);
  st.enqueue(sub(2, 8, B, 102, 6));
  st.run_until(2, 0, 0);
  EXPECT_EQ(st.sim().book(0)->best(S)->qty, 4);
  st.enqueue(sub(3, 9, S, 101, 5));
  st.run_until(5, 0, 0);
  EXPECT_EQ(st.sim().book(0)->best(S)->qty, 4);
  EXPECT_EQ(st.sim().open_qty(0, 9), 5);
  EXPECT_EQ(st.sim().counters().absorbed_qty, 6u);
  st.run_until(6, 0, 0);
  EXPECT_EQ(st.sim().open_qty(0, 9), 1);
  EXPECT_TRUE(st.sim().book(0)->empty(S));
  EXPECT_EQ(st.sim().position(0), 6 - 4);
}

// Ask S1 101 x 10 at t=1, S2 102 x 10. IOC buy 101 x 10 issued at t=100. History: S1 executed by
// someone else at t=120. With 0 latency we arrive at 100 and take 10 @101. With 50 ns we arrive
// at 150, the level is gone, 102 is beyond our limit: cancelled NoLiquidity, nothing filled.
TEST(FillSimulator, LatencyMakesChildMissTheLevel) {
  std::vector<MdEvent> e = {add(1, 1, S, 101, 10), add(1, 2, S, 102, 10), exe(120, 1, S, 101, 10)};
  std::vector<OrderCommand> c = {sub(100, 9, B, 101, 10, TimeInForce::IOC)};
  EXPECT_EQ(run(e, c).filled(), 10);
  FillConfig slow;
  slow.order_latency_ns = 50;
  SimRun o = run(e, c, slow);
  EXPECT_EQ(o.filled(), 0);
  ASSERT_EQ(o.r.size(), 2u);
  EXPECT_EQ(o.x[0].ts_venue, 150);
  EXPECT_EQ(o.r[1].type, static_cast<uint8_t>(ExecType::OrderCancelled));
}

// Our buy 100 x 10 rests at t=2 (first in queue); B joins behind at t=3. Cancel issued t=10,
// cancel latency 20 -> arrives t=30. At t=20 B executes 10 -> we fill 10 first. The cancel then
// finds no live order: OrderRejected(UnknownOrder); the fill stands (position 10). With report
// latency 5 the fill is seen at 25 and the reject at 35.
TEST(FillSimulator, CancelAfterFillRaceFails) {
  std::vector<MdEvent> e = {add(3, 2, B, 100, 10), exe(20, 2, B, 100, 10)};
  FillConfig cfg;
  cfg.cancel_latency_ns = 20;
  cfg.report_latency_ns = 5;
  SimRun o = run(e, {sub(2, 9, B, 100, 10), cancel(10, 9)}, cfg);
  ASSERT_EQ(o.r.size(), 3u);
  EXPECT_EQ(o.r[1].type, static_cast<uint8_t>(ExecType::OrderFilled));
  EXPECT_EQ(o.r[1].ts, 25);
  EXPECT_EQ(o.r[2].type, static_cast<uint8_t>(ExecType::OrderRejected));
  EXPECT_EQ(o.r[2].reason, static_cast<uint8_t>(ErrorCode::UnknownOrder));
  EXPECT_EQ(o.r[2].ts, 35);
  EXPECT_EQ(o.x[2].ts_venue, 30);
}

// maker -0.2 tick/share (rebate, -2000 e-4), taker +0.3 tick/share (3000 e-4).
// Passive: buy 100 x 15 filled by an execution behind us -> fee 15 * -2000 = -30000.
// Aggressive: buy 101 x 10 against ask 101 x 10 -> fee 10 * 3000 = 30000.
TEST(FillSimulator, MakerAndTakerFees) {
  std::vector<MdEvent> e = {add(1, 1, S, 101, 10), add(3, 2, B, 100, 20), exe(4, 2, B, 100, 15)};
  FillConfig cfg;
  cfg.maker_fee_e4 = -2000;
  cfg.taker_fee_e4 = 3000;
  SimRun o = run(e, {sub(2, 8, B, 100, 15), sub(5, 9, B, 101, 10)}, cfg);
  auto f = o.fills();
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(o.r[f[0]].liquidity, static_cast<uint8_t>(Liquidity::Maker));
  EXPECT_EQ(o.x[f[0]].fee_e4, -30000);
  EXPECT_EQ(o.r[f[1]].liquidity, static_cast<uint8_t>(Liquidity::Taker));
  EXPECT_EQ(o.x[f[1]].fee_e4, 30000);
}

// Our buy 100 rests; our sell at 100 would cross it: rejected SelfMatch, nothing changes. A sell
// at 101 does not cross and is accepted.
TEST(FillSimulator, SelfCrossRejected) {
  std::vector<MdEvent> e = {add(1, 1, B, 99, 10), add(1, 2, S, 102, 10)};
  SimRun o = run(e, {sub(2, 8, B, 100, 5), sub(3, 9, S, 100, 5), sub(4, 10, S, 101, 5)});
  ASSERT_EQ(o.r.size(), 3u);
  EXPECT_EQ(o.r[1].type, static_cast<uint8_t>(ExecType::OrderRejected));
  EXPECT_EQ(o.r[1].reason, static_cast<uint8_t>(ErrorCode::SelfMatch));
  EXPECT_EQ(o.r[2].type, static_cast<uint8_t>(ExecType::OrderAccepted));
  EXPECT_EQ(o.filled(), 0);
}

// A hidden execution at our price fills us (displayed orders go before hidden ones); with
// hidden_fills off it does not. Our buy 100 x 10 behind A 50: hidden buy executed 4 @100 -> 4.
TEST(FillSimulator, HiddenExecutionAtOurPrice) {
  std::vector<MdEvent> e = {add(1, 1, B, 100, 50), ev(MdEventType::HiddenTrade, 3, 0, B, 100, 4)};
  SimRun o = run(e, {sub(2, 9, B, 100, 10)});
  EXPECT_EQ(o.filled(), 4);
  EXPECT_EQ(o.x[o.fills()[0]].cause, static_cast<uint8_t>(FillCause::Hidden));
  FillConfig off;
  off.hidden_fills = false;
  EXPECT_EQ(run(e, {sub(2, 9, B, 100, 10)}, off).filled(), 0);
}

// LOBSTER seeding: row 1 = bid 100 x 70 after message 1 (add id 5, bid 100 x 20), so the pre-file
// aggregate is 50 and is ahead of everything. Our buy 100 x 10 joins behind both (ahead = 70). An
// execution of 30 on an unknown id at 100 comes out of the aggregate (ahead: no fill) -> ahead 40.
TEST(FillSimulator, LobsterSeedAndUnknownIds) {
  std::vector<MdEvent> e = {add(1, 5, B, 100, 20), exe(3, 777, B, 100, 30)};
  const int64_t row0[4] = {0, 0, 100, 70};
  BacktestStepper st(e, FillConfig{});
  st.seed_lobster(row0, 1);
  st.run_until(1, 0, 0);
  EXPECT_EQ(st.sim().book(0)->best(B)->qty, 70);
  st.enqueue(sub(2, 9, B, 100, 10));
  st.run_until(2, 0, 0);
  EXPECT_EQ(st.sim().queue_ahead(0, 9), 70);
  st.run_until(3, 0, 0);
  EXPECT_EQ(st.sim().queue_ahead(0, 9), 40);
  EXPECT_EQ(st.sim().open_qty(0, 9), 10);
  EXPECT_EQ(st.sim().counters().unknown_order_events, 1u);
}

// A LOBSTER delete carries the size the venue removed. Seeded aggregate bid 100 x 30 (row 1 = 50
// after message 1 adds id 5 x 20). Delete id 5 of 25: 20 from id 5, 5 from the aggregate -> 25.
// Then id 6 adds 10 and a delete of id 6 says 4: the other 6 were someone unseen and stay -> 31.
TEST(FillSimulator, LobsterDeleteSizeRepair) {
  std::vector<MdEvent> e = {add(1, 5, B, 100, 20), del(2, 5, B, 100, 25), add(3, 6, B, 100, 10),
                            del(4, 6, B, 100, 4)};
  const int64_t row0[4] = {0, 0, 100, 50};
  BacktestStepper st(e, FillConfig{});
  st.seed_lobster(row0, 1);
  st.run_until(2, 0, 0);
  EXPECT_EQ(st.sim().book(0)->best(B)->qty, 25);
  st.run_until(4, 0, 0);
  EXPECT_EQ(st.sim().book(0)->best(B)->qty, 31);
}

// Revealed-depth reconcile must count what we took. Window of 1 level. Ask id 1 101 x 10; we take
// 4 -> our book 101 x 6 (taken 4). A better ask 100 x 5 comes and goes: the file then shows
// 101 x 10, beyond the previous window (100). Book 6 + taken 4 = 10: nothing is written in.
// Without counting taken, a phantom 4 would appear and survive id 1's execution of 10 (4 absorbed,
// 6 from the book) -> the ask side must end empty.
TEST(FillSimulator, RevealedDepthCountsTakenLiquidity) {
  std::vector<MdEvent> e = {add(1, 1, S, 101, 10), add(3, 2, S, 100, 5), del(4, 2, S, 100, 5),
                            exe(5, 1, S, 101, 10)};
  const int64_t truth[4][4] = {
      {101, 10, 99, 10}, {100, 5, 99, 10}, {101, 10, 99, 10}, {0, 0, 99, 10}};
  const int64_t row0[4] = {101, 10, 99, 10};
  BacktestStepper st(e, FillConfig{});
  st.seed_lobster(row0, 1);
  st.set_lobster_truth(&truth[0][0], 1);
  st.run_until(1, 0, 0);
  st.enqueue(sub(2, 9, B, 101, 4));
  st.run_until(4, 0, 0);
  EXPECT_EQ(st.sim().book(0)->best(S)->qty, 6);
  EXPECT_EQ(st.sim().book(0)->level_count(S), 1u);
  st.run_until(5, 0, 0);
  EXPECT_TRUE(st.sim().book(0)->empty(S));
  EXPECT_EQ(st.sim().counters().absorbed_qty, 4u);
}

// Wake-ups: book change at the touch, trade print, report visibility, timer, limit, end.
TEST(BacktestStepper, WakeReasons) {
  std::vector<MdEvent> e = {add(10, 1, B, 100, 5), add(20, 2, B, 99, 5), exe(30, 1, B, 100, 5)};
  FillConfig cfg;
  cfg.report_latency_ns = 3;
  BacktestStepper st(e, cfg);
  const uint32_t all = kWakeBook | kWakeTrade | kWakeReport | kWakeTimer;
  EXPECT_EQ(st.run_until(kNever, all, 1), static_cast<uint32_t>(kWakeBook));
  EXPECT_EQ(st.now(), 10);
  st.set_timer(25);
  // t=20 adds a second level: top-1 unchanged, no wake; the timer fires at 25.
  EXPECT_EQ(st.run_until(kNever, all, 1), static_cast<uint32_t>(kWakeTimer));
  EXPECT_EQ(st.now(), 25);
  st.enqueue(sub(26, 9, S, 101, 1));
  EXPECT_EQ(st.run_until(kNever, all, 1), static_cast<uint32_t>(kWakeReport));
  EXPECT_EQ(st.now(), 29);  // accepted at 26, seen 3 ns later
  EXPECT_EQ(st.run_until(kNever, all, 1), static_cast<uint32_t>(kWakeBook | kWakeTrade));
  EXPECT_EQ(st.now(), 30);
  std::vector<TradePrint> tp;
  st.take_trades(tp);
  ASSERT_EQ(tp.size(), 1u);
  EXPECT_EQ(tp[0].aggressor, static_cast<uint8_t>(S));
  st.set_timer(45);  // events are exhausted; the timer is the only thing left
  EXPECT_EQ(st.run_until(40, all, 1), static_cast<uint32_t>(kWakeLimit));
  EXPECT_EQ(st.now(), 40);
  EXPECT_EQ(st.run_until(kNever, all, 1), static_cast<uint32_t>(kWakeTimer));
  EXPECT_EQ(st.run_until(kNever, all, 1), static_cast<uint32_t>(kWakeEnd));
  EXPECT_TRUE(st.finished());
}

// Truth rows read in place give what a copy gives; a stepper that started on a view and then
// grows by append_events owns its rows: the caller's buffer may change afterwards.
TEST(BacktestStepper, TruthViewEqualsCopyAndAppendOwnsIt) {
  std::vector<MdEvent> e = {add(1, 1, S, 101, 10), add(3, 2, S, 100, 5), del(4, 2, S, 100, 5),
                            exe(5, 1, S, 101, 10)};
  const int64_t truth[4][4] = {
      {101, 10, 99, 10}, {100, 5, 99, 10}, {101, 10, 99, 10}, {0, 0, 99, 10}};
  auto drive = [&](BacktestStepper& st) {
    std::vector<ExecReport> r;
    std::vector<ReportExtra> x;
    st.run_until(1, 0, 0);
    st.enqueue(sub(2, 9, B, 101, 4));
    st.run_until(kNever, 0, 0);
    st.take_reports(r, x);
    return std::make_pair(r, x);
  };
  BacktestStepper copy(e, FillConfig{});
  copy.seed_lobster(&truth[0][0], 1);
  copy.set_lobster_truth(&truth[0][0], 1);
  const auto want = drive(copy);
  ASSERT_EQ(want.first.size(), 2u);  // accepted, then filled 4 by the sweep at 101
  EXPECT_EQ(copy.sim().counters().absorbed_qty, 4u);

  BacktestStepper view(e, FillConfig{});
  view.seed_lobster(&truth[0][0], 1);
  view.set_lobster_truth_view(&truth[0][0], 1);
  const auto got = drive(view);
  ASSERT_EQ(got.first.size(), want.first.size());
  EXPECT_EQ(std::memcmp(got.first.data(), want.first.data(), sizeof(ExecReport) * 2), 0);
  EXPECT_EQ(view.sim().counters().absorbed_qty, 4u);

  int64_t head[2][4];
  std::memcpy(head, truth, sizeof head);
  BacktestStepper grown(std::vector<MdEvent>(e.begin(), e.begin() + 2), FillConfig{});
  grown.seed_lobster(&head[0][0], 1);
  grown.set_lobster_truth_view(&head[0][0], 1);
  ASSERT_EQ(grown.append_events(e.data() + 2, 2, &truth[2][0], 1),
            BacktestStepper::AppendResult::Ok);
  std::memset(head, 0x7f, sizeof head);  // the view's buffer is gone as far as the stepper knows
  const auto streamed = drive(grown);
  ASSERT_EQ(streamed.first.size(), want.first.size());
  EXPECT_EQ(std::memcmp(streamed.first.data(), want.first.data(), sizeof(ExecReport) * 2), 0);
  EXPECT_EQ(grown.sim().counters().absorbed_qty, 4u);
}

// The Book wake's baseline is the book as the caller leaves it: a change made through sim()
// between two run_until calls is part of it (no wake for it), later changes still wake.
TEST(BacktestStepper, BookBaselineIncludesDirectChanges) {
  std::vector<MdEvent> e = {add(10, 1, B, 100, 5), add(20, 2, B, 98, 5), add(30, 3, B, 100, 1)};
  BacktestStepper st(e, FillConfig{});
  EXPECT_EQ(st.run_until(kNever, kWakeBook, 1), static_cast<uint32_t>(kWakeBook));
  EXPECT_EQ(st.now(), 10);
  // An IOC sell of 2 through sim() takes 2 off the best bid: the caller saw that itself.
  st.sim().arrive(sub(11, 9, S, 100, 2, TimeInForce::IOC), 11);
  EXPECT_EQ(st.sim().book(0)->best(B)->qty, 3);
  EXPECT_EQ(st.run_until(25, kWakeBook, 1), static_cast<uint32_t>(kWakeLimit));
  EXPECT_EQ(st.run_until(kNever, kWakeBook, 1), static_cast<uint32_t>(kWakeBook));
  EXPECT_EQ(st.now(), 30);
}

// Same events + commands + seed -> identical reports byte for byte; another seed moves arrivals.
TEST(FillSimulator, DeterministicWithJitter) {
  std::vector<MdEvent> e;
  for (int i = 0; i < 200; ++i) {
    const Side s = i % 2 ? S : B;
    e.push_back(add(i * 100, 1000 + i, s, s == B ? 100 - i % 3 : 101 + i % 3, 10 + i % 7));
    if (i > 5) e.push_back(exe(i * 100 + 50, 1000 + i - 5, i % 2 ? B : S, 0, 1));
  }
  std::vector<OrderCommand> c;
  for (int i = 0; i < 40; ++i) {
    c.push_back(sub(i * 400 + 7, i + 1, i % 2 ? S : B, i % 2 ? 101 : 100, 5));
    if (i % 3 == 0) c.push_back(cancel(i * 400 + 300, i + 1));
  }
  FillConfig cfg;
  cfg.order_latency_ns = 30;
  cfg.order_jitter_ns = 200;
  cfg.cancel_latency_ns = 20;
  cfg.cancel_jitter_ns = 100;
  cfg.report_jitter_ns = 50;
  cfg.seed = 42;
  SimRun a = run(e, c, cfg), b = run(e, c, cfg);
  ASSERT_EQ(a.r.size(), b.r.size());
  ASSERT_GT(a.r.size(), 40u);
  EXPECT_EQ(std::memcmp(a.r.data(), b.r.data(), a.r.size() * sizeof(ExecReport)), 0);
  EXPECT_EQ(std::memcmp(a.x.data(), b.x.data(), a.x.size() * sizeof(ReportExtra)), 0);
  cfg.seed = 43;
  SimRun d = run(e, c, cfg);
  bool differs = d.r.size() != a.r.size() ||
                 std::memcmp(a.r.data(), d.r.data(), a.r.size() * sizeof(ExecReport)) != 0;
  EXPECT_TRUE(differs);
}

}  // namespace
}  // namespace minihft
