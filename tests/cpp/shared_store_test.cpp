// The order store every BookBuilder book shares: OrderIndex against a reference map, per-symbol id
// spaces, clear/copy/move of books inside a shared store, and the batch apply path.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <utility>
#include <vector>

#include "minihft/lob/book_builder.hpp"
#include "minihft/lob/id_map.hpp"
#include "minihft/lob/order_book.hpp"

namespace minihft {
namespace {

MdEvent ev(MdEventType t, uint64_t id, Side s, Price px, Qty q, uint32_t sym) {
  MdEvent e{};
  e.ts_event = 1;
  e.order_id = id;
  e.price = px;
  e.qty = q;
  e.symbol_id = sym;
  e.type = static_cast<uint8_t>(t);
  e.side = static_cast<uint8_t>(s);
  return e;
}

// Random inserts/erases/finds; ids drawn so that runs of consecutive ids, ids shared by several
// owners and ids on a large power-of-two stride all occur.
template <typename Index = OrderIndex>
void check_index_against_map(uint64_t seed, uint64_t stride) {
  Index idx(16);
  std::map<std::pair<OrderId, uint32_t>, uint32_t> ref;
  std::mt19937_64 rng(seed);
  uint64_t next = 1;
  for (int step = 0; step < 60000; ++step) {
    uint64_t r = rng();
    uint32_t owner = static_cast<uint32_t>(r % 5);
    OrderId id = (r >> 8) % 3 == 0 ? next++ * stride : ((r >> 16) % (next + 1)) * stride;
    auto key = std::make_pair(id, owner);
    switch ((r >> 40) % 3) {
      case 0: {
        uint32_t v = static_cast<uint32_t>(step);
        bool fresh = ref.find(key) == ref.end();
        ASSERT_EQ(idx.insert(id, owner, v), fresh);
        if (fresh) ref[key] = v;
        break;
      }
      case 1:
        ASSERT_EQ(idx.erase(id, owner), ref.erase(key) == 1);
        break;
      default: {
        auto it = ref.find(key);
        ASSERT_EQ(idx.find(id, owner), it == ref.end() ? Index::kMissing : it->second);
      }
    }
    ASSERT_EQ(idx.size(), ref.size());
  }
  for (const auto& [k, v] : ref) ASSERT_EQ(idx.find(k.first, k.second), v);
}

TEST(OrderIndex, MatchesReferenceMapOnConsecutiveIds) { check_index_against_map(1, 1); }
TEST(OrderIndex, MatchesReferenceMapOnStridedIds) { check_index_against_map(2, 4096); }

// The direct index: pages drained and reused, ids past the direct range, a second owner of an id.
TEST(DirectOrderIndex, MatchesReferenceMapOnConsecutiveIds) {
  check_index_against_map<DirectOrderIndex>(1, 1);
}
TEST(DirectOrderIndex, MatchesReferenceMapOnPageStridedIds) {
  check_index_against_map<DirectOrderIndex>(2, 4096);
}
TEST(DirectOrderIndex, MatchesReferenceMapAcrossTheDirectRangeEdge) {
  // Stride 2^27: ids cross 2^32 after 32 steps, so both the direct and the hashed part are used.
  check_index_against_map<DirectOrderIndex>(3, uint64_t{1} << 27);
}
TEST(DirectOrderIndex, SecondOwnerOfAnIdAndReuseAfterTheFirstLeaves) {
  DirectOrderIndex idx;
  ASSERT_TRUE(idx.insert(42, 1, 10));
  ASSERT_TRUE(idx.insert(42, 2, 20));   // same id, other owner: kept apart
  EXPECT_FALSE(idx.insert(42, 2, 21));  // duplicate of the second owner's
  ASSERT_TRUE(idx.erase(42, 1));
  EXPECT_FALSE(idx.insert(42, 2, 22));  // still a duplicate once the first owner's is gone
  EXPECT_EQ(idx.find(42, 2), 20u);
  EXPECT_EQ(idx.find(42, 1), DirectOrderIndex::kMissing);
  ASSERT_TRUE(idx.insert(42, 1, 11));
  EXPECT_EQ(idx.find(42, 1), 11u);
  EXPECT_EQ(idx.size(), 2u);
  const uint64_t far = uint64_t{1} << 40;
  ASSERT_TRUE(idx.insert(far, 1, 30));
  EXPECT_FALSE(idx.insert(far, 1, 31));
  EXPECT_EQ(idx.find(far, 1), 30u);
  EXPECT_TRUE(idx.erase(far, 1));
  EXPECT_FALSE(idx.erase(far, 1));
  EXPECT_EQ(idx.size(), 2u);
}
TEST(DirectOrderIndex, CopyIsDeepAndDrainedPagesComeBackEmpty) {
  DirectOrderIndex idx;
  for (uint32_t i = 0; i < 10000; ++i) ASSERT_TRUE(idx.insert(i, 0, i));
  DirectOrderIndex copy(idx);
  for (uint32_t i = 0; i < 10000; ++i) ASSERT_TRUE(idx.erase(i, 0));  // every page drains
  EXPECT_EQ(idx.size(), 0u);
  for (uint32_t i = 0; i < 10000; i += 7) EXPECT_EQ(copy.find(i, 0), i);
  // Pages now come from the spare list: nothing of the old entries may show through.
  for (uint32_t i = 20000; i < 30000; ++i) ASSERT_TRUE(idx.insert(i, 0, i + 1));
  for (uint32_t i = 0; i < 30000; i += 13) {
    EXPECT_EQ(idx.find(i, 0), i >= 20000 ? i + 1 : DirectOrderIndex::kMissing);
  }
  idx.clear();
  EXPECT_EQ(idx.find(20000, 0), DirectOrderIndex::kMissing);
  EXPECT_TRUE(idx.insert(20000, 0, 5));
  EXPECT_EQ(idx.find(20000, 0), 5u);
}

TEST(OrderIndex, ClearEmptiesAndKeepsWorking) {
  OrderIndex idx(4);
  for (uint32_t i = 0; i < 1000; ++i) ASSERT_TRUE(idx.insert(i, 0, i));
  idx.clear();
  EXPECT_EQ(idx.size(), 0u);
  EXPECT_EQ(idx.find(5, 0), OrderIndex::kMissing);
  EXPECT_TRUE(idx.insert(5, 0, 9));
  EXPECT_EQ(idx.find(5, 0), 9u);
}

TEST(SharedStore, SameOrderIdInTwoSymbolsIsTwoOrders) {
  BookBuilder b(1 << 14, BookStore::Shared);
  EXPECT_EQ(b.apply(ev(MdEventType::Add, 7, Side::Buy, 100, 10, 1)), ErrorCode::Ok);
  EXPECT_EQ(b.apply(ev(MdEventType::Add, 7, Side::Sell, 200, 3, 2)), ErrorCode::Ok);
  EXPECT_EQ(b.apply(ev(MdEventType::Add, 7, Side::Buy, 101, 1, 1)), ErrorCode::DuplicateOrderId);
  EXPECT_EQ(b.apply(ev(MdEventType::Delete, 7, Side::Buy, 0, 0, 1)), ErrorCode::Ok);
  EXPECT_EQ(b.book(1)->find(7), nullptr);
  ASSERT_NE(b.book(2)->find(7), nullptr);
  EXPECT_EQ(b.book(2)->find(7)->qty, 3);
  EXPECT_EQ(b.apply(ev(MdEventType::Delete, 7, Side::Buy, 0, 0, 3)), ErrorCode::UnknownOrder);
}

TEST(SharedStore, ClearingOneSymbolLeavesTheOthers) {
  BookBuilder b(1 << 14, BookStore::Shared);
  for (uint64_t i = 0; i < 50; ++i) {
    b.apply(ev(MdEventType::Add, i, Side::Buy, 100 + static_cast<Price>(i % 3), 1, 0));
    b.apply(ev(MdEventType::Add, 1000 + i, Side::Sell, 300, 2, 1));
  }
  EXPECT_EQ(b.apply(ev(MdEventType::Clear, 0, Side::Buy, 0, 0, 0)), ErrorCode::Ok);
  EXPECT_EQ(b.book(0)->order_count(), 0u);
  EXPECT_EQ(b.book(0)->find(3), nullptr);
  EXPECT_EQ(b.book(1)->order_count(), 50u);
  EXPECT_EQ(b.book(1)->best(Side::Sell)->qty, 100);
  // The cleared ids are free again, and the freed slots are reused without disturbing symbol 1.
  for (uint64_t i = 0; i < 50; ++i) {
    ASSERT_EQ(b.apply(ev(MdEventType::Add, i, Side::Sell, 400, 1, 0)), ErrorCode::Ok);
  }
  EXPECT_EQ(b.book(0)->best(Side::Sell)->qty, 50);
  EXPECT_EQ(b.apply(ev(MdEventType::Execute, 1010, Side::Sell, 0, 2, 1)), ErrorCode::Ok);
  EXPECT_EQ(b.book(1)->best(Side::Sell)->qty, 98);
}

TEST(SharedStore, CopyOfASharedBookIsIndependent) {
  BookBuilder b(1 << 14, BookStore::Shared);
  b.apply(ev(MdEventType::Add, 1, Side::Buy, 100, 10, 4));
  b.apply(ev(MdEventType::Add, 2, Side::Buy, 100, 5, 4));
  b.apply(ev(MdEventType::Add, 3, Side::Buy, 99, 5, 5));
  OrderBook copy = *b.book(4);
  EXPECT_EQ(copy.find(3), nullptr);  // symbol 5's order is not this book's
  EXPECT_EQ(copy.remove(1), ErrorCode::Ok);
  EXPECT_EQ(copy.best(Side::Buy)->qty, 5);
  EXPECT_EQ(b.book(4)->best(Side::Buy)->qty, 15);
  ASSERT_NE(b.book(4)->find(1), nullptr);
  EXPECT_EQ(copy.order_at(copy.front(Side::Buy)).id, 2u);
  EXPECT_EQ(b.book(4)->order_at(b.book(4)->front(Side::Buy)).id, 1u);
}

TEST(SharedStore, OwnedBookCopyAndMove) {
  OrderBook a(4);
  ASSERT_EQ(a.add(1, Side::Sell, 50, 3, 0), ErrorCode::Ok);
  OrderBook c = a;
  ASSERT_EQ(c.add(2, Side::Sell, 50, 4, 0), ErrorCode::Ok);
  EXPECT_EQ(a.best(Side::Sell)->qty, 3);
  EXPECT_EQ(c.best(Side::Sell)->qty, 7);
  OrderBook m = std::move(c);
  EXPECT_EQ(m.best(Side::Sell)->qty, 7);
  ASSERT_EQ(m.reduce(2, 1), ErrorCode::Ok);
  m = a;  // copy-assign over a book that has orders
  EXPECT_EQ(m.best(Side::Sell)->qty, 3);
  EXPECT_EQ(m.find(2), nullptr);
  std::vector<OrderBook> v;
  v.emplace_back(8);
  v.emplace_back(8);
  v[0].add(9, Side::Buy, 10, 1, 0);
  v.emplace_back(8);  // reallocation moves the books
  ASSERT_NE(v[0].find(9), nullptr);
  EXPECT_EQ(v[0].remove(9), ErrorCode::Ok);
}

TEST(SharedStore, MovedBuilderKeepsItsBooks) {
  BookBuilder a(1 << 14, BookStore::Shared);
  a.apply(ev(MdEventType::Add, 1, Side::Buy, 100, 10, 0));
  BookBuilder b = std::move(a);
  EXPECT_EQ(b.apply(ev(MdEventType::Cancel, 1, Side::Buy, 0, 4, 0)), ErrorCode::Ok);
  BookBuilder c(1 << 14, BookStore::Shared);
  c.apply(ev(MdEventType::Add, 1, Side::Sell, 300, 1, 3));
  c = std::move(b);
  EXPECT_EQ(c.book(3), nullptr);
  EXPECT_EQ(c.book(0)->best(Side::Buy)->qty, 6);
  EXPECT_EQ(c.apply(ev(MdEventType::Delete, 1, Side::Buy, 0, 0, 0)), ErrorCode::Ok);
}

// A random many-symbol stream, good and bad events mixed, applied one by one and as a batch.
std::vector<MdEvent> random_stream(size_t n, uint32_t symbols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<MdEvent> out;
  std::vector<std::pair<uint64_t, uint32_t>> live;  // (id, symbol), may hold stale entries
  uint64_t next = 1;
  for (size_t i = 0; i < n; ++i) {
    uint64_t r = rng();
    uint32_t sym = static_cast<uint32_t>(r % symbols);
    Side side = (r >> 20) & 1 ? Side::Buy : Side::Sell;
    Price px = 1000 + static_cast<Price>((r >> 24) % 40);
    Qty q = 1 + static_cast<Qty>((r >> 32) % 5);
    unsigned kind = static_cast<unsigned>((r >> 40) % 10);
    if (kind < 5 || live.empty()) {
      out.push_back(ev(MdEventType::Add, next, side, px, q, sym));
      live.emplace_back(next++, sym);
      continue;
    }
    size_t k = (r >> 48) % live.size();
    auto [id, s] = live[k];
    if (kind == 9) s = (s + 1) % symbols;  // wrong symbol: unknown order there
    MdEventType t = kind == 5   ? MdEventType::Execute
                    : kind == 6 ? MdEventType::Cancel
                    : kind == 7 ? MdEventType::Replace
                                : MdEventType::Delete;
    MdEvent e = ev(t, id, side, px, q, s);
    if (t == MdEventType::Replace) {
      e.new_order_id = next;
      live[k].first = next++;
    }
    out.push_back(e);
  }
  out.push_back(ev(MdEventType::Clear, 0, Side::Buy, 0, 0, 1));
  return out;
}

TEST(SharedStore, AutoSharesOnlySmallBooks) {
  BookBuilder small(256);
  BookBuilder big(1 << 14);
  small.apply(ev(MdEventType::Add, 1, Side::Buy, 100, 1, 0));
  small.apply(ev(MdEventType::Add, 2, Side::Buy, 100, 1, 1));
  big.apply(ev(MdEventType::Add, 1, Side::Buy, 100, 1, 0));
  big.apply(ev(MdEventType::Add, 2, Side::Buy, 100, 1, 1));
  // Slots are numbered per store: in a shared one the second symbol's first order is slot 1.
  EXPECT_EQ(small.book(1)->index_of(2), 1u);
  EXPECT_EQ(big.book(1)->index_of(2), 0u);
}

void batch_equals_one_by_one(BookStore where) {
  std::vector<MdEvent> s = random_stream(40000, 37, 3);
  BookBuilder one(16, where);
  BookBuilder batch(16, where);
  for (const MdEvent& e : s) one.apply(e);
  batch.apply(s.data(), s.size());
  EXPECT_EQ(one.stats().by_status, batch.stats().by_status);
  EXPECT_EQ(one.stats().by_type, batch.stats().by_type);
  EXPECT_GT(one.stats().by_status[static_cast<size_t>(ErrorCode::UnknownOrder)], 0u);
  ASSERT_EQ(one.symbol_slots(), batch.symbol_slots());
  for (uint32_t sym = 0; sym < one.symbol_slots(); ++sym) {
    std::vector<int64_t> a(10 * kDepthCols), b(10 * kDepthCols);
    one.depth_row(sym, 10, a.data());
    batch.depth_row(sym, 10, b.data());
    ASSERT_EQ(a, b) << "symbol " << sym;
    ASSERT_EQ(one.book(sym)->order_count(), batch.book(sym)->order_count());
  }
}

TEST(SharedStore, BatchApplyEqualsOneByOne) { batch_equals_one_by_one(BookStore::Shared); }
TEST(SharedStore, BatchApplyEqualsOneByOnePerSymbol) {
  batch_equals_one_by_one(BookStore::PerSymbol);
}

// The shared store must give a book exactly what a book with its own store would hold.
TEST(SharedStore, EveryBookEqualsAStandaloneBook) {
  std::vector<MdEvent> s = random_stream(30000, 11, 4);
  BookBuilder shared(16, BookStore::Shared);
  std::vector<OrderBook> alone(11, OrderBook(16));
  for (const MdEvent& e : s) {
    ErrorCode got = shared.apply(e);
    OrderBook& b = alone[e.symbol_id];
    ErrorCode want;
    switch (static_cast<MdEventType>(e.type)) {
      case MdEventType::Add:
        want = b.add(e.order_id, static_cast<Side>(e.side), e.price, e.qty, e.ts_event);
        break;
      case MdEventType::Execute:
      case MdEventType::Cancel:
        want = b.reduce(e.order_id, e.qty);
        break;
      case MdEventType::Delete:
        want = b.remove(e.order_id);
        break;
      case MdEventType::Replace:
        want = b.replace(e.order_id, e.new_order_id, e.price, e.qty, e.ts_event);
        break;
      default:
        b.clear();
        want = ErrorCode::Ok;
    }
    ASSERT_EQ(got, want);
  }
  for (uint32_t sym = 0; sym < 11; ++sym) {
    const OrderBook& a = *shared.book(sym);
    const OrderBook& b = alone[sym];
    ASSERT_EQ(a.order_count(), b.order_count());
    for (Side side : {Side::Buy, Side::Sell}) {
      ASSERT_EQ(a.level_count(side), b.level_count(side));
      for (size_t i = 0; i < a.level_count(side); ++i) {
        std::vector<OrderId> qa, qb;
        a.for_each_order(a.level(side, i), [&](const OrderBook::Order& o) { qa.push_back(o.id); });
        b.for_each_order(b.level(side, i), [&](const OrderBook::Order& o) { qb.push_back(o.id); });
        ASSERT_EQ(qa, qb);
      }
    }
  }
}

}  // namespace
}  // namespace minihft
