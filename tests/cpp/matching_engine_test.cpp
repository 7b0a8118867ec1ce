#include "minihft/lob/matching_engine.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

namespace minihft {
namespace {

constexpr Side B = Side::Buy;
constexpr Side S = Side::Sell;

class Engine : public ::testing::Test {
 protected:
  MatchingEngine eng{4, 64};
  std::vector<ExecReport> out;
  int64_t ts = 0;

  std::vector<ExecReport> run(OrderCommand c) {
    c.ts = ++ts;
    out.clear();
    eng.process(c, [this](const ExecReport& r) { out.push_back(r); });
    return out;
  }
  static OrderCommand cmd(CommandType t, OrderId id, Side side, Price px, Qty qty, uint64_t acct) {
    OrderCommand c{};
    c.type = static_cast<uint8_t>(t);
    c.order_id = id;
    c.side = static_cast<uint8_t>(side);
    c.price = px;
    c.qty = qty;
    c.account = acct;
    return c;
  }
  std::vector<ExecReport> limit(OrderId id, Side side, Price px, Qty qty, uint64_t acct = 0,
                                TimeInForce tif = TimeInForce::Day, uint32_t flags = 0) {
    OrderCommand c = cmd(CommandType::SubmitOrder, id, side, px, qty, acct);
    c.tif = static_cast<uint8_t>(tif);
    c.flags = flags;
    return run(c);
  }
  std::vector<ExecReport> market(OrderId id, Side side, Qty qty, uint64_t acct = 0,
                                 TimeInForce tif = TimeInForce::IOC) {
    OrderCommand c = cmd(CommandType::SubmitOrder, id, side, 0, qty, acct);
    c.order_type = static_cast<uint8_t>(OrderType::Market);
    c.tif = static_cast<uint8_t>(tif);
    return run(c);
  }
  std::vector<ExecReport> cancel(OrderId id, uint64_t acct = 0) {
    return run(cmd(CommandType::CancelOrder, id, B, 0, 0, acct));
  }
  std::vector<ExecReport> replace(OrderId id, Price px, Qty qty, uint64_t acct = 0) {
    return run(cmd(CommandType::ReplaceOrder, id, B, px, qty, acct));
  }
  Qty qty_of(OrderId id) const { return eng.order_qty(0, id); }
  std::vector<OrderId> queue(Side side) const {
    std::vector<OrderId> ids;
    const OrderBook* b = eng.book(0);
    for (size_t i = 0; b && i < b->level_count(side); ++i) {
      b->for_each_order(b->level(side, i), [&](const OrderBook::Order& o) { ids.push_back(o.id); });
    }
    return ids;
  }
  size_t levels(Side side) const {
    const OrderBook* b = eng.book(0);
    return b ? b->level_count(side) : 0;
  }
};

ExecType type_of(const ExecReport& r) { return static_cast<ExecType>(r.type); }
ErrorCode reason_of(const ExecReport& r) { return static_cast<ErrorCode>(r.reason); }

void expect_reject(const std::vector<ExecReport>& r, ErrorCode why) {
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(type_of(r[0]), ExecType::OrderRejected);
  EXPECT_EQ(reason_of(r[0]), why);
}

void expect_fill(const ExecReport& r, OrderId id, OrderId contra, Price px, Qty qty, Qty leaves,
                 Liquidity liq) {
  EXPECT_EQ(type_of(r), ExecType::OrderFilled);
  EXPECT_EQ(r.order_id, id);
  EXPECT_EQ(r.contra_order_id, contra);
  EXPECT_EQ(r.price, px);
  EXPECT_EQ(r.qty, qty);
  EXPECT_EQ(r.leaves_qty, leaves);
  EXPECT_EQ(static_cast<Liquidity>(r.liquidity), liq);
}

TEST_F(Engine, LimitRestsWithOneAcceptedReport) {
  auto r = limit(1, B, 100, 10, 7);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(type_of(r[0]), ExecType::OrderAccepted);
  EXPECT_EQ(r[0].leaves_qty, 10);
  EXPECT_EQ(r[0].account, 7u);
  EXPECT_EQ(r[0].ts, ts);
  EXPECT_EQ(qty_of(1), 10);
}

TEST_F(Engine, MarketOnEmptyBookIsRejectedNoLiquidity) {
  expect_reject(market(1, B, 5), ErrorCode::NoLiquidity);
  EXPECT_EQ(levels(B), 0u);
}

TEST_F(Engine, PartialFillAcrossLevelsAndOrdersAtRestingPrices) {
  limit(1, S, 101, 3);
  limit(2, S, 101, 4);
  limit(3, S, 102, 5);
  auto r = limit(9, B, 105, 10);
  ASSERT_EQ(r.size(), 7u);  // accepted + 3 trades x 2 sides
  EXPECT_EQ(type_of(r[0]), ExecType::OrderAccepted);
  expect_fill(r[1], 9, 1, 101, 3, 7, Liquidity::Taker);
  expect_fill(r[2], 1, 9, 101, 3, 0, Liquidity::Maker);
  expect_fill(r[3], 9, 2, 101, 4, 3, Liquidity::Taker);
  expect_fill(r[4], 2, 9, 101, 4, 0, Liquidity::Maker);
  expect_fill(r[5], 9, 3, 102, 3, 0, Liquidity::Taker);  // at the resting 102, not the 105 limit
  expect_fill(r[6], 3, 9, 102, 3, 2, Liquidity::Maker);
  EXPECT_EQ(qty_of(3), 2);
  EXPECT_EQ(qty_of(9), -1);
  EXPECT_EQ(levels(B), 0u);
}

TEST_F(Engine, LevelEmptiedMidSweepThenResidualRests) {
  limit(1, S, 101, 2);
  limit(2, S, 103, 2);
  auto r = limit(9, B, 102, 5);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(levels(S), 1u);
  EXPECT_EQ(eng.book(0)->best(S)->price, 103);
  EXPECT_EQ(eng.book(0)->best(B)->price, 102);
  EXPECT_EQ(qty_of(9), 3);
}

TEST_F(Engine, MarketLargerThanBookCancelsResidualNoLiquidity) {
  limit(1, S, 101, 2);
  limit(2, S, 150, 3);
  auto r = market(9, B, 10);
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r[0].price, 0);
  expect_fill(r[3], 9, 2, 150, 3, 5, Liquidity::Taker);
  EXPECT_EQ(type_of(r[5]), ExecType::OrderCancelled);
  EXPECT_EQ(reason_of(r[5]), ErrorCode::NoLiquidity);
  EXPECT_EQ(r[5].qty, 5);
  EXPECT_EQ(levels(S), 0u);
  EXPECT_EQ(levels(B), 0u);  // a market order never rests
}

TEST_F(Engine, IocResidualIsCancelledNotRested) {
  limit(1, S, 101, 2);
  auto r = limit(9, B, 101, 5, 0, TimeInForce::IOC);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(type_of(r[3]), ExecType::OrderCancelled);
  EXPECT_EQ(reason_of(r[3]), ErrorCode::NoLiquidity);
  EXPECT_EQ(r[3].qty, 3);
  EXPECT_EQ(qty_of(9), -1);
}

TEST_F(Engine, FokNotFillableLeavesNoTrace) {
  limit(1, S, 101, 2);
  limit(2, S, 102, 2);
  limit(3, S, 104, 9);
  expect_reject(limit(9, B, 102, 5, 0, TimeInForce::FOK), ErrorCode::NotFillable);
  EXPECT_EQ(qty_of(1), 2);
  EXPECT_EQ(qty_of(2), 2);
  EXPECT_EQ(levels(S), 3u);
  EXPECT_EQ(levels(B), 0u);
}

TEST_F(Engine, FokExactlyFillable) {
  limit(1, S, 101, 2);
  limit(2, S, 102, 3);
  auto r = limit(9, B, 102, 5, 0, TimeInForce::FOK);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[3].leaves_qty, 0);
  EXPECT_EQ(levels(S), 0u);
}

TEST_F(Engine, MarketFokIsAllOrNoneAtAnyPrice) {
  limit(1, S, 101, 2);
  limit(2, S, 500, 2);
  expect_reject(market(8, B, 5, 0, TimeInForce::FOK), ErrorCode::NotFillable);
  EXPECT_EQ(levels(S), 2u);
  auto r = market(9, B, 4, 0, TimeInForce::FOK);  // price field 0: ignored for market orders
  ASSERT_EQ(r.size(), 5u);
  expect_fill(r[3], 9, 2, 500, 2, 0, Liquidity::Taker);
  EXPECT_EQ(levels(S), 0u);
}

TEST_F(Engine, FokDoesNotCountOwnOrders) {
  limit(1, S, 101, 3, 5);
  limit(2, S, 101, 3, 6);
  expect_reject(limit(9, B, 101, 4, 5, TimeInForce::FOK), ErrorCode::NotFillable);
  EXPECT_EQ(qty_of(1), 3);
}

TEST_F(Engine, PostOnlyThatWouldCrossIsRejected) {
  limit(1, S, 101, 3);
  expect_reject(limit(9, B, 101, 1, 0, TimeInForce::Day, kPostOnly), ErrorCode::WouldCross);
  EXPECT_EQ(qty_of(1), 3);
  EXPECT_EQ(levels(B), 0u);
}

TEST_F(Engine, PostOnlyThatDoesNotCrossRests) {
  limit(1, S, 101, 3);
  auto r = limit(9, B, 100, 1, 0, TimeInForce::Day, kPostOnly);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(type_of(r[0]), ExecType::OrderAccepted);
  EXPECT_EQ(qty_of(9), 1);
}

TEST_F(Engine, PostOnlyReplaceToCrossingPriceIsRejectedAndOrderUnchanged) {
  limit(1, S, 101, 3);
  limit(9, B, 100, 4, 0, TimeInForce::Day, kPostOnly);
  expect_reject(replace(9, 101, 4), ErrorCode::WouldCross);
  EXPECT_EQ(eng.book(0)->best(B)->price, 100);
  EXPECT_EQ(qty_of(9), 4);
}

TEST_F(Engine, PostOnlyOnIocOrMarketIsInvalidType) {
  expect_reject(limit(9, B, 100, 1, 0, TimeInForce::IOC, kPostOnly), ErrorCode::InvalidType);
}

TEST_F(Engine, CancelReportsOpenQty) {
  limit(1, B, 100, 10);
  limit(2, S, 100, 4);
  auto r = cancel(1);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(type_of(r[0]), ExecType::OrderCancelled);
  EXPECT_EQ(reason_of(r[0]), ErrorCode::Ok);
  EXPECT_EQ(r[0].qty, 6);
  EXPECT_EQ(r[0].leaves_qty, 0);
  EXPECT_EQ(levels(B), 0u);
}

TEST_F(Engine, CancelOrReplaceUnknownOrFilledOrderIsRejected) {
  expect_reject(cancel(42), ErrorCode::UnknownOrder);
  limit(1, B, 100, 2);
  limit(2, S, 100, 2);
  expect_reject(cancel(1), ErrorCode::UnknownOrder);
  expect_reject(replace(1, 100, 5), ErrorCode::UnknownOrder);
  expect_reject(cancel(2), ErrorCode::UnknownOrder);
}

// Only the owner may cancel or move an order; to anyone else it does not exist.
TEST_F(Engine, CancelOrReplaceOfAnotherAccountsOrderIsUnknown) {
  limit(1, B, 100, 10, 7);
  limit(2, B, 100, 5, 8);
  expect_reject(cancel(1, 8), ErrorCode::UnknownOrder);
  expect_reject(cancel(1, 0), ErrorCode::UnknownOrder);
  expect_reject(replace(1, 101, 10, 8), ErrorCode::UnknownOrder);
  EXPECT_EQ(qty_of(1), 10);
  EXPECT_EQ(queue(B), (std::vector<OrderId>{1, 2}));  // priority untouched too
  auto r = replace(1, 100, 4, 7);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(type_of(r[0]), ExecType::OrderReplaced);
  r = cancel(1, 7);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(type_of(r[0]), ExecType::OrderCancelled);
  EXPECT_EQ(r[0].qty, 4);
  EXPECT_EQ(r[0].account, 7u);
}

TEST_F(Engine, ReplaceSizeDownKeepsPriority) {
  limit(1, B, 100, 5);
  limit(2, B, 100, 5);
  auto r = replace(1, 100, 3);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(type_of(r[0]), ExecType::OrderReplaced);
  EXPECT_EQ(r[0].leaves_qty, 3);
  EXPECT_EQ(queue(B), (std::vector<OrderId>{1, 2}));
  EXPECT_EQ(eng.book(0)->best(B)->qty, 8);
}

TEST_F(Engine, ReplaceSizeUpLosesPriority) {
  limit(1, B, 100, 5);
  limit(2, B, 100, 5);
  replace(1, 100, 6);
  EXPECT_EQ(queue(B), (std::vector<OrderId>{2, 1}));
  EXPECT_EQ(qty_of(1), 6);
}

TEST_F(Engine, ReplacePriceChangeLosesPriority) {
  limit(1, B, 100, 5);
  limit(2, B, 99, 5);
  replace(1, 99, 5);
  EXPECT_EQ(queue(B), (std::vector<OrderId>{2, 1}));
  EXPECT_EQ(levels(B), 1u);
}

TEST_F(Engine, ReplaceToCrossingPriceTradesAsTaker) {
  limit(1, S, 101, 3);
  limit(9, B, 99, 5);
  auto r = replace(9, 101, 5);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(type_of(r[0]), ExecType::OrderReplaced);
  expect_fill(r[1], 9, 1, 101, 3, 2, Liquidity::Taker);
  expect_fill(r[2], 1, 9, 101, 3, 0, Liquidity::Maker);
  EXPECT_EQ(qty_of(9), 2);
  EXPECT_EQ(eng.book(0)->best(B)->price, 101);
}

TEST_F(Engine, SelfMatchCancelsRestingOrderAndSweepContinues) {
  limit(1, S, 101, 3, 5);
  limit(2, S, 101, 3, 6);
  auto r = limit(9, B, 101, 4, 5);
  ASSERT_EQ(r.size(), 4u);  // accepted, self-match cancel, one trade; the residual 1 rests
  EXPECT_EQ(type_of(r[1]), ExecType::OrderCancelled);
  EXPECT_EQ(r[1].order_id, 1u);
  EXPECT_EQ(reason_of(r[1]), ErrorCode::SelfMatch);
  expect_fill(r[2], 9, 2, 101, 3, 1, Liquidity::Taker);
  EXPECT_EQ(qty_of(9), 1);
  EXPECT_EQ(qty_of(1), -1);
}

TEST_F(Engine, AccountZeroHasNoSelfMatchPrevention) {
  limit(1, S, 101, 3, 0);
  auto r = limit(9, B, 101, 3, 0);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(type_of(r[1]), ExecType::OrderFilled);
}

TEST_F(Engine, DuplicateLiveIdIsRejectedButFilledIdMayBeReused) {
  limit(1, B, 100, 5);
  expect_reject(limit(1, S, 200, 5), ErrorCode::DuplicateOrderId);
  EXPECT_EQ(levels(S), 0u);
  cancel(1);
  EXPECT_EQ(type_of(limit(1, S, 200, 5)[0]), ExecType::OrderAccepted);
}

TEST_F(Engine, InvalidFieldsAreRejected) {
  expect_reject(limit(1, B, 100, 0), ErrorCode::InvalidQty);
  expect_reject(limit(1, B, 100, -5), ErrorCode::InvalidQty);
  expect_reject(limit(1, B, 0, 5), ErrorCode::InvalidPrice);
  expect_reject(limit(1, static_cast<Side>(2), 100, 5), ErrorCode::InvalidSide);
  OrderCommand c = cmd(CommandType::SubmitOrder, 1, B, 100, 5, 0);
  c.tif = 9;
  expect_reject(run(c), ErrorCode::InvalidType);
  c = cmd(static_cast<CommandType>(77), 1, B, 100, 5, 0);
  expect_reject(run(c), ErrorCode::InvalidType);
  c = cmd(CommandType::SubmitOrder, 1, B, 100, 5, 0);
  c.symbol_id = 4;
  expect_reject(run(c), ErrorCode::UnknownSymbol);
  limit(2, B, 100, 5);
  expect_reject(replace(2, 100, 0), ErrorCode::InvalidQty);
  expect_reject(replace(2, -1, 5), ErrorCode::InvalidPrice);
  EXPECT_EQ(qty_of(2), 5);
  EXPECT_EQ(eng.counters().rejected, 9u);
}

TEST_F(Engine, SymbolsAreIndependentBooks) {
  OrderCommand c = cmd(CommandType::SubmitOrder, 1, S, 100, 5, 0);
  c.symbol_id = 1;
  run(c);
  expect_reject(market(2, B, 5), ErrorCode::NoLiquidity);  // symbol 0 is still empty
  EXPECT_EQ(eng.order_qty(1, 1), 5);
}

std::vector<OrderCommand> random_stream(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<OrderCommand> v(n);
  for (size_t i = 0; i < n; ++i) {
    OrderCommand& c = v[i];
    c = OrderCommand{};
    c.ts = static_cast<int64_t>(i);
    c.type = static_cast<uint8_t>(1 + rng() % 3);
    c.order_id = 1 + rng() % 500;
    c.side = static_cast<uint8_t>(rng() % 2);
    c.price = 95 + static_cast<Price>(rng() % 10);
    c.qty = 1 + static_cast<Qty>(rng() % 20);
    c.account = rng() % 4;
    c.symbol_id = static_cast<uint32_t>(rng() % 2);
    c.order_type = rng() % 6 == 0 ? 1 : 0;
    c.tif = static_cast<uint8_t>(rng() % 3);
    c.flags = rng() % 5 == 0 ? static_cast<uint32_t>(kPostOnly) : 0u;
  }
  return v;
}

TEST(EngineDeterminism, SameCommandsGiveSameReportBytes) {
  auto cmds = random_stream(20000, 11);
  std::vector<ExecReport> a, b;
  {
    MatchingEngine e(2);
    e.process(cmds.data(), cmds.size(), [&](const ExecReport& r) { a.push_back(r); });
  }
  {
    MatchingEngine e(2, 16);  // different pool sizing must not change anything observable
    e.process(cmds.data(), cmds.size(), [&](const ExecReport& r) { b.push_back(r); });
  }
  ASSERT_EQ(a.size(), b.size());
  ASSERT_GT(a.size(), cmds.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(ExecReport)), 0);
}

TEST(EngineInvariants, BookNeverCrossedAndLevelsConsistent) {
  auto cmds = random_stream(20000, 12);
  MatchingEngine e(2);
  for (const auto& c : cmds) {
    e.process(c, [](const ExecReport& r) {
      ASSERT_GE(r.leaves_qty, 0);
      if (static_cast<ExecType>(r.type) == ExecType::OrderFilled) {
        ASSERT_GT(r.qty, 0);
      }
    });
    const OrderBook* b = e.book(c.symbol_id);
    if (b && b->best(B) && b->best(S)) {
      ASSERT_LT(b->best(B)->price, b->best(S)->price);
    }
  }
}

}  // namespace
}  // namespace minihft
