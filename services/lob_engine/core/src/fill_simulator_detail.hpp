// Helpers shared by fill_simulator.cpp (venue flow) and fill_simulator_orders.cpp (our orders).
#pragma once

#include <cstddef>
#include <cstdint>

#include "minihft/lob/order_book.hpp"
#include "minihft/lob/types.hpp"

namespace minihft::fill_detail {

// Same id space as lobster_replay's aggregates: LOBSTER/ITCH ids are far below it.
inline constexpr OrderId kSyntheticBase = OrderId{1} << 63;
inline constexpr size_t kMaxSymbols = 1 << 16;

inline uint64_t px_key(Side s, Price p) {
  return (static_cast<uint64_t>(p) << 1) | static_cast<uint64_t>(s);
}
// True when `p` is a better price than `than` for a resting order of side s.
inline bool better(Side s, Price p, Price than) { return s == Side::Buy ? p > than : p < than; }
inline bool crosses(Side side, Price limit, Price resting) {
  return side == Side::Buy ? limit >= resting : limit <= resting;
}

inline const OrderBook::Level* find_level(const OrderBook& b, Side s, Price p) {
  for (size_t i = 0, n = b.level_count(s); i < n; ++i) {
    const OrderBook::Level& l = b.level(s, i);
    if (l.price == p) return &l;
    if (better(s, p, l.price)) break;
  }
  return nullptr;
}

}  // namespace minihft::fill_detail
