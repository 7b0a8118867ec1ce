#include "minihft/lob/book_builder.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "minihft/lob/lobster_replay.hpp"

namespace minihft {
namespace {

MdEvent ev(MdEventType t, uint64_t id, Side s, Price px, Qty q, uint32_t sym = 0) {
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

Qty best_qty(const BookBuilder& b, Side s, uint32_t sym = 0) {
  const OrderBook* book = b.book(sym);
  return book && book->best(s) ? book->best(s)->qty : 0;
}

TEST(BookBuilder, AddBuildsBothSides) {
  BookBuilder b;
  EXPECT_EQ(b.apply(ev(MdEventType::Add, 1, Side::Buy, 100, 10)), ErrorCode::Ok);
  EXPECT_EQ(b.apply(ev(MdEventType::Add, 2, Side::Sell, 101, 5)), ErrorCode::Ok);
  EXPECT_EQ(b.apply(ev(MdEventType::Add, 3, Side::Buy, 100, 7)), ErrorCode::Ok);
  int64_t row[2 * kDepthCols];
  b.depth_row(0, 2, row);
  EXPECT_EQ(row[0], 101);
  EXPECT_EQ(row[1], 5);
  EXPECT_EQ(row[2], 100);
  EXPECT_EQ(row[3], 17);
  EXPECT_EQ(row[4], 0);  // empty second level
  EXPECT_EQ(row[7], 0);
}

TEST(BookBuilder, ExecuteAndExecuteAtPriceReduceTheRestingOrder) {
  BookBuilder b;
  b.apply(ev(MdEventType::Add, 1, Side::Sell, 200, 10));
  EXPECT_EQ(b.apply(ev(MdEventType::Execute, 1, Side::Sell, 0, 4)), ErrorCode::Ok);
  EXPECT_EQ(best_qty(b, Side::Sell), 6);
  // The trade price differs from the resting price; only the resting order's size changes.
  EXPECT_EQ(b.apply(ev(MdEventType::ExecuteAtPrice, 1, Side::Sell, 199, 6)), ErrorCode::Ok);
  EXPECT_TRUE(b.book(0)->empty(Side::Sell));
  EXPECT_EQ(b.apply(ev(MdEventType::Execute, 1, Side::Sell, 0, 1)), ErrorCode::UnknownOrder);
}

TEST(BookBuilder, CancelIsPartialAndKeepsPriority) {
  BookBuilder b;
  b.apply(ev(MdEventType::Add, 1, Side::Buy, 100, 10));
  b.apply(ev(MdEventType::Add, 2, Side::Buy, 100, 10));
  EXPECT_EQ(b.apply(ev(MdEventType::Cancel, 1, Side::Buy, 0, 3)), ErrorCode::Ok);
  const OrderBook* book = b.book(0);
  EXPECT_EQ(book->order_at(book->front(Side::Buy)).id, 1u);
  EXPECT_EQ(book->order_at(book->front(Side::Buy)).qty, 7);
  EXPECT_EQ(best_qty(b, Side::Buy), 17);
}

TEST(BookBuilder, OversizeReductionIsInvalidQtyAndChangesNothing) {
  BookBuilder b;
  b.apply(ev(MdEventType::Add, 1, Side::Buy, 100, 10));
  EXPECT_EQ(b.apply(ev(MdEventType::Cancel, 1, Side::Buy, 0, 11)), ErrorCode::InvalidQty);
  EXPECT_EQ(b.apply(ev(MdEventType::Execute, 1, Side::Buy, 0, 0)), ErrorCode::InvalidQty);
  EXPECT_EQ(best_qty(b, Side::Buy), 10);
}

TEST(BookBuilder, DeleteRemovesWholeOrderAndLevel) {
  BookBuilder b;
  b.apply(ev(MdEventType::Add, 1, Side::Sell, 105, 10));
  b.apply(ev(MdEventType::Add, 2, Side::Sell, 106, 10));
  EXPECT_EQ(b.apply(ev(MdEventType::Delete, 1, Side::Sell, 0, 0)), ErrorCode::Ok);
  EXPECT_EQ(b.book(0)->best(Side::Sell)->price, 106);
  EXPECT_EQ(b.apply(ev(MdEventType::Delete, 1, Side::Sell, 0, 0)), ErrorCode::UnknownOrder);
}

TEST(BookBuilder, ReplaceMovesToNewIdPriceAndLosesPriority) {
  BookBuilder b;
  b.apply(ev(MdEventType::Add, 1, Side::Buy, 100, 10));
  b.apply(ev(MdEventType::Add, 2, Side::Buy, 100, 10));
  MdEvent r = ev(MdEventType::Replace, 1, Side::Buy, 100, 4);
  r.new_order_id = 9;
  EXPECT_EQ(b.apply(r), ErrorCode::Ok);
  const OrderBook* book = b.book(0);
  EXPECT_EQ(book->find(1), nullptr);
  ASSERT_NE(book->find(9), nullptr);
  EXPECT_EQ(book->order_at(book->front(Side::Buy)).id, 2u);  // 9 went to the back
  EXPECT_EQ(best_qty(b, Side::Buy), 14);
  r.new_order_id = 2;  // new id already live
  r.order_id = 9;
  EXPECT_EQ(b.apply(r), ErrorCode::DuplicateOrderId);
  r.order_id = 77;
  EXPECT_EQ(b.apply(r), ErrorCode::UnknownOrder);
  MdEvent bad = ev(MdEventType::Replace, 9, Side::Buy, 0, 4);
  bad.new_order_id = 10;
  EXPECT_EQ(b.apply(bad), ErrorCode::InvalidPrice);
}

TEST(BookBuilder, HiddenTradeAndTradingStatusLeaveTheBook) {
  BookBuilder b;
  b.apply(ev(MdEventType::Add, 1, Side::Buy, 100, 10));
  EXPECT_EQ(b.apply(ev(MdEventType::HiddenTrade, 0, Side::Buy, 100, 50)), ErrorCode::Ok);
  MdEvent halt = ev(MdEventType::TradingStatus, 0, Side::Sell, 0, 0);
  halt.flags = 1;
  EXPECT_EQ(b.apply(halt), ErrorCode::Ok);
  EXPECT_EQ(best_qty(b, Side::Buy), 10);
  EXPECT_EQ(b.book(0)->order_count(), 1u);
}

TEST(BookBuilder, ClearDropsOnlyThatSymbol) {
  BookBuilder b;
  b.apply(ev(MdEventType::Add, 1, Side::Buy, 100, 10, 0));
  b.apply(ev(MdEventType::Add, 1, Side::Buy, 100, 10, 3));  // same id, other symbol: fine
  EXPECT_EQ(b.apply(ev(MdEventType::Clear, 0, Side::Buy, 0, 0, 0)), ErrorCode::Ok);
  EXPECT_EQ(b.book(0)->order_count(), 0u);
  EXPECT_EQ(b.book(3)->order_count(), 1u);
  EXPECT_EQ(b.apply(ev(MdEventType::Add, 1, Side::Buy, 100, 10, 0)), ErrorCode::Ok);
}

TEST(BookBuilder, ErrorPathsAreCountedNotThrown) {
  BookBuilder b;
  EXPECT_EQ(b.apply(ev(MdEventType::Cancel, 42, Side::Buy, 0, 1)), ErrorCode::UnknownOrder);
  EXPECT_EQ(b.apply(ev(MdEventType::Add, 1, Side::Buy, 100, 0)), ErrorCode::InvalidQty);
  EXPECT_EQ(b.apply(ev(MdEventType::Add, 1, Side::Buy, -5, 1)), ErrorCode::InvalidPrice);
  MdEvent side = ev(MdEventType::Add, 1, Side::Buy, 100, 1);
  side.side = 7;
  EXPECT_EQ(b.apply(side), ErrorCode::InvalidSide);
  EXPECT_EQ(b.apply(ev(MdEventType::Add, 1, Side::Buy, 100, 1)), ErrorCode::Ok);
  EXPECT_EQ(b.apply(ev(MdEventType::Add, 1, Side::Sell, 101, 1)), ErrorCode::DuplicateOrderId);
  MdEvent type = ev(MdEventType::Add, 2, Side::Buy, 100, 1);
  type.type = 0;
  EXPECT_EQ(b.apply(type), ErrorCode::InvalidType);
  type.type = 200;
  EXPECT_EQ(b.apply(type), ErrorCode::InvalidType);
  EXPECT_EQ(b.apply(ev(MdEventType::Add, 3, Side::Buy, 100, 1, 1u << 20)),
            ErrorCode::UnknownSymbol);
  const auto& s = b.stats();
  EXPECT_EQ(s.events, 9u);
  EXPECT_EQ(s.by_status[static_cast<size_t>(ErrorCode::Ok)], 1u);
  EXPECT_EQ(s.by_status[static_cast<size_t>(ErrorCode::UnknownOrder)], 1u);
  EXPECT_EQ(s.by_status[static_cast<size_t>(ErrorCode::InvalidType)], 2u);
  EXPECT_EQ(s.by_status[static_cast<size_t>(ErrorCode::UnknownSymbol)], 1u);
  EXPECT_EQ(s.by_type[static_cast<size_t>(MdEventType::Add)], 6u);
  EXPECT_EQ(s.by_type[0], 2u);  // type bytes 0 and 200: slot 0 holds every invalid type
  EXPECT_EQ(b.book(0)->order_count(), 1u);
}

TEST(BookBuilder, DeterministicAcrossRuns) {
  std::vector<MdEvent> evs;
  for (uint64_t i = 1; i <= 500; ++i) {
    evs.push_back(ev(MdEventType::Add, i, i % 2 ? Side::Buy : Side::Sell,
                     i % 2 ? 100 - Price(i % 7) : 110 + Price(i % 5), Qty(i % 13 + 1)));
    if (i % 3 == 0) evs.push_back(ev(MdEventType::Delete, i - 1, Side::Buy, 0, 0));
  }
  BookBuilder a, b;
  std::vector<int64_t> ra(5 * kDepthCols), rb(5 * kDepthCols);
  for (const MdEvent& e : evs) {
    ASSERT_EQ(a.apply(e), b.apply(e));
  }
  a.depth_row(0, 5, ra.data());
  b.depth_row(0, 5, rb.data());
  EXPECT_EQ(ra, rb);
}

// ---- LOBSTER replay ------------------------------------------------------------------------

std::vector<int64_t> row1(Price ask, Qty aq, Price bid, Qty bq) { return {ask, aq, bid, bq}; }

// Look-ahead hints change nothing, whatever they are given (frames of any type pass raw bytes),
// and are only worth giving while the shared store's ids are mostly direct.
TEST(BookBuilder, HintsChangeNothingAndFollowTheIndex) {
  BookBuilder b(256, BookStore::Shared);
  b.hint_far(7, 1);  // no book, no orders yet
  b.hint_near(7, 1);
  for (uint64_t id = 1; id <= 100; ++id) b.apply(ev(MdEventType::Add, id, Side::Buy, 100, 1, 3));
  for (uint64_t id : {uint64_t{5}, uint64_t{1} << 40, ~uint64_t{0}}) {
    for (uint32_t sym : {0u, 3u, 65535u}) {
      b.hint_far(static_cast<SymbolId>(sym), id);
      b.hint_near(static_cast<SymbolId>(sym), id);
    }
  }
  EXPECT_EQ(best_qty(b, Side::Buy, 3), 100);
  EXPECT_EQ(b.stats().events, 100u);
  EXPECT_TRUE(b.hints_find_orders());
  for (uint64_t k = 1; k <= 400; ++k) {  // ids past the direct range go to the hashed part
    b.apply(ev(MdEventType::Add, (uint64_t{1} << 40) + k, Side::Sell, 200, 1, 3));
  }
  EXPECT_FALSE(b.hints_find_orders());
  EXPECT_FALSE(BookBuilder(1 << 14, BookStore::PerSymbol).hints_find_orders());
}

TEST(LobsterReplay, SeedUndoesFirstMessageAndUnknownIdsHitTheAggregate) {
  // Row 1 is after message 1 (a 30-lot execution of a pre-existing bid): pre-book bid was 130.
  std::vector<MdEvent> evs = {ev(MdEventType::Execute, 900, Side::Buy, 100, 30),
                              ev(MdEventType::Delete, 901, Side::Buy, 100, 100),
                              ev(MdEventType::Add, 1, Side::Buy, 99, 5)};
  std::vector<int64_t> truth;
  for (auto r : {row1(101, 10, 100, 100), row1(101, 10, 99, 5), row1(101, 10, 99, 5)}) {
    truth.insert(truth.end(), r.begin(), r.end());
  }
  std::vector<uint8_t> st(3), eq(3);
  std::vector<int64_t> out(3 * kDepthCols);
  LobsterReplayStats s =
      lobster_replay(evs.data(), 3, truth.data(), 1, false, st.data(), out.data(), eq.data());
  EXPECT_EQ(s.unknown_order_events, 2u);
  EXPECT_EQ(s.unmatched_unknown, 0u);
  EXPECT_EQ(st[0], static_cast<uint8_t>(ErrorCode::UnknownOrder));
  EXPECT_EQ(out, (std::vector<int64_t>{101, 10, 100, 100, 101, 10, 0, 0, 101, 10, 99, 5}));
  // Row 2: bid side emptied by the delete, yet the file shows 99 x 5 only after row 3's add,
  // so row 2 is the one and only mismatch.
  EXPECT_EQ(eq, (std::vector<uint8_t>{1, 0, 1}));
}

TEST(LobsterReplay, ReconcileWritesDepthRevealedBeyondTheWindow) {
  // Level-1 file: the bid at 100 is deleted and 98 x 7 (never seen) shows up from below.
  std::vector<MdEvent> evs = {ev(MdEventType::Add, 1, Side::Buy, 100, 3),
                              ev(MdEventType::Delete, 1, Side::Buy, 100, 3),
                              ev(MdEventType::Execute, 555, Side::Buy, 98, 2)};
  std::vector<int64_t> truth;
  for (auto r : {row1(101, 10, 100, 3), row1(101, 10, 98, 7), row1(101, 10, 98, 5)}) {
    truth.insert(truth.end(), r.begin(), r.end());
  }
  std::vector<uint8_t> st(3);
  std::vector<int64_t> out(3 * kDepthCols);
  LobsterReplayStats s =
      lobster_replay(evs.data(), 3, truth.data(), 1, true, st.data(), out.data());
  EXPECT_EQ(s.reconciled_rows, 1u);
  EXPECT_EQ(s.first_reconciled_row, 1u);
  EXPECT_EQ(out, truth);
  // Without reconcile the revealed level is missing and the unknown execution has no home.
  s = lobster_replay(evs.data(), 3, truth.data(), 1, false, st.data(), out.data());
  EXPECT_EQ(s.reconciled_rows, 0u);
  EXPECT_EQ(s.unmatched_unknown, 1u);
  EXPECT_EQ(out[6], 0);
}

}  // namespace
}  // namespace minihft
