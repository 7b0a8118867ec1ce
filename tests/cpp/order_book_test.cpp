#include "minihft/lob/order_book.hpp"

#include <gtest/gtest.h>

namespace minihft {
namespace {

TEST(OrderBook, EmptyBookHasNoBestLevel) {
  OrderBook book;
  EXPECT_EQ(book.best(Side::Buy), nullptr);
  EXPECT_EQ(book.best(Side::Sell), nullptr);
  EXPECT_EQ(book.front(Side::Buy), OrderBook::kNone);
  EXPECT_EQ(book.order_count(), 0u);
}

TEST(OrderBook, BestPricesAndFifoWithinLevel) {
  OrderBook book;
  ASSERT_EQ(book.add(1, Side::Buy, 100, 10, 1), ErrorCode::Ok);
  ASSERT_EQ(book.add(2, Side::Buy, 101, 5, 2), ErrorCode::Ok);
  ASSERT_EQ(book.add(3, Side::Buy, 101, 7, 3), ErrorCode::Ok);
  ASSERT_EQ(book.add(4, Side::Sell, 105, 3, 4), ErrorCode::Ok);
  ASSERT_EQ(book.add(5, Side::Sell, 103, 4, 5), ErrorCode::Ok);
  EXPECT_EQ(book.best(Side::Buy)->price, 101);
  EXPECT_EQ(book.best(Side::Buy)->qty, 12);
  EXPECT_EQ(book.best(Side::Buy)->count, 2u);
  EXPECT_EQ(book.best(Side::Sell)->price, 103);
  EXPECT_EQ(book.order_at(book.front(Side::Buy)).id, 2u);
  DepthLevel bids[5];
  ASSERT_EQ(book.depth(Side::Buy, 5, bids), 2u);
  EXPECT_EQ(bids[1].price, 100);
  EXPECT_EQ(bids[1].qty, 10);
}

TEST(OrderBook, ReduceKeepsPriorityReplaceLosesIt) {
  OrderBook book;
  ASSERT_EQ(book.add(1, Side::Sell, 50, 10, 1), ErrorCode::Ok);
  ASSERT_EQ(book.add(2, Side::Sell, 50, 10, 2), ErrorCode::Ok);
  ASSERT_EQ(book.reduce(1, 4), ErrorCode::Ok);
  EXPECT_EQ(book.order_at(book.front(Side::Sell)).id, 1u);
  EXPECT_EQ(book.best(Side::Sell)->qty, 16);
  ASSERT_EQ(book.replace(1, 9, 50, 6, 3), ErrorCode::Ok);
  EXPECT_EQ(book.order_at(book.front(Side::Sell)).id, 2u);
  EXPECT_EQ(book.find(1), nullptr);
  ASSERT_NE(book.find(9), nullptr);
}

TEST(OrderBook, RejectsBadInputWithoutChangingState) {
  OrderBook book;
  ASSERT_EQ(book.add(1, Side::Buy, 100, 10, 1), ErrorCode::Ok);
  EXPECT_EQ(book.add(1, Side::Buy, 100, 10, 1), ErrorCode::DuplicateOrderId);
  EXPECT_EQ(book.add(2, Side::Buy, 100, 0, 1), ErrorCode::InvalidQty);
  EXPECT_EQ(book.add(3, Side::Buy, -5, 1, 1), ErrorCode::InvalidPrice);
  EXPECT_EQ(book.reduce(1, 11), ErrorCode::InvalidQty);
  EXPECT_EQ(book.reduce(42, 1), ErrorCode::UnknownOrder);
  EXPECT_EQ(book.remove(42), ErrorCode::UnknownOrder);
  EXPECT_EQ(book.best(Side::Buy)->qty, 10);
  EXPECT_EQ(book.order_count(), 1u);
}

TEST(OrderBook, LevelDisappearsWhenItsLastOrderLeaves) {
  OrderBook book;
  for (OrderId id = 1; id <= 40; ++id) {
    ASSERT_EQ(book.add(id, Side::Buy, 1000 - static_cast<Price>(id), 1, 0), ErrorCode::Ok);
  }
  ASSERT_EQ(book.level_count(Side::Buy), 40u);
  ASSERT_EQ(book.remove(20), ErrorCode::Ok);  // a deep level, found by binary search
  ASSERT_EQ(book.remove(1), ErrorCode::Ok);   // the touch
  EXPECT_EQ(book.level_count(Side::Buy), 38u);
  EXPECT_EQ(book.best(Side::Buy)->price, 998);
  for (size_t i = 1; i < book.level_count(Side::Buy); ++i) {
    EXPECT_LT(book.level(Side::Buy, i).price, book.level(Side::Buy, i - 1).price);
  }
}

}  // namespace
}  // namespace minihft
