// The flatc-generated wire structs must be the core's structs byte for byte, so a batch vector in
// a FlatBuffer is used in place as a span of minihft::MdEvent etc. with no per-event decoding.
#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "commands_generated.h"
#include "exec_events_generated.h"
#include "md_book_generated.h"
#include "md_events_generated.h"
#include "minihft/lob/types.hpp"
#include "signals_generated.h"

namespace fbs = minihft::schema;

namespace {

template <class A, class B>
constexpr bool same_layout() {
  return sizeof(A) == sizeof(B) && alignof(A) == alignof(B) && std::is_trivially_copyable_v<A> &&
         std::is_trivially_copyable_v<B> && std::is_standard_layout_v<A> &&
         std::is_standard_layout_v<B>;
}
static_assert(same_layout<fbs::MdEvent, minihft::MdEvent>());
static_assert(same_layout<fbs::OrderCommand, minihft::OrderCommand>());
static_assert(same_layout<fbs::ExecReport, minihft::ExecReport>());
static_assert(same_layout<fbs::DepthLevel, minihft::DepthLevel>());
static_assert(sizeof(fbs::HopStamp) == 16);
static_assert(sizeof(fbs::BookUpdate) == 32 + 2 * 10 * sizeof(minihft::DepthLevel));
static_assert(sizeof(fbs::Signal) == 48);

template <class E, class F>
constexpr bool same_value(E e, F f) {
  return static_cast<uint8_t>(e) == static_cast<uint8_t>(f);
}
static_assert(same_value(fbs::Side::Sell, minihft::Side::Sell));
static_assert(same_value(fbs::MdEventType::Add, minihft::MdEventType::Add));
static_assert(same_value(fbs::MdEventType::Replace, minihft::MdEventType::Replace));
static_assert(same_value(fbs::MdEventType::TradingStatus, minihft::MdEventType::TradingStatus));
static_assert(same_value(fbs::MdEventType::MAX, minihft::MdEventType::TradingStatus));
static_assert(same_value(fbs::CommandType::ReplaceOrder, minihft::CommandType::ReplaceOrder));
static_assert(same_value(fbs::OrderType::Market, minihft::OrderType::Market));
static_assert(same_value(fbs::TimeInForce::FOK, minihft::TimeInForce::FOK));
static_assert(same_value(fbs::ExecType::OrderReplaced, minihft::ExecType::OrderReplaced));
static_assert(same_value(fbs::ExecType::MAX, minihft::ExecType::OrderReplaced));
static_assert(same_value(fbs::Liquidity::Taker, minihft::Liquidity::Taker));
static_assert(same_value(fbs::ErrorCode::SelfMatch, minihft::ErrorCode::SelfMatch));
static_assert(same_value(fbs::ErrorCode::MAX, minihft::ErrorCode::UnknownSymbol));

// Generated members are private, so offsets are compared by value: every byte of the core
// struct gets a different value, the bytes are copied into the generated struct, and each
// accessor must return the core field at the same name. A field at another offset would read
// other bytes.
template <class T>
T patterned() {
  T t;
  unsigned char raw[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) raw[i] = static_cast<unsigned char>(i * 7 + 1);
  std::memcpy(&t, raw, sizeof(T));
  return t;
}

template <class To, class From>
To copy_as(const From& from) {
  return std::bit_cast<To>(from);
}

#define EXPECT_FIELD(core, gen, name) \
  EXPECT_EQ(static_cast<uint64_t>(core.name), static_cast<uint64_t>(gen.name())) << #name

TEST(SchemaLayout, MdEventFieldsAtSameOffsets) {
  const auto c = patterned<minihft::MdEvent>();
  const auto g = copy_as<fbs::MdEvent>(c);
  EXPECT_FIELD(c, g, ts_event);
  EXPECT_FIELD(c, g, ts_recv);
  EXPECT_FIELD(c, g, order_id);
  EXPECT_FIELD(c, g, new_order_id);
  EXPECT_FIELD(c, g, price);
  EXPECT_FIELD(c, g, qty);
  EXPECT_FIELD(c, g, symbol_id);
  EXPECT_FIELD(c, g, type);
  EXPECT_FIELD(c, g, side);
  EXPECT_FIELD(c, g, flags);
  EXPECT_FIELD(c, g, reserved);
}

TEST(SchemaLayout, OrderCommandFieldsAtSameOffsets) {
  const auto c = patterned<minihft::OrderCommand>();
  const auto g = copy_as<fbs::OrderCommand>(c);
  EXPECT_FIELD(c, g, ts);
  EXPECT_FIELD(c, g, order_id);
  EXPECT_FIELD(c, g, price);
  EXPECT_FIELD(c, g, qty);
  EXPECT_FIELD(c, g, account);
  EXPECT_FIELD(c, g, symbol_id);
  EXPECT_FIELD(c, g, type);
  EXPECT_FIELD(c, g, side);
  EXPECT_FIELD(c, g, order_type);
  EXPECT_FIELD(c, g, tif);
  EXPECT_FIELD(c, g, flags);
  EXPECT_FIELD(c, g, reserved);
}

TEST(SchemaLayout, ExecReportFieldsAtSameOffsets) {
  const auto c = patterned<minihft::ExecReport>();
  const auto g = copy_as<fbs::ExecReport>(c);
  EXPECT_FIELD(c, g, ts);
  EXPECT_FIELD(c, g, order_id);
  EXPECT_FIELD(c, g, contra_order_id);
  EXPECT_FIELD(c, g, price);
  EXPECT_FIELD(c, g, qty);
  EXPECT_FIELD(c, g, leaves_qty);
  EXPECT_FIELD(c, g, account);
  EXPECT_FIELD(c, g, symbol_id);
  EXPECT_FIELD(c, g, type);
  EXPECT_FIELD(c, g, side);
  EXPECT_FIELD(c, g, reason);
  EXPECT_FIELD(c, g, liquidity);
}

TEST(SchemaLayout, DepthLevelFieldsAtSameOffsets) {
  const auto c = patterned<minihft::DepthLevel>();
  const auto g = copy_as<fbs::DepthLevel>(c);
  EXPECT_FIELD(c, g, price);
  EXPECT_FIELD(c, g, qty);
  EXPECT_FIELD(c, g, orders);
  EXPECT_FIELD(c, g, reserved);
}

std::vector<minihft::MdEvent> sample_events(size_t n) {
  std::vector<minihft::MdEvent> out(n);
  for (size_t i = 0; i < n; ++i) {
    auto& e = out[i];
    e.ts_event = 1'000'000 + static_cast<int64_t>(i);
    e.ts_recv = e.ts_event + 250;
    e.order_id = 100 + i;
    e.new_order_id = i % 3 == 0 ? 900 + i : 0;
    e.price = 1'234'500 + static_cast<int64_t>(i) * 100;
    e.qty = 10 * static_cast<int64_t>(i + 1);
    e.symbol_id = 7;
    e.type = static_cast<uint8_t>(minihft::MdEventType::Add);
    e.side = static_cast<uint8_t>(i % 2);
  }
  return out;
}

std::vector<uint8_t> build_md_batch(const std::vector<minihft::MdEvent>& events) {
  flatbuffers::FlatBufferBuilder fbb(1024);
  fbs::MdEvent* dst = nullptr;
  auto vec = fbb.CreateUninitializedVectorOfStructs(events.size(), &dst);
  std::memcpy(static_cast<void*>(dst), events.data(), events.size() * sizeof(minihft::MdEvent));
  const fbs::HopStamp hops[] = {
      fbs::HopStamp(5'000, fbs::Stage::FeedHandler, fbs::HopPoint::Publish, 2, 0)};
  auto hop_vec = fbb.CreateVectorOfStructs(hops, 1);
  fbs::FinishMdEventBatchBuffer(fbb, fbs::CreateMdEventBatch(fbb, 7, 99, hop_vec, vec));
  return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

TEST(SchemaBatch, MdEventBatchRoundTripsAsCoreStructs) {
  const auto events = sample_events(33);
  const auto buf = build_md_batch(events);

  flatbuffers::Verifier verifier(buf.data(), buf.size());
  ASSERT_TRUE(fbs::VerifyMdEventBatchBuffer(verifier));
  ASSERT_TRUE(fbs::MdEventBatchBufferHasIdentifier(buf.data()));
  const auto* batch = fbs::GetMdEventBatch(buf.data());
  EXPECT_EQ(batch->symbol_id(), 7u);
  EXPECT_EQ(batch->batch_seq(), 99u);
  ASSERT_EQ(batch->hops()->size(), 1u);
  EXPECT_EQ(batch->hops()->Get(0)->ts(), 5'000);
  EXPECT_EQ(batch->hops()->Get(0)->stage(), fbs::Stage::FeedHandler);
  EXPECT_EQ(batch->hops()->Get(0)->instance(), 2);

  const auto* vec = batch->events();
  ASSERT_EQ(vec->size(), events.size());
  std::vector<minihft::MdEvent> back(vec->size());
  std::memcpy(back.data(), vec->Data(), back.size() * sizeof(minihft::MdEvent));
  EXPECT_EQ(std::memcmp(back.data(), events.data(), back.size() * sizeof(minihft::MdEvent)), 0);
  EXPECT_EQ(vec->Get(4)->price(), events[4].price);
  EXPECT_EQ(vec->Get(3)->new_order_id(), events[3].new_order_id);
  EXPECT_EQ(vec->Get(5)->side(), fbs::Side::Sell);
  // The vector payload sits 8-aligned, so the bytes can be read in place as core structs.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(vec->Data()) % alignof(minihft::MdEvent),
            reinterpret_cast<uintptr_t>(buf.data()) % alignof(minihft::MdEvent));
}

TEST(SchemaBatch, VerifierRejectsWrongSchemaAndTruncation) {
  const auto buf = build_md_batch(sample_events(4));
  EXPECT_FALSE(fbs::OrderCommandBatchBufferHasIdentifier(buf.data()));
  flatbuffers::Verifier wrong(buf.data(), buf.size());
  EXPECT_FALSE(fbs::VerifyOrderCommandBatchBuffer(wrong));
  for (size_t cut = 0; cut < buf.size(); ++cut) {
    flatbuffers::Verifier v(buf.data(), cut);
    EXPECT_FALSE(fbs::VerifyMdEventBatchBuffer(v)) << "accepted a buffer cut at " << cut;
  }
}

TEST(SchemaBatch, BookUpdateCarriesFixedDepthLevels) {
  flatbuffers::FlatBufferBuilder fbb;
  std::array<fbs::DepthLevel, 10> bids{};
  std::array<fbs::DepthLevel, 10> asks{};
  bids[0] = copy_as<fbs::DepthLevel>(minihft::DepthLevel{1'000'100, 300, 2, 0});
  bids[1] = copy_as<fbs::DepthLevel>(minihft::DepthLevel{1'000'000, 100, 1, 0});
  asks[0] = copy_as<fbs::DepthLevel>(minihft::DepthLevel{1'000'200, 50, 1, 0});
  const fbs::BookUpdate u(10, 20, 30, 7, 2, 1, 0, flatbuffers::make_span(bids),
                          flatbuffers::make_span(asks));
  auto vec = fbb.CreateVectorOfStructs(&u, 1);
  fbs::FinishBookUpdateBatchBuffer(fbb, fbs::CreateBookUpdateBatch(fbb, 7, 1, 0, vec));

  flatbuffers::Verifier verifier(fbb.GetBufferPointer(), fbb.GetSize());
  ASSERT_TRUE(fbs::VerifyBookUpdateBatchBuffer(verifier));
  const auto* got = fbs::GetBookUpdateBatch(fbb.GetBufferPointer())->updates()->Get(0);
  EXPECT_EQ(got->n_bids(), 2);
  EXPECT_EQ(got->bids()->Get(1)->price(), 1'000'000);
  EXPECT_EQ(got->bids()->Get(0)->orders(), 2u);
  EXPECT_EQ(got->asks()->Get(0)->qty(), 50);
  EXPECT_EQ(got->asks()->Get(1)->price(), 0);
  const auto level = copy_as<minihft::DepthLevel>(*got->bids()->Get(0));
  EXPECT_EQ(level.qty, 300);
}

}  // namespace
