#include "minihft/lob/order_book.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <iterator>
#include <map>
#include <random>
#include <utility>
#include <vector>

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

// Deep books against a plain model (price -> FIFO of (id, qty)): prices spread over 60 ticks so a
// side holds dozens of levels, adds land far behind the touch (the binary-search path of the level
// search) as well as at it, and levels empty and reopen at the same price all the time.
TEST(OrderBook, DeepBooksMatchAReferenceModel) {
  OrderBook book(64);
  std::map<Price, std::deque<std::pair<OrderId, Qty>>> model[2];
  std::map<OrderId, std::pair<Side, Price>> where;
  std::mt19937_64 rng(7);
  OrderId next_id = 1;
  auto check = [&] {
    for (Side s : {Side::Buy, Side::Sell}) {
      const auto& m = model[static_cast<size_t>(s)];
      ASSERT_EQ(book.level_count(s), m.size());
      size_t i = 0;
      auto visit = [&](Price px, const std::deque<std::pair<OrderId, Qty>>& q) {
        const OrderBook::Level& l = book.level(s, i++);
        ASSERT_EQ(l.price, px);
        ASSERT_EQ(l.count, q.size());
        Qty total = 0;
        std::vector<OrderId> ids;
        book.for_each_order(l, [&](const OrderBook::Order& o) { ids.push_back(o.id); });
        ASSERT_EQ(ids.size(), q.size());
        for (size_t k = 0; k < q.size(); ++k) {
          ASSERT_EQ(ids[k], q[k].first);
          total += q[k].second;
        }
        ASSERT_EQ(l.qty, total);
      };
      if (s == Side::Buy) {
        for (auto it = m.rbegin(); it != m.rend(); ++it) visit(it->first, it->second);
      } else {
        for (const auto& [px, q] : m) visit(px, q);
      }
    }
  };
  for (int step = 0; step < 40000; ++step) {
    const uint64_t r = rng();
    if (where.empty() || r % 100 < 55) {
      const Side s = (r >> 8) & 1 ? Side::Buy : Side::Sell;
      const Price px = s == Side::Buy ? 1000 - static_cast<Price>((r >> 16) % 60)
                                      : 1001 + static_cast<Price>((r >> 16) % 60);
      const Qty q = 1 + static_cast<Qty>((r >> 32) % 50);
      ASSERT_EQ(book.add(next_id, s, px, q, step), ErrorCode::Ok);
      model[static_cast<size_t>(s)][px].emplace_back(next_id, q);
      where[next_id++] = {s, px};
    } else {
      auto it = where.begin();
      std::advance(it, static_cast<long>((r >> 8) % where.size()));
      const OrderId id = it->first;
      const auto [s, px] = it->second;
      auto& m = model[static_cast<size_t>(s)];
      auto& q = m[px];
      auto o = std::find_if(q.begin(), q.end(), [&](const auto& e) { return e.first == id; });
      if (r % 100 < 70 && o->second > 1) {
        ASSERT_EQ(book.reduce(id, 1), ErrorCode::Ok);
        o->second -= 1;
      } else {
        ASSERT_EQ(book.remove(id), ErrorCode::Ok);
        q.erase(o);
        if (q.empty()) m.erase(px);
        where.erase(it);
      }
    }
    if (step % 97 == 0) check();
  }
  check();
  ASSERT_EQ(book.order_count(), where.size());
}

// A side of a thousand levels opened in random order (most far from the touch, where the sorted
// side shifts long tails) and closed in random order; copies and moves keep the same levels.
TEST(OrderBook, ThousandLevelsOpenAndCloseInAnyOrder) {
  OrderBook book(16);
  std::vector<Price> prices;
  for (Price p = 1; p <= 1000; ++p) prices.push_back(p);
  std::mt19937_64 rng(3);
  std::shuffle(prices.begin(), prices.end(), rng);
  for (Price p : prices) {
    ASSERT_EQ(book.add(static_cast<OrderId>(p), Side::Sell, p, p, 0), ErrorCode::Ok);
  }
  ASSERT_EQ(book.level_count(Side::Sell), 1000u);
  OrderBook copy(book);
  OrderBook moved(std::move(copy));
  for (size_t i = 0; i < 1000; ++i) {
    ASSERT_EQ(moved.level(Side::Sell, i).price, static_cast<Price>(i + 1));
    ASSERT_EQ(moved.level(Side::Sell, i).qty, static_cast<Qty>(i + 1));
  }
  std::shuffle(prices.begin(), prices.end(), rng);
  for (size_t k = 0; k < prices.size(); ++k) {
    ASSERT_EQ(book.reduce(static_cast<OrderId>(prices[k]), prices[k]), ErrorCode::Ok);
    if (k % 100 == 0 && book.level_count(Side::Sell) > 0) {
      Price prev = 0;
      for (size_t i = 0; i < book.level_count(Side::Sell); ++i) {  // still sorted, no gaps
        ASSERT_GT(book.level(Side::Sell, i).price, prev);
        prev = book.level(Side::Sell, i).price;
      }
    }
  }
  EXPECT_TRUE(book.empty(Side::Sell));
  EXPECT_EQ(book.best(Side::Sell), nullptr);
  EXPECT_EQ(moved.level_count(Side::Sell), 1000u);             // the copy is independent
  ASSERT_EQ(book.add(7, Side::Sell, 7, 1, 0), ErrorCode::Ok);  // an emptied side works again
  EXPECT_EQ(book.best(Side::Sell)->price, 7);
}

}  // namespace
}  // namespace minihft
