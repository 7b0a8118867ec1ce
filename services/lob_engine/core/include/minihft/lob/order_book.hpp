// Single-symbol L3 limit order book: price-time FIFO per level, O(1) lookup by order id.
//
// Storage is index-based so nothing on the hot path allocates once pools have grown:
//  - orders live in a pool, linked into their level's FIFO by prev/next indices;
//  - levels live in a pool with stable indices; each side keeps a vector of (price, level index)
//    sorted so the best price is at the back. Activity clusters at the touch, so inserting or
//    erasing a level moves only the few entries between it and the back. (A price -> level hash map
//    was tried for adds, 2026-11-25: fewer instructions on deep books, but on the default synthetic
//    day, where most adds open a level, its inserts and erases cost ~8% more than they saved.
//    Levels kept in the sorted sides themselves, found by price, were tried the same day: the
//    same speed on the 3000-symbol day once the book and touch are prefetched, but ~8% more
//    instructions on the default day and a search per cancel on deep LOBSTER books.)
// The book is pure state: the venue book builder and the matching engine both drive it.
//
// Orders and the id index live in a Store. A book made with `OrderBook(expected)` owns its store;
// a BookBuilder makes every symbol's book share one store, each book under its own owner number:
// with thousands of symbols, per-book pools and tables would each be cold, while one table sees
// the feed's consecutive order ids land in the same few cache lines, and one free list hands an
// add the slot a delete has just released. Either way a book's API and results are the same.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "minihft/lob/id_map.hpp"
#include "minihft/lob/types.hpp"

namespace minihft {

// Cache-line aligned: the members an event reads are two lines, not three (thousands of books:
// each is a cache miss a decoder prefetches ahead, see BookBuilder::prefetch_book).
class alignas(64) OrderBook {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // One cache line each: a delete touches an order and its two queue neighbours, and at 56 bytes
  // most orders would straddle two lines.
  struct alignas(64) Order {
    OrderId id;
    Price price;
    Qty qty;
    Nanos ts;       // time the order took its current queue position
    uint64_t tag;   // owner data for the caller (account, flags); the book never reads it
    uint32_t prev;  // towards the head (older)
    uint32_t next;  // towards the tail (newer)
    uint32_t level;
    Side side;
  };

  struct Level {
    Price price;
    Qty qty;
    uint32_t count;
    uint32_t head;  // oldest order: first to fill
    uint32_t tail;
  };

  struct Store {
    explicit Store(size_t expected_orders = 1024) : ids(expected_orders) {
      orders.reserve(expected_orders);
    }
    DirectOrderIndex ids;  // (order id, book owner number) -> slot in orders
    std::vector<Order, PoolAllocator<Order>> orders;
    std::vector<uint32_t> free_orders;
  };

  explicit OrderBook(size_t expected_orders = 1 << 14)
      : own_(std::make_unique<Store>(expected_orders)), s_(own_.get()) {}
  // A book inside a shared store; `owner` tells its orders from other books' (same id allowed).
  OrderBook(Store* shared, uint32_t owner) : s_(shared), owner_(owner) {}

  // A copy owns its store, even of a shared book: slots (order_at, front) stay the same; other
  // books' orders in it are never seen again under this owner number.
  OrderBook(const OrderBook& o)
      : own_(o.s_ ? std::make_unique<Store>(*o.s_) : nullptr),
        s_(own_.get()),
        owner_(o.owner_),
        levels_(o.levels_),
        free_levels_(o.free_levels_),
        sides_{o.sides_[0], o.sides_[1]},
        live_orders_(o.live_orders_) {}
  OrderBook& operator=(const OrderBook& o) {
    if (this != &o) *this = OrderBook(o);
    return *this;
  }
  OrderBook(OrderBook&& o) noexcept
      : own_(std::move(o.own_)),
        s_(std::exchange(o.s_, nullptr)),
        owner_(o.owner_),
        levels_(std::move(o.levels_)),
        free_levels_(std::move(o.free_levels_)),
        sides_{std::move(o.sides_[0]), std::move(o.sides_[1])},
        live_orders_(std::exchange(o.live_orders_, 0)) {}
  OrderBook& operator=(OrderBook&& o) noexcept {
    if (this == &o) return *this;
    if (!own_) release_orders();
    own_ = std::move(o.own_);
    s_ = std::exchange(o.s_, nullptr);
    owner_ = o.owner_;
    levels_ = std::move(o.levels_);
    free_levels_ = std::move(o.free_levels_);
    sides_[0] = std::move(o.sides_[0]);
    sides_[1] = std::move(o.sides_[1]);
    live_orders_ = std::exchange(o.live_orders_, 0);
    o.sides_[0].clear();
    o.sides_[1].clear();
    return *this;
  }
  ~OrderBook() {
    if (!own_) release_orders();
  }

  // New order at the back of its level's queue.
  ErrorCode add(OrderId id, Side side, Price price, Qty qty, Nanos ts, uint64_t tag = 0) {
    if (qty <= 0) return ErrorCode::InvalidQty;
    if (price <= 0) return ErrorCode::InvalidPrice;
    if (side != Side::Buy && side != Side::Sell) return ErrorCode::InvalidSide;
    uint32_t idx = alloc_order();
    if (!s_->ids.insert(id, owner_, idx)) {
      s_->free_orders.push_back(idx);
      return ErrorCode::DuplicateOrderId;
    }
    Order& o = s_->orders[idx];
    o = Order{id, price, qty, ts, tag, kNone, kNone, kNone, side};
    uint32_t lvl = find_or_create_level(side, price);
    link_back(lvl, idx);
    ++live_orders_;
    return ErrorCode::Ok;
  }

  // Takes `by` off an order, which keeps its place in the queue; the order leaves the book when
  // nothing is left. `by` larger than the remaining size is an error and changes nothing.
  ErrorCode reduce(OrderId id, Qty by) {
    uint32_t idx = s_->ids.find(id, owner_);
    if (idx == DirectOrderIndex::kMissing) return ErrorCode::UnknownOrder;
    return reduce_at(idx, by);
  }

  ErrorCode reduce_at(uint32_t idx, Qty by) {
    Order& o = s_->orders[idx];
    if (by <= 0 || by > o.qty) return ErrorCode::InvalidQty;
    if (by == o.qty) {
      erase_at(idx);
      return ErrorCode::Ok;
    }
    o.qty -= by;
    levels_[o.level].qty -= by;
    return ErrorCode::Ok;
  }

  ErrorCode remove(OrderId id) {
    uint32_t idx = s_->ids.find(id, owner_);
    if (idx == DirectOrderIndex::kMissing) return ErrorCode::UnknownOrder;
    erase_at(idx);
    return ErrorCode::Ok;
  }

  // Moves an order to the back of the queue at (price, qty), under a new id (which may equal the
  // old one). Used for venue replaces and for engine replaces that lose priority.
  ErrorCode replace(OrderId old_id, OrderId new_id, Price price, Qty qty, Nanos ts) {
    uint32_t idx = s_->ids.find(old_id, owner_);
    if (idx == DirectOrderIndex::kMissing) return ErrorCode::UnknownOrder;
    if (qty <= 0) return ErrorCode::InvalidQty;
    if (price <= 0) return ErrorCode::InvalidPrice;
    if (new_id != old_id && s_->ids.find(new_id, owner_) != DirectOrderIndex::kMissing) {
      return ErrorCode::DuplicateOrderId;
    }
    Order saved = s_->orders[idx];
    erase_at(idx);
    return add(new_id, saved.side, price, qty, ts, saved.tag);
  }

  void clear() {
    if (own_) {
      s_->ids.clear();
      s_->orders.clear();
      s_->free_orders.clear();
    } else {
      release_orders();
    }
    levels_.clear();
    free_levels_.clear();
    sides_[0].assign(kWalk, kSentinel);
    sides_[1].assign(kWalk, kSentinel);
    live_orders_ = 0;
  }

  const Order* find(OrderId id) const {
    uint32_t idx = s_->ids.find(id, owner_);
    return idx == DirectOrderIndex::kMissing ? nullptr : &s_->orders[idx];
  }
  uint32_t index_of(OrderId id) const {
    uint32_t idx = s_->ids.find(id, owner_);
    return idx == DirectOrderIndex::kMissing ? kNone : idx;
  }
  const Order& order_at(uint32_t idx) const { return s_->orders[idx]; }
  const Level& level_at(uint32_t idx) const { return levels_[idx]; }

  bool empty(Side side) const { return sides_[index(side)].size() == kWalk; }
  // Best level of a side, or nullptr when that side is empty.
  const Level* best(Side side) const {
    const auto& v = sides_[index(side)];
    return v.size() == kWalk ? nullptr : &levels_[v.back().level];
  }
  // Oldest order at the best price of a side: the next one to trade.
  uint32_t front(Side side) const {
    const Level* l = best(side);
    return l ? l->head : kNone;
  }

  size_t level_count(Side side) const { return sides_[index(side)].size() - kWalk; }
  size_t order_count() const { return live_orders_; }

  // Level `i` (0 = best) of a side; i must be < level_count(side).
  const Level& level(Side side, size_t i) const {
    const auto& v = sides_[index(side)];
    return levels_[v[v.size() - 1 - i].level];
  }

  // Writes up to n best levels of a side into out; returns how many were written.
  size_t depth(Side side, size_t n, DepthLevel* out) const {
    const auto& v = sides_[index(side)];
    size_t m = std::min(n, v.size() - kWalk);
    for (size_t i = 0; i < m; ++i) {
      const Level& l = levels_[v[v.size() - 1 - i].level];
      out[i] = DepthLevel{l.price, l.qty, l.count, 0};
    }
    return m;
  }

  // Cache hint, changes nothing: requests the lines an add or a drop at the touch of a side reads
  // (the last kWalk keys of its sorted side).
  void prefetch_touch(Side side) const {
    const LevelRef* end = sides_[index(side)].data() + sides_[index(side)].size();
    prefetch_line(end - 1);
    prefetch_line(end - kWalk);
  }

  // Visits the orders of a level from head (oldest) to tail.
  template <typename F>
  void for_each_order(const Level& l, F&& f) const {
    const auto& orders = s_->orders;
    for (uint32_t i = l.head; i != kNone; i = orders[i].next) f(orders[i]);
  }

 private:
  struct LevelRef {
    Price key;  // price for asks negated, so "best" is always the largest key
    uint32_t level;
  };

  static constexpr size_t kWalk = 8;  // levels from the touch counted without a search
  static constexpr LevelRef kSentinel{INT64_MIN, kNone};  // front padding of a side

  static constexpr size_t index(Side s) { return static_cast<size_t>(s); }
  static Price key_of(Side s, Price p) { return s == Side::Buy ? p : -p; }

  uint32_t alloc_order() {
    std::vector<uint32_t>& free = s_->free_orders;
    if (!free.empty()) {
      uint32_t idx = free.back();
      free.pop_back();
      return idx;
    }
    s_->orders.emplace_back();
    return static_cast<uint32_t>(s_->orders.size() - 1);
  }

  // Gives this book's orders back to a shared store (clear, destruction).
  void release_orders() {
    if (s_ == nullptr) return;
    for (const auto& side : sides_) {
      for (size_t j = kWalk; j < side.size(); ++j) {
        for (uint32_t i = levels_[side[j].level].head; i != kNone;) {
          const Order& o = s_->orders[i];
          s_->ids.erase(o.id, owner_);
          s_->free_orders.push_back(i);
          i = o.next;
        }
      }
    }
  }

  // Position in the side vector of the first entry with key >= k (vector ascending by key, best
  // at the back). Almost every update lands within a few levels of the touch, but where varies
  // from event to event, so a search that stops at the first smaller key mispredicts its exit
  // about once per call (~15 cycles, as much as the rest of an add's level lookup). Instead the
  // last kWalk keys are counted without branches (a side always has kWalk sentinels in front,
  // keys below any real one, so even a small book has kWalk entries to count), and deeper
  // positions use a binary search whose steps are conditional moves; the result is the same.
  static size_t lower_pos(const std::vector<LevelRef>& v, Price k) {
    const LevelRef* d = v.data();
    const size_t n = v.size();
    size_t above = 0;  // entries among the last kWalk with key >= k
    for (size_t j = n - kWalk; j < n; ++j) above += d[j].key >= k;
    if (above < kWalk) return n - above;
    // Every one of the last kWalk keys is >= k: search [0, n - kWalk] without branches.
    const LevelRef* base = d;
    size_t len = n - kWalk + 1;
    while (len > 1) {
      const size_t half = len / 2;
      base += static_cast<size_t>(base[half - 1].key < k) * half;  // no branch to mispredict
      len -= half;
    }
    return static_cast<size_t>(base - d) + (base->key < k ? 1 : 0);
  }

  // A new level takes a freed level slot when there is one and is placed in the sorted side.
  uint32_t find_or_create_level(Side side, Price price) {
    const Price k = key_of(side, price);
    auto& v = sides_[index(side)];
    size_t pos = lower_pos(v, k);
    if (pos < v.size() && v[pos].key == k) return v[pos].level;
    uint32_t lvl;
    if (!free_levels_.empty()) {
      lvl = free_levels_.back();
      free_levels_.pop_back();
    } else {
      levels_.emplace_back();
      lvl = static_cast<uint32_t>(levels_.size() - 1);
    }
    levels_[lvl] = Level{price, 0, 0, kNone, kNone};
    v.insert(v.begin() + static_cast<std::ptrdiff_t>(pos), LevelRef{k, lvl});
    return lvl;
  }

  void drop_level(Side side, uint32_t lvl) {
    auto& v = sides_[index(side)];
    Price k = key_of(side, levels_[lvl].price);
    size_t pos = lower_pos(v, k);
    v.erase(v.begin() + static_cast<std::ptrdiff_t>(pos));
    free_levels_.push_back(lvl);
  }

  void link_back(uint32_t lvl, uint32_t idx) {
    Level& l = levels_[lvl];
    Order& o = s_->orders[idx];
    o.level = lvl;
    o.prev = l.tail;
    o.next = kNone;
    if (l.tail != kNone) {
      s_->orders[l.tail].next = idx;
    } else {
      l.head = idx;
    }
    l.tail = idx;
    l.qty += o.qty;
    ++l.count;
  }

  void erase_at(uint32_t idx) {
    auto& orders = s_->orders;
    Order& o = orders[idx];
    Level& l = levels_[o.level];
    if (o.prev != kNone) {
      orders[o.prev].next = o.next;
    } else {
      l.head = o.next;
    }
    if (o.next != kNone) {
      orders[o.next].prev = o.prev;
    } else {
      l.tail = o.prev;
    }
    l.qty -= o.qty;
    --l.count;
    if (l.count == 0) drop_level(o.side, o.level);
    s_->ids.erase(o.id, owner_);
    s_->free_orders.push_back(idx);
    --live_orders_;
  }

  std::unique_ptr<Store> own_;  // null when the store is shared
  Store* s_ = nullptr;          // null only in a moved-from book
  uint32_t owner_ = 0;
  std::vector<Level> levels_;
  std::vector<uint32_t> free_levels_;
  std::vector<LevelRef> sides_[2] = {std::vector<LevelRef>(kWalk, kSentinel),
                                     std::vector<LevelRef>(kWalk, kSentinel)};
  size_t live_orders_ = 0;
};

}  // namespace minihft
