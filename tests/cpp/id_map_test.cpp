// DirectOrderIndex's choice between direct pages and the hashed part: a dense feed whose ids rise
// for millions of ids (with orders resting for hours) stays direct, a sparse one is hashed; results
// always equal a reference map.
#include "minihft/lob/id_map.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <map>
#include <random>
#include <utility>

namespace minihft {
namespace {

// Rising ids as a feed hands them out: most orders leave within a few thousand ids, one in `keep`
// rests to the end, so the pages they hold open are sparse while new ids are dense.
TEST(DirectOrderIndex, DenseRisingIdsStayDirectWhileRestingOrdersPileUp) {
  DirectOrderIndex idx;
  std::deque<OrderId> recent;
  std::map<OrderId, uint32_t> resting;
  const uint64_t n = 3'000'000, keep = 97;
  for (OrderId id = 1; id <= n; ++id) {
    const auto owner = static_cast<uint32_t>(id % 3000);
    ASSERT_TRUE(idx.insert(id, owner, static_cast<uint32_t>(id)));
    if (id % keep == 0) {
      resting[id] = owner;
    } else {
      recent.push_back(id);
    }
    if (recent.size() > 4000) {
      const OrderId old = recent.front();
      recent.pop_front();
      ASSERT_TRUE(idx.erase(old, static_cast<uint32_t>(old % 3000)));
    }
  }
  EXPECT_EQ(idx.hashed(), 0u);  // the old rule (fill of open pages) hashed most ids past ~1M
  EXPECT_EQ(idx.size(), resting.size() + recent.size());
  for (const auto& [id, owner] : resting) ASSERT_EQ(idx.find(id, owner), id);
  for (OrderId id : recent) ASSERT_EQ(idx.find(id, static_cast<uint32_t>(id % 3000)), id);
  EXPECT_EQ(idx.find(keep, 1), DirectOrderIndex::kMissing);  // right id, wrong owner
  EXPECT_EQ(idx.find(keep + 1, (keep + 1) % 3000), DirectOrderIndex::kMissing);  // erased
}

// One symbol's orders out of a market-wide sequence (LOBSTER: ~1 % of ids up to ~3e8): a page
// per order would waste memory and cache, so once the free pages are open these ids are hashed.
TEST(DirectOrderIndex, SparseIdsOverAWideRangeGoToTheHashedPart) {
  DirectOrderIndex idx;
  std::map<OrderId, uint32_t> ref;
  std::mt19937_64 rng(11);
  OrderId id = 10'000'000;
  for (uint32_t k = 0; k < 200'000; ++k) {
    id += 1 + rng() % 2000;  // ~1 id in 1000
    ASSERT_TRUE(idx.insert(id, 0, k));
    ref[id] = k;
    if (ref.size() > 3000) {  // a few thousand live orders, oldest leave first
      ASSERT_TRUE(idx.erase(ref.begin()->first, 0));
      ref.erase(ref.begin());
    }
  }
  EXPECT_GT(idx.hashed(), 0u);
  EXPECT_EQ(idx.size(), ref.size());
  for (const auto& [i, v] : ref) ASSERT_EQ(idx.find(i, 0), v);
}

// Erase and insert again, per owner, in a page that drains and reopens in between.
TEST(DirectOrderIndex, EraseReinsertAndDuplicatesPerOwner) {
  DirectOrderIndex idx;
  for (uint32_t owner = 0; owner < 3; ++owner) ASSERT_TRUE(idx.insert(5000, owner, owner));
  EXPECT_EQ(idx.hashed(), 2u);  // the first owner holds the direct entry, the others are hashed
  EXPECT_FALSE(idx.insert(5000, 1, 9));  // duplicate of owner 1's
  EXPECT_EQ(idx.find(5000, 1), 1u);
  ASSERT_TRUE(idx.erase(5000, 0));
  EXPECT_FALSE(idx.erase(5000, 0));
  ASSERT_TRUE(idx.insert(5000, 0, 7));  // back under the same owner
  EXPECT_EQ(idx.find(5000, 0), 7u);
  for (uint32_t owner = 0; owner < 3; ++owner) ASSERT_TRUE(idx.erase(5000, owner));
  EXPECT_EQ(idx.size(), 0u);
  ASSERT_TRUE(idx.insert(5001, 2, 8));  // the page drained: this reopens one
  EXPECT_EQ(idx.find(5000, 2), DirectOrderIndex::kMissing);
  EXPECT_EQ(idx.find(5001, 2), 8u);
  EXPECT_EQ(idx.hashed(), 0u);
}

// Random operations against a reference map: consecutive ids, one id per page, and a stride that
// lands on every page offset.
TEST(DirectOrderIndex, MatchesReferenceMapOnPageStrideAndMoves) {
  for (uint64_t stride : {uint64_t{1}, uint64_t{1024}, uint64_t{1025}}) {
    DirectOrderIndex idx(16);
    std::map<std::pair<OrderId, uint32_t>, uint32_t> ref;
    std::mt19937_64 rng(stride);
    uint64_t next = 1;
    for (uint32_t step = 0; step < 50000; ++step) {
      const uint64_t r = rng();
      const auto owner = static_cast<uint32_t>(r % 3);
      const OrderId id = (r >> 8) % 2 == 0 ? next++ * stride : ((r >> 16) % (next + 1)) * stride;
      const auto key = std::make_pair(id, owner);
      if ((r >> 40) % 2 == 0) {
        const bool fresh = ref.find(key) == ref.end();
        ASSERT_EQ(idx.insert(id, owner, step), fresh);
        if (fresh) ref[key] = step;
      } else {
        ASSERT_EQ(idx.erase(id, owner), ref.erase(key) == 1);
      }
      if (step == 25000) {  // a moved-to and a copied index carry on with the same contents
        DirectOrderIndex copy(idx);
        idx = std::move(copy);
      }
    }
    ASSERT_EQ(idx.size(), ref.size());
    for (const auto& [k, v] : ref) ASSERT_EQ(idx.find(k.first, k.second), v);
  }
}

// The look-ahead hints guess without branches: the slot of a direct id, kMissing for an id whose
// page is closed, and some entry (never a fault) for ids past the directory or an empty index.
TEST(DirectOrderIndex, HintsGuessDirectSlotsAndNeverFault) {
  DirectOrderIndex idx;
  EXPECT_EQ(idx.hint_value(123), DirectOrderIndex::kMissing);  // empty: no directory yet
  EXPECT_NE(idx.hint_line(123), nullptr);
  ASSERT_TRUE(idx.insert(5000, 1, 77));
  EXPECT_EQ(idx.hint_value(5000), 77u);
  EXPECT_EQ(idx.hint_value(5001), DirectOrderIndex::kMissing);
  EXPECT_EQ(idx.hint_value(100), DirectOrderIndex::kMissing);  // page 0 never opened
  EXPECT_NE(idx.hint_line(uint64_t{1} << 50), nullptr);        // past the directory
  (void)idx.hint_value(uint64_t{1} << 50);                     // reads some entry, no fault
  ASSERT_TRUE(idx.erase(5000, 1));                             // the page drains and closes
  EXPECT_EQ(idx.hint_value(5000), DirectOrderIndex::kMissing);
}

}  // namespace
}  // namespace minihft
