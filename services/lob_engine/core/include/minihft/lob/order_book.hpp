// Single-symbol L3 limit order book: price-time FIFO per level, O(1) lookup by order id.
//
// Storage is index-based so nothing on the hot path allocates once pools have grown:
//  - orders live in a pool, linked into their level's FIFO by prev/next indices;
//  - each side keeps its levels in two parallel arrays sorted so the best price is at the back:
//    the keys alone (8 bytes each, so the keys near the touch that a search reads are one or two
//    lines) and the level data at the same positions. Activity clusters at the touch, so inserting
//    or erasing a level moves only the few entries between it and the back. An order finds its
//    level by price. (Until 2026-11-25 levels lived in a pool of their own, the sides holding
//    indices into it: with thousands of small books that pool, its free list and the sides were
//    three cold places per event instead of one. A price -> level hash map was tried for adds too:
//    fewer instructions on deep books, but on the default synthetic day, where most adds open a
//    level, its inserts and erases cost ~8% more than they saved.)
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
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "minihft/lob/id_map.hpp"
#include "minihft/lob/types.hpp"

namespace minihft {

namespace detail {

// A sorted side's storage (trivially copyable T) whose inserts and erases happen near the back.
// std::vector::insert/erase move the tail with a libc memmove call whose size dispatch
// mispredicts about once per call (measured 2026-11-25: ~1M mispredicts on the 2M-message day).
// Here W elements of slack stay allocated past the end, so a tail of up to W elements moves as a
// fixed-size block the compiler turns into a few vector loads and stores, without branches;
// longer tails (deep inserts) take memmove.
template <typename T, size_t W>
class TouchArray {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  TouchArray(size_t n, const T& v) { assign(n, v); }

  size_t size() const { return n_; }
  const T* data() const { return buf_.data(); }
  T& operator[](size_t i) { return buf_[i]; }
  const T& operator[](size_t i) const { return buf_[i]; }
  const T& back() const { return buf_[n_ - 1]; }

  void assign(size_t n, const T& v) {
    buf_.assign(std::max(buf_.size(), n + W + 1), v);
    n_ = n;
  }
  void clear() noexcept { n_ = 0; }

  // Inserts v before position pos (<= size()); returns the new element.
  T& insert(size_t pos, const T& v) {
    if (n_ + W + 1 > buf_.size()) buf_.resize(2 * buf_.size());
    T* p = buf_.data() + pos;
    if (n_ - pos <= W) {
      T tmp[W];  // reads and writes stay inside the slack: pos + W <= n_ + W < buf_.size()
      std::memcpy(tmp, p, sizeof(tmp));
      std::memcpy(p + 1, tmp, sizeof(tmp));
    } else {
      std::memmove(p + 1, p, (n_ - pos) * sizeof(T));
    }
    *p = v;
    ++n_;
    return *p;
  }

  void erase(size_t pos) {
    T* p = buf_.data() + pos;
    if (n_ - pos - 1 <= W) {
      T tmp[W];
      std::memcpy(tmp, p + 1, sizeof(tmp));
      std::memcpy(p, tmp, sizeof(tmp));
    } else {
      std::memmove(p, p + 1, (n_ - pos - 1) * sizeof(T));
    }
    --n_;
  }

 private:
  std::vector<T> buf_;  // size() = capacity; [n_, size) is slack
  size_t n_ = 0;
};

}  // namespace detail

// Cache-line aligned: the members an event reads are two lines, not three.
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
        keys_{o.keys_[0], o.keys_[1]},
        levels_{o.levels_[0], o.levels_[1]},
        live_orders_(o.live_orders_) {}
  OrderBook& operator=(const OrderBook& o) {
    if (this != &o) *this = OrderBook(o);
    return *this;
  }
  OrderBook(OrderBook&& o) noexcept
      : own_(std::move(o.own_)),
        s_(std::exchange(o.s_, nullptr)),
        owner_(o.owner_),
        keys_{std::move(o.keys_[0]), std::move(o.keys_[1])},
        levels_{std::move(o.levels_[0]), std::move(o.levels_[1])},
        live_orders_(std::exchange(o.live_orders_, 0)) {
    o.drop_sides();
  }
  OrderBook& operator=(OrderBook&& o) noexcept {
    if (this == &o) return *this;
    if (!own_) release_orders();
    own_ = std::move(o.own_);
    s_ = std::exchange(o.s_, nullptr);
    owner_ = o.owner_;
    for (size_t i = 0; i < 2; ++i) {
      keys_[i] = std::move(o.keys_[i]);
      levels_[i] = std::move(o.levels_[i]);
    }
    live_orders_ = std::exchange(o.live_orders_, 0);
    o.drop_sides();
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
    o = Order{id, price, qty, ts, tag, kNone, kNone, side};
    link_back(find_or_create_level(side, price), o, idx);
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
    level_of(o).qty -= by;
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
    reset_sides();
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

  bool empty(Side side) const { return levels_[index(side)].size() == 0; }
  // Best level of a side, or nullptr when that side is empty. Valid until the book changes.
  const Level* best(Side side) const {
    const auto& v = levels_[index(side)];
    return v.size() == 0 ? nullptr : &v.back();
  }
  // Oldest order at the best price of a side: the next one to trade.
  uint32_t front(Side side) const {
    const Level* l = best(side);
    return l ? l->head : kNone;
  }

  size_t level_count(Side side) const { return levels_[index(side)].size(); }
  size_t order_count() const { return live_orders_; }

  // Level `i` (0 = best) of a side; i must be < level_count(side). Valid until the book changes.
  const Level& level(Side side, size_t i) const {
    const auto& v = levels_[index(side)];
    return v[v.size() - 1 - i];
  }

  // Writes up to n best levels of a side into out; returns how many were written.
  size_t depth(Side side, size_t n, DepthLevel* out) const {
    const auto& v = levels_[index(side)];
    size_t m = std::min(n, v.size());
    for (size_t i = 0; i < m; ++i) {
      const Level& l = v[v.size() - 1 - i];
      out[i] = DepthLevel{l.price, l.qty, l.count, 0};
    }
    return m;
  }

  // Cache hint, changes nothing: requests the lines an add or a drop at the touch of a side reads
  // (the last kWalk keys of its sorted side and the levels nearest the touch).
  void prefetch_touch(Side side) const {
    const Price* k = keys_[index(side)].data() + keys_[index(side)].size();
    prefetch_line(k - 1);
    prefetch_line(k - kWalk);
    const Levels& l = levels_[index(side)];
    const size_t n = l.size();
    prefetch_line(l.data() + (n > 0 ? n - 1 : 0));
    prefetch_line(l.data() + (n > 2 ? n - 3 : 0));
  }

  // Visits the orders of a level from head (oldest) to tail.
  template <typename F>
  void for_each_order(const Level& l, F&& f) const {
    const auto& orders = s_->orders;
    for (uint32_t i = l.head; i != kNone; i = orders[i].next) f(orders[i]);
  }

 private:
  // A side's keys: prices, for asks negated, so "best" is always the largest key. Each side
  // starts with kWalk sentinel keys, below any real key; its levels have none, so the level of
  // key position pos is at pos - kWalk.
  static constexpr size_t kWalk = 8;  // levels from the touch counted without a search
  static constexpr Price kSentinel = INT64_MIN;
  using Keys = detail::TouchArray<Price, 8>;
  using Levels = detail::TouchArray<Level, 4>;

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

  // A moved-from book keeps no levels (and no sentinels): it is only destroyed or assigned to.
  void drop_sides() noexcept {
    for (size_t i = 0; i < 2; ++i) {
      keys_[i].clear();
      levels_[i].clear();
    }
  }
  void reset_sides() {
    for (size_t i = 0; i < 2; ++i) {
      keys_[i].assign(kWalk, kSentinel);
      levels_[i].assign(0, Level{});
    }
  }

  // Gives this book's orders back to a shared store (clear, destruction).
  void release_orders() {
    if (s_ == nullptr) return;
    for (const auto& side : levels_) {
      for (size_t j = 0; j < side.size(); ++j) {
        for (uint32_t i = side[j].head; i != kNone;) {
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
  static size_t lower_pos(const Keys& v, Price k) {
    const Price* d = v.data();
    const size_t n = v.size();
    size_t above = 0;  // entries among the last kWalk with key >= k
    for (size_t j = n - kWalk; j < n; ++j) above += d[j] >= k;
    if (above < kWalk) return n - above;
    // Every one of the last kWalk keys is >= k: search [0, n - kWalk] without branches.
    const Price* base = d;
    size_t len = n - kWalk + 1;
    while (len > 1) {
      const size_t half = len / 2;
      base += static_cast<size_t>(base[half - 1] < k) * half;  // no branch to mispredict
      len -= half;
    }
    return static_cast<size_t>(base - d) + (*base < k ? 1 : 0);
  }

  // Position of a live order's level in its side.
  size_t level_pos(const Order& o) const {
    return lower_pos(keys_[index(o.side)], key_of(o.side, o.price));
  }
  Level& level_of(const Order& o) { return levels_[index(o.side)][level_pos(o) - kWalk]; }

  // The level at `price`, inserted in its side if there is none.
  Level& find_or_create_level(Side side, Price price) {
    const Price k = key_of(side, price);
    auto& keys = keys_[index(side)];
    auto& levels = levels_[index(side)];
    const size_t pos = lower_pos(keys, k);
    if (pos < keys.size() && keys[pos] == k) return levels[pos - kWalk];
    keys.insert(pos, k);
    return levels.insert(pos - kWalk, Level{price, 0, 0, kNone, kNone});
  }

  void link_back(Level& l, Order& o, uint32_t idx) {
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
    const size_t pos = level_pos(o);
    auto& levels = levels_[index(o.side)];
    Level& l = levels[pos - kWalk];
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
    if (--l.count == 0) {
      auto& keys = keys_[index(o.side)];
      keys.erase(pos);
      levels.erase(pos - kWalk);
    }
    s_->ids.erase(o.id, owner_);
    s_->free_orders.push_back(idx);
    --live_orders_;
  }

  std::unique_ptr<Store> own_;  // null when the store is shared
  Store* s_ = nullptr;          // null only in a moved-from book
  uint32_t owner_ = 0;
  // Per side (index(side)): sorted keys (kWalk sentinels first) and their levels.
  Keys keys_[2] = {Keys(kWalk, kSentinel), Keys(kWalk, kSentinel)};
  Levels levels_[2] = {Levels(0, Level{}), Levels(0, Level{})};
  size_t live_orders_ = 0;
};

}  // namespace minihft
