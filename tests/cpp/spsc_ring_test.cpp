#include "minihft/common/spsc_ring.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <thread>
#include <vector>

namespace minihft {
namespace {

TEST(SpscRing, CapacityRoundsUpToPowerOfTwo) {
  EXPECT_EQ(SpscRing<uint8_t>(1).capacity(), 2u);
  EXPECT_EQ(SpscRing<uint8_t>(100).capacity(), 128u);
  EXPECT_EQ(SpscRing<uint8_t>(128).capacity(), 128u);
}

TEST(SpscRing, FullAndEmpty) {
  SpscRing<uint32_t> r(4);
  uint32_t v = 0;
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.try_pop(v));
  for (uint32_t i = 0; i < 4; ++i) EXPECT_TRUE(r.try_push(i));
  EXPECT_FALSE(r.try_push(99));  // full: no slot is sacrificed, and none is overwritten
  EXPECT_EQ(r.size(), 4u);
  EXPECT_EQ(r.free_space(), 0u);
  for (uint32_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(r.try_pop(v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(r.try_pop(v));
  EXPECT_EQ(r.free_space(), 4u);
}

TEST(SpscRing, WraparoundKeepsOrderAcrossTheEnd) {
  SpscRing<uint8_t> r(8);
  uint8_t out[8];
  uint8_t next_in = 0, next_out = 0;
  // Chunks of 3 against capacity 8 put every split point of the buffer under test.
  for (int round = 0; round < 50; ++round) {
    uint8_t in[3] = {next_in, static_cast<uint8_t>(next_in + 1), static_cast<uint8_t>(next_in + 2)};
    ASSERT_TRUE(r.push_all(in, 3));
    next_in = static_cast<uint8_t>(next_in + 3);
    const size_t k = r.pop_n(out, 3);
    ASSERT_EQ(k, 3u);
    for (size_t i = 0; i < k; ++i) EXPECT_EQ(out[i], next_out++);
  }
}

TEST(SpscRing, BatchPushIsPartialPushAllIsAtomic) {
  SpscRing<uint8_t> r(8);
  const uint8_t src[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_EQ(r.push_n(src, 10), 8u);
  EXPECT_FALSE(r.push_all(src, 1));
  uint8_t out[16];
  EXPECT_EQ(r.pop_n(out, 5), 5u);
  EXPECT_FALSE(r.push_all(src, 6));  // only 5 free: nothing may be written
  EXPECT_EQ(r.size(), 3u);
  EXPECT_TRUE(r.push_all2(src, 2, src + 7, 3));
  EXPECT_EQ(r.pop_n(out, 16), 8u);
  const uint8_t want[8] = {5, 6, 7, 0, 1, 7, 8, 9};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(out[i], want[i]) << i;
}

TEST(SpscRing, PeekDoesNotConsume) {
  SpscRing<uint16_t> r(16);
  const uint16_t src[4] = {10, 20, 30, 40};
  ASSERT_TRUE(r.push_all(src, 4));
  uint16_t out[4];
  EXPECT_EQ(r.peek_n(out, 4), 4u);
  EXPECT_EQ(r.size(), 4u);
  r.consume(2);
  EXPECT_EQ(r.pop_n(out, 4), 2u);
  EXPECT_EQ(out[0], 30);
  EXPECT_EQ(out[1], 40);
}

struct Seq {
  uint64_t seq;
  uint64_t check;
};

// Two threads, 10M+ sequenced records through a small ring: order kept, nothing lost or torn.
TEST(SpscRingStress, TwoThreadsKeepOrderAndLoseNothing) {
#if defined(__SANITIZE_THREAD__)
  constexpr uint64_t kN = 2'000'000;  // TSan is ~10x slower; the interleavings are what it checks
#else
  constexpr uint64_t kN = 10'000'000;
#endif
  SpscRing<Seq> r(1024);
  std::thread producer([&] {
    Seq batch[37];
    uint64_t next = 0;
    while (next < kN) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(37, kN - next));
      for (size_t i = 0; i < want; ++i) batch[i] = {next + i, ~(next + i)};
      size_t done = 0;
      while (done < want) {
        const size_t k = r.push_n(batch + done, want - done);
        if (k == 0) std::this_thread::yield();
        done += k;
      }
      next += want;
    }
  });
  uint64_t expect = 0, bad = 0;
  Seq out[64];
  while (expect < kN) {
    const size_t k = r.pop_n(out, 64);
    if (k == 0) {
      std::this_thread::yield();
      continue;
    }
    for (size_t i = 0; i < k; ++i) {
      bad += (out[i].seq != expect) | (out[i].check != ~expect);
      ++expect;
    }
  }
  producer.join();
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(expect, kN);
  EXPECT_TRUE(r.empty());
}

}  // namespace
}  // namespace minihft
