// Synthetic ITCH generator: frames decode cleanly, every event applies to the BookBuilder, no book
// ever crosses, the message budget and the seed are honoured. The distributions are the tiny
// hand-made tables of tiny_synth_params.hpp; the fit to LOBSTER is tested in
// tests/unit/test_synthetic_itch.py.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "minihft/feed/itch.hpp"
#include "minihft/feed/synth.hpp"
#include "minihft/lob/book_builder.hpp"
#include "tiny_synth_params.hpp"

namespace itch = minihft::feed::itch;
using minihft::BookBuilder;
using minihft::ErrorCode;
using minihft::Side;
using minihft::feed::itch::testing::tiny_synth_params;

namespace {

std::vector<uint8_t> generate(const itch::SynthParams& p, size_t chunk) {
  itch::SynthGenerator g(p);
  std::vector<uint8_t> out;
  while (!g.done()) g.next(out, chunk);
  return out;
}

}  // namespace

TEST(ItchSynth, ValidStreamLiveReferencesNoCross) {
  const auto p = tiny_synth_params(7, 30'000, 4);
  const auto bytes = generate(p, 4096);
  itch::Output out;
  itch::Counters c;
  const auto r = itch::decode(bytes.data(), bytes.size(), 0, itch::OnError::Stop, out, c);
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.consumed, bytes.size());
  EXPECT_EQ(c.messages, 30'000u);
  ASSERT_EQ(out.system_events.size(), 2u);
  EXPECT_EQ(out.system_events.front().event_code, 'O');
  EXPECT_EQ(out.system_events.back().event_code, 'C');
  EXPECT_EQ(out.system_events.back().seq, 29'999u);
  EXPECT_EQ(out.stock_directory.size(), 4u);
  for (char t : {'A', 'F', 'E', 'C', 'X', 'D', 'U', 'P'}) EXPECT_GT(c.by_type[t], 0u) << t;

  BookBuilder books(64);
  int64_t last_ts = 0;
  for (const auto& e : out.events) {
    EXPECT_GE(e.ts_event, last_ts);
    last_ts = e.ts_event;
    ASSERT_EQ(books.apply(e), ErrorCode::Ok);
    const auto* b = books.book(e.symbol_id);
    ASSERT_NE(b, nullptr);
    const auto* bid = b->best(Side::Buy);
    const auto* ask = b->best(Side::Sell);
    if (bid && ask) {
      ASSERT_LT(bid->price, ask->price);
    }
  }
}

TEST(ItchSynth, SeededAndChunkIndependent) {
  const auto a = generate(tiny_synth_params(3, 5'000, 3), 1 << 20);
  const auto b = generate(tiny_synth_params(3, 5'000, 3), 100);
  const auto c = generate(tiny_synth_params(4, 5'000, 3), 1 << 20);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(ItchSynth, SmallestBudgetIsDirectoryAndSessionMarks) {
  const auto bytes = generate(tiny_synth_params(1, 5, 3), 1 << 10);
  itch::Output out;
  itch::Counters c;
  itch::decode(bytes.data(), bytes.size(), 0, itch::OnError::Stop, out, c);
  EXPECT_EQ(c.messages, 5u);
  EXPECT_TRUE(out.events.empty());
  EXPECT_EQ(out.stock_directory.size(), 3u);
}

// Spread buckets: the pooled table only ever joins the touch, the bucket from 2 ticks improves by
// one and the bucket from 3 ticks rests 7 behind, so each add's price follows the spread it saw.
TEST(ItchSynth, LimitOffsetsFollowTheSpreadBucket) {
  auto p = tiny_synth_params(5, 20'000, 2);
  p.offset_ticks = {0,
                    0,
                    0,
                    itch::kMarketable - 150,
                    itch::kMarketable,
                    itch::kSpreadBucket - 2,
                    -1,
                    itch::kSpreadBucket - 3,
                    7};
  const auto bytes = generate(p, 1 << 16);
  itch::Output out;
  itch::Counters c;
  itch::decode(bytes.data(), bytes.size(), 0, itch::OnError::Stop, out, c);
  BookBuilder books(64);
  size_t seen[4] = {0, 0, 0, 0};  // adds checked at spread 1, 2, >= 3, and the aggressors' runs
  for (const auto& e : out.events) {
    const auto* b = books.book(e.symbol_id);
    const auto* bid = b ? b->best(Side::Buy) : nullptr;
    const auto* ask = b ? b->best(Side::Sell) : nullptr;
    if (e.type == static_cast<uint8_t>(minihft::MdEventType::Add) && bid && ask) {
      const int64_t spread = (ask->price - bid->price) / p.tick;
      const bool buy = e.side == static_cast<uint8_t>(Side::Buy);
      const int64_t behind = (buy ? bid->price - e.price : e.price - ask->price) / p.tick;
      const int64_t want = spread == 1 ? 0 : spread == 2 ? -1 : 7;
      ASSERT_EQ(behind, want) << "spread " << spread;
      ++seen[std::min<int64_t>(spread, 3) - 1];
    }
    if (e.type == static_cast<uint8_t>(minihft::MdEventType::Execute)) ++seen[3];
    ASSERT_EQ(books.apply(e), ErrorCode::Ok);
  }
  EXPECT_GT(seen[0], 0u);
  EXPECT_GT(seen[1], 0u);
  EXPECT_GT(seen[2], 0u);
  EXPECT_GT(seen[3], 0u);  // the marks did not dilute or break the marketable entries
}
