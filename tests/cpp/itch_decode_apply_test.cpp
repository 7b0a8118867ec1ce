// decode_apply (books built as frames are decoded) against decode followed by BookBuilder::apply:
// the same books, stats, counters and reference records, on a generated day cut into slices whose
// edges split frames, with orders that do not exist and a frame that stops the decode mixed in.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "minihft/feed/itch.hpp"
#include "minihft/feed/synth.hpp"
#include "minihft/lob/book_builder.hpp"
#include "tiny_synth_params.hpp"

namespace itch = minihft::feed::itch;
using minihft::BookBuilder;
using minihft::Side;

namespace {

itch::SynthParams params(size_t symbols) {
  itch::SynthParams p = itch::testing::tiny_synth_params(11, 60000, symbols);
  p.offset_ticks = {-3, -1, 0, 0, 1, 2, 5, 20, 40, itch::kMarketable};
  return p;
}

// A D frame (19 bytes after the 2-byte length) for an order reference no add ever used.
void put_unknown_delete(std::vector<uint8_t>& out, uint16_t locate, uint64_t ref) {
  uint8_t f[21] = {0, 19, 'D'};
  f[3] = static_cast<uint8_t>(locate >> 8);
  f[4] = static_cast<uint8_t>(locate);
  for (int i = 0; i < 8; ++i) f[13 + i] = static_cast<uint8_t>(ref >> (56 - 8 * i));
  out.insert(out.end(), f, f + sizeof f);
}

struct Pass {
  BookBuilder books{256};
  itch::Output out;
  itch::Counters c;
  size_t directory = 0;
  itch::FaultInfo fault;
};

// fused: 0 decode then apply, 1 decode_apply, 2 decode_apply with look-ahead from the start.
void run(const std::vector<uint8_t>& data, size_t slice, int fused, Pass& r) {
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t n = std::min(slice, data.size() - pos);
    const auto d = fused ? itch::decode_apply(data.data() + pos, n, pos, itch::OnError::Stop, r.out,
                                              r.c, r.books)
                         : itch::decode(data.data() + pos, n, pos, itch::OnError::Stop, r.out, r.c);
    if (!fused) r.books.apply(r.out.events.data(), r.out.events.size());
    EXPECT_TRUE(!fused || r.out.events.empty());  // book events never reach out.events
    r.directory += r.out.stock_directory.size();
    r.out.clear();
    if (d.fault) {
      r.fault = d.fault;
      break;
    }
    if (d.consumed == 0) break;
    pos += d.consumed;
  }
}

TEST(ItchDecodeApply, SameBooksStatsAndCountersAsDecodeThenApply) {
  itch::SynthGenerator g(params(6));
  std::vector<uint8_t> data;
  while (!g.done()) {
    g.next(data, 1 << 14);
    put_unknown_delete(data, 2, (uint64_t{1} << 40) + data.size());  // UnknownOrder, far id
    put_unknown_delete(data, 3, data.size());                        // UnknownOrder, near id
  }
  const uint8_t bad[] = {0, 5, '!', 0, 0, 0, 0};  // unknown type: Stop ends both runs here
  data.insert(data.end(), bad, bad + sizeof bad);
  data.insert(data.end(), 64, 0xAB);

  for (size_t slice : {size_t{4096}, size_t{1000}, size_t{1} << 20})
    for (int mode : {1, 2}) {
      SCOPED_TRACE(testing::Message() << "slice " << slice << " mode " << mode);
      Pass a, b;
      run(data, slice, 0, a);
      run(data, slice, mode, b);
      ASSERT_EQ(a.fault.fault, itch::Fault::UnknownType);
      EXPECT_EQ(a.fault.offset, b.fault.offset);
      EXPECT_EQ(a.fault.fault, b.fault.fault);
      EXPECT_EQ(a.c.messages, b.c.messages);
      EXPECT_EQ(a.c.bytes, b.c.bytes);
      EXPECT_EQ(a.c.md_events, b.c.md_events);
      EXPECT_EQ(a.c.by_type, b.c.by_type);
      EXPECT_EQ(a.directory, b.directory);
      const auto& sa = a.books.stats();
      const auto& sb = b.books.stats();
      EXPECT_EQ(sa.events, sb.events);
      EXPECT_EQ(sa.by_type, sb.by_type);
      EXPECT_EQ(sa.by_status, sb.by_status);
      EXPECT_GT(sa.by_status[static_cast<size_t>(minihft::ErrorCode::UnknownOrder)], 0u);
      ASSERT_EQ(a.books.symbol_slots(), b.books.symbol_slots());
      size_t live = 0;
      for (size_t s = 0; s < a.books.symbol_slots(); ++s) {
        const auto sym = static_cast<minihft::SymbolId>(s);
        ASSERT_EQ(a.books.book(sym) == nullptr, b.books.book(sym) == nullptr);
        if (a.books.book(sym) == nullptr) continue;
        EXPECT_EQ(a.books.book(sym)->order_count(), b.books.book(sym)->order_count());
        live += a.books.book(sym)->order_count();
        std::vector<int64_t> ra(50 * minihft::kDepthCols), rb(ra.size());
        a.books.depth_row(sym, 50, ra.data());
        b.books.depth_row(sym, 50, rb.data());
        EXPECT_EQ(ra, rb) << "symbol " << s;
      }
      EXPECT_GT(live, 0u);
    }
}

}  // namespace
