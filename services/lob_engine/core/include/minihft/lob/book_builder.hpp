// Venue L3 book building: applies market-data events (MdEvent) to one OrderBook per symbol.
//
// Every event gets an ErrorCode and is counted, by status and by type; a bad event (unknown
// order id, oversize execution, unknown type) changes nothing and never throws, because one bad
// message in a feed must not take the book down. Books are created the first time a symbol is
// seen; after that nothing on the apply path allocates once the pools have grown.
//
// Where the books keep their orders (BookStore): a feed of thousands of small, interleaved books
// is faster with one OrderBook::Store for all (owner = symbol id): the feed hands out order ids in
// sequence across symbols, so one shared table and free list keep the hot lines few where a pool
// and table per symbol would each be cold (ITCH day of 500 symbols: ~1.5x less CPU). A few big
// books replayed one after the other are faster with a store each: then one book's table is small
// and stays cached, while a shared one holds every book's orders (5 LOBSTER files: ~1.7x).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "minihft/lob/order_book.hpp"
#include "minihft/lob/types.hpp"

namespace minihft {

// One depth row is `levels` x [ask_px, ask_qty, bid_px, bid_qty]; an empty level is 0, 0.
constexpr size_t kDepthCols = 4;

inline void write_depth_row(const OrderBook* book, size_t levels, int64_t* out) {
  size_t asks = book ? book->level_count(Side::Sell) : 0;
  size_t bids = book ? book->level_count(Side::Buy) : 0;
  for (size_t i = 0; i < levels; ++i) {
    int64_t* row = out + i * kDepthCols;
    if (i < asks) {
      const OrderBook::Level& l = book->level(Side::Sell, i);
      row[0] = l.price;
      row[1] = l.qty;
    } else {
      row[0] = 0;
      row[1] = 0;
    }
    if (i < bids) {
      const OrderBook::Level& l = book->level(Side::Buy, i);
      row[2] = l.price;
      row[3] = l.qty;
    } else {
      row[2] = 0;
      row[3] = 0;
    }
  }
}

enum class BookStore : uint8_t {
  Auto,       // Shared when expected_orders_per_symbol <= kSharedStoreUpTo, else PerSymbol
  Shared,     // one store for every symbol
  PerSymbol,  // each book owns its store, sized expected_orders_per_symbol
};

class BookBuilder {
 public:
  static constexpr size_t kSharedStoreUpTo = 4096;
  // Symbol ids index a flat table; a feed's ids are small dense integers from its directory.
  static constexpr size_t kMaxSymbols = 1 << 16;
  static constexpr size_t kCounterSlots = 16;

  struct Stats {
    uint64_t events = 0;
    std::array<uint64_t, kCounterSlots> by_status{};  // index: ErrorCode
    std::array<uint64_t, kCounterSlots> by_type{};    // index: MdEventType; 0 = out of range
  };

  // A shared store starts with room for one symbol's expected orders and grows with the total.
  explicit BookBuilder(size_t expected_orders_per_symbol = 1 << 14,
                       BookStore where = BookStore::Auto)
      : expected_orders_(expected_orders_per_symbol) {
    bool shared = where == BookStore::Shared ||
                  (where == BookStore::Auto && expected_orders_per_symbol <= kSharedStoreUpTo);
    if (shared) store_ = std::make_unique<OrderBook::Store>(expected_orders_per_symbol);
  }
  BookBuilder(const BookBuilder&) = delete;
  BookBuilder& operator=(const BookBuilder&) = delete;
  BookBuilder(BookBuilder&&) noexcept = default;
  BookBuilder& operator=(BookBuilder&& o) noexcept {
    if (this == &o) return *this;
    books_.clear();  // they give their orders back to the store they point into, before it goes
    expected_orders_ = o.expected_orders_;
    store_ = std::move(o.store_);
    books_ = std::move(o.books_);
    stats_ = o.stats_;
    return *this;
  }
  ~BookBuilder() { books_.clear(); }

  ErrorCode apply(const MdEvent& e) {
    ErrorCode st = dispatch(e);
    ++stats_.events;
    ++stats_.by_type[e.type < kCounterSlots ? e.type : 0];
    ++stats_.by_status[static_cast<size_t>(st)];
    return st;
  }

  // apply(e) for an event whose type the caller knows at compile time (a decoder's switch case;
  // e.type must be T): the same checks, results and stats, without dispatching on e.type again.
  template <MdEventType T>
  [[gnu::always_inline]] ErrorCode apply_as(const MdEvent& e) {
    static_assert(static_cast<size_t>(T) < kCounterSlots);
    ErrorCode st = dispatch_as<T>(e);
    ++stats_.events;
    ++stats_.by_type[static_cast<size_t>(T)];
    ++stats_.by_status[static_cast<size_t>(st)];
    return st;
  }

  // apply() on each event in turn; same results and stats. Memory is fetched a few events
  // ahead: the book and the order table line, then the order itself, so that with thousands of
  // books the cache misses of consecutive events overlap instead of queueing behind each other.
  // (Until 2026-11-25 these hints compiled to nothing, see prefetch_line; since then they are
  // issued, measured neither faster nor slower on the 500-symbol synthetic day.)
  void apply(const MdEvent* events, size_t n) {
    constexpr size_t kTable = 16;  // events ahead whose book and table line are requested
    constexpr size_t kOrder = 8;   // events ahead whose order is looked up and requested
    if (!store_) {
      for (size_t i = 0; i < n; ++i) apply(events[i]);
      return;
    }
    for (size_t i = 0; i < n; ++i) {
      if (i + kTable < n) prefetch_slot(events[i + kTable]);
      if (i + kOrder < n) prefetch_order(events[i + kOrder]);
      apply(events[i]);
    }
  }

  // Cache hint for a decoder that sees frames ahead; changes nothing. Requests the order table
  // line of order `id` of `symbol` or, with `order` (once that line is in cache), the order.
  void prefetch_order(SymbolId symbol, OrderId id, bool order) const {
    if (!store_) return;
    if (!order) {
      store_->ids.prefetch(id);
      return;
    }
    uint32_t idx = store_->ids.find(id, symbol);
    if (idx != DirectOrderIndex::kMissing) prefetch_line(&store_->orders[idx]);
  }
  // Cache hints for a decoder that sees frames ahead; change nothing. Made to be given for a
  // frame of any type without looking at it (no branch per frame on its type: on the 3000-symbol
  // day such branches mispredicted ~2.5 times per message): a frame that names no book or order
  // only wastes a prefetch. Far ahead: the book of `symbol` and the order table line of `id`.
  // Near (once those lines are in): the touch of both sides of the book and the order `id`.
  void hint_far(SymbolId symbol, OrderId id) const {
    if (const OrderBook* b = symbol < books_.size() ? books_[symbol].get() : nullptr) {
      prefetch_line(b);
      prefetch_line(reinterpret_cast<const char*>(b) + 64);
    }
    if (store_) prefetch_line(store_->ids.hint_line(id));
  }
  void hint_near(SymbolId symbol, OrderId id) const {
    if (const OrderBook* b = symbol < books_.size() ? books_[symbol].get() : nullptr) {
      b->prefetch_touch(Side::Buy);
      b->prefetch_touch(Side::Sell);
    }
    if (store_ && !store_->orders.empty()) {
      uint32_t idx = store_->ids.hint_value(id);
      idx = idx < store_->orders.size() ? idx : 0;
      prefetch_line(&store_->orders[idx]);
    }
  }
  // Whether hint_near can find orders: the shared store's ids are mostly direct (a sparse id
  // stream, LOBSTER's, is hashed and the hints would only cost time).
  bool hints_find_orders() const {
    return store_ && store_->ids.hashed() * 4 <= store_->ids.size();
  }
  // Orders live in the shared store (0 without one): how far beyond the caches they reach.
  size_t shared_live_orders() const { return store_ ? store_->ids.size() : 0; }

  // nullptr for a symbol never seen.
  const OrderBook* book(SymbolId symbol) const {
    return symbol < books_.size() ? books_[symbol].get() : nullptr;
  }
  // Creates the book on first use; nullptr only for a symbol id beyond kMaxSymbols.
  OrderBook* mutable_book(SymbolId symbol) {
    if (symbol < books_.size()) {
      if (OrderBook* b = books_[symbol].get()) [[likely]]
        return b;
    }
    return new_book(symbol);
  }

  void depth_row(SymbolId symbol, size_t levels, int64_t* out) const {
    write_depth_row(book(symbol), levels, out);
  }

  size_t depth(SymbolId symbol, Side side, size_t n, DepthLevel* out) const {
    const OrderBook* b = book(symbol);
    return b ? b->depth(side, n, out) : 0;
  }

  const Stats& stats() const { return stats_; }
  void reset_stats() { stats_ = Stats{}; }
  size_t symbol_slots() const { return books_.size(); }

 private:
  // mutable_book's first sight of a symbol: kept out of line so the lookup above inlines.
  [[gnu::noinline]] OrderBook* new_book(SymbolId symbol) {
    if (symbol >= kMaxSymbols) return nullptr;
    if (symbol >= books_.size()) books_.resize(symbol + 1);
    auto& b = books_[symbol];
    if (!b) {
      b = store_ ? std::make_unique<OrderBook>(store_.get(), symbol)
                 : std::make_unique<OrderBook>(expected_orders_);
    }
    return b.get();
  }

  static bool names_order(const MdEvent& e) {
    return e.type >= static_cast<uint8_t>(MdEventType::Execute) &&
           e.type <= static_cast<uint8_t>(MdEventType::Replace);
  }
  // Only called with a shared store.
  void prefetch_slot(const MdEvent& e) const {
    if (e.symbol_id < books_.size()) prefetch_line(books_[e.symbol_id].get());
    if (names_order(e)) store_->ids.prefetch(e.order_id);
  }
  void prefetch_order(const MdEvent& e) const {
    if (!names_order(e)) return;
    uint32_t idx = store_->ids.find(e.order_id, e.symbol_id);
    if (idx != DirectOrderIndex::kMissing) prefetch_line(&store_->orders[idx]);
  }

  // dispatch() for a type known at compile time; the same order of checks.
  template <MdEventType T>
  [[gnu::always_inline]] ErrorCode dispatch_as(const MdEvent& e) {
    if constexpr (T == MdEventType::HiddenTrade || T == MdEventType::TradingStatus) {
      return e.symbol_id < kMaxSymbols ? ErrorCode::Ok : ErrorCode::UnknownSymbol;
    } else {
      OrderBook* b = mutable_book(e.symbol_id);
      if (b == nullptr) return ErrorCode::UnknownSymbol;
      if constexpr (T == MdEventType::Add) {
        if (e.side > static_cast<uint8_t>(Side::Sell)) return ErrorCode::InvalidSide;
        return b->add(e.order_id, static_cast<Side>(e.side), e.price, e.qty, e.ts_event);
      } else if constexpr (T == MdEventType::Execute || T == MdEventType::ExecuteAtPrice ||
                           T == MdEventType::Cancel) {
        return b->reduce(e.order_id, e.qty);
      } else if constexpr (T == MdEventType::Delete) {
        return b->remove(e.order_id);
      } else if constexpr (T == MdEventType::Replace) {
        return b->replace(e.order_id, e.new_order_id, e.price, e.qty, e.ts_event);
      } else if constexpr (T == MdEventType::Clear) {
        b->clear();
        return ErrorCode::Ok;
      } else {
        return ErrorCode::InvalidType;
      }
    }
  }

  ErrorCode dispatch(const MdEvent& e) {
    auto type = static_cast<MdEventType>(e.type);
    if (e.type < static_cast<uint8_t>(MdEventType::Add) ||
        e.type > static_cast<uint8_t>(MdEventType::TradingStatus)) {
      return ErrorCode::InvalidType;
    }
    // Status and hidden prints carry no book change, so they need no book either.
    if (type == MdEventType::HiddenTrade || type == MdEventType::TradingStatus) {
      return e.symbol_id < kMaxSymbols ? ErrorCode::Ok : ErrorCode::UnknownSymbol;
    }
    OrderBook* b = mutable_book(e.symbol_id);
    if (b == nullptr) return ErrorCode::UnknownSymbol;
    switch (type) {
      case MdEventType::Add:
        if (e.side > static_cast<uint8_t>(Side::Sell)) return ErrorCode::InvalidSide;
        return b->add(e.order_id, static_cast<Side>(e.side), e.price, e.qty, e.ts_event);
      case MdEventType::Execute:
      case MdEventType::ExecuteAtPrice:  // the trade price is for the tape; the book loses qty
      case MdEventType::Cancel:
        return b->reduce(e.order_id, e.qty);
      case MdEventType::Delete:
        return b->remove(e.order_id);
      case MdEventType::Replace:
        return b->replace(e.order_id, e.new_order_id, e.price, e.qty, e.ts_event);
      case MdEventType::Clear:
        b->clear();
        return ErrorCode::Ok;
      default:
        return ErrorCode::InvalidType;
    }
  }

  size_t expected_orders_;
  std::unique_ptr<OrderBook::Store> store_;  // null for PerSymbol; declared first: outlives books_
  std::vector<std::unique_ptr<OrderBook>> books_;
  Stats stats_;
};

}  // namespace minihft
