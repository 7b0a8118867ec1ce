// Price-time matching engine: one OrderBook per symbol, OrderCommand in, ExecReport out.
//
// Reports go to a caller-supplied sink (any callable taking `const ExecReport&`), a template
// parameter so the hot path has no virtual call and no I/O. Time is the command's ts; nothing
// reads a clock, so the same commands give the same reports byte for byte.
//
// Semantics (tests/unit/reference_matching.py is the executable spec of the same rules):
//  - Symbols: symbol_id < n_symbols, else Rejected UnknownSymbol. Books are created on first use.
//    Order ids are per symbol; an id is a duplicate only while it is live in that symbol's book.
//  - Submit checks, first failure wins: side (InvalidSide); order_type/tif, and post-only on
//    anything but a Day limit (InvalidType); qty <= 0 (InvalidQty); limit price <= 0
//    (InvalidPrice); live id (DuplicateOrderId); market order on an empty opposite side
//    (NoLiquidity); post-only that would cross the opposite best (WouldCross, even when only the
//    same account rests there); FOK whose crossing, non-self-matching size is short (NotFillable).
//    A rejected command leaves no trace in the book.
//  - Accepted submit: OrderAccepted (price = limit, 0 for market; leaves = qty), then per trade
//    the taker's OrderFilled (Taker, contra = maker) followed by the maker's (Maker, contra =
//    taker), at the resting order's price, best price first, FIFO within a level. Afterwards the
//    residual of a Day limit rests silently; that of IOC/market is OrderCancelled with reason
//    NoLiquidity. Market orders never rest whatever their tif; market FOK is all-or-none at any
//    price.
//  - Self-match prevention (account != 0): a resting order of the taker's account met during the
//    sweep is cancelled (OrderCancelled, reason SelfMatch, before the trades that follow it) and
//    the sweep continues. Account 0 means no prevention.
//  - Cancel and replace act only on an order of the command's own account: another account's
//    order is Rejected UnknownOrder, exactly like an id that is not live, so nothing about other
//    accounts' orders leaks and nobody can cancel or move them.
//  - Cancel: OrderCancelled with qty = open qty, reason Ok; unknown id -> Rejected UnknownOrder.
//  - Replace: qty is the new open quantity (not including fills); the side of the command is
//    ignored. Checks: unknown id (UnknownOrder), qty (InvalidQty), price (InvalidPrice), an order
//    submitted post-only whose new price would cross (WouldCross; order unchanged). Then
//    OrderReplaced (price, qty = leaves = new qty). Same price and qty <= open qty keeps the queue
//    position (OrderBook::reduce); any other change goes to the back of the new level with ts =
//    command ts; a crossing new price first trades as taker exactly like a new Day limit.
//  - Rejections echo the command (order_id, price, qty, side, account), leaves 0.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "minihft/lob/id_map.hpp"
#include "minihft/lob/order_book.hpp"
#include "minihft/lob/types.hpp"

namespace minihft {

class MatchingEngine {
 public:
  struct Counters {
    uint64_t commands = 0;
    uint64_t accepted = 0;
    uint64_t rejected = 0;
    uint64_t trades = 0;  // one per maker/taker pair, not per report
    uint64_t traded_qty = 0;
    uint64_t cancelled = 0;  // every OrderCancelled, whatever the reason
    uint64_t replaced = 0;
  };

  explicit MatchingEngine(uint32_t n_symbols = 64, size_t expected_orders_per_symbol = 1 << 14)
      : books_(n_symbols), expected_(expected_orders_per_symbol) {}
  MatchingEngine(const MatchingEngine&) = delete;
  MatchingEngine& operator=(const MatchingEngine&) = delete;
  MatchingEngine(MatchingEngine&&) = default;
  MatchingEngine& operator=(MatchingEngine&&) = default;

  template <typename Sink>
  void process(const OrderCommand& c, Sink&& sink) {
    ++counters_.commands;
    switch (static_cast<CommandType>(c.type)) {
      case CommandType::SubmitOrder:
        submit(c, sink);
        return;
      case CommandType::CancelOrder:
        cancel(c, sink);
        return;
      case CommandType::ReplaceOrder:
        replace(c, sink);
        return;
    }
    reject(c, ErrorCode::InvalidType, sink);
  }

  template <typename Sink>
  void process(const OrderCommand* cmds, size_t n, Sink&& sink) {
    for (size_t i = 0; i < n; ++i) process(cmds[i], sink);
  }

  uint32_t n_symbols() const { return static_cast<uint32_t>(books_.size()); }
  // nullptr when the symbol is out of range or has never seen an order.
  const OrderBook* book(SymbolId s) const {
    return s < books_.size() && books_[s] ? &books_[s]->book : nullptr;
  }
  // Open quantity of a live order, or -1.
  Qty order_qty(SymbolId s, OrderId id) const {
    const OrderBook* b = book(s);
    const OrderBook::Order* o = b ? b->find(id) : nullptr;
    return o ? o->qty : -1;
  }
  size_t depth(SymbolId s, Side side, size_t n, DepthLevel* out) const {
    const OrderBook* b = book(s);
    return b ? b->depth(side, n, out) : 0;
  }
  const Counters& counters() const { return counters_; }

 private:
  // The OrderBook tag holds the account; post-only is rare, so it lives in a side set of ids and
  // costs nothing to orders that are not post-only.
  struct SymbolBook {
    explicit SymbolBook(size_t expected) : book(expected), post_only(16) {}
    OrderBook book;
    IdMap post_only;
  };

  static bool is_post_only(uint32_t flags) { return (flags & kPostOnly) != 0; }
  static bool crosses(Side side, Price limit, Price resting) {
    return side == Side::Buy ? limit >= resting : limit <= resting;
  }

  static ExecReport report(const OrderCommand& c, ExecType type, uint64_t id, Side side,
                           Price price, Qty qty, Qty leaves, uint64_t account, ErrorCode reason,
                           Liquidity liq = Liquidity::None, uint64_t contra = 0) {
    return ExecReport{c.ts,
                      id,
                      contra,
                      price,
                      qty,
                      leaves,
                      account,
                      c.symbol_id,
                      static_cast<uint8_t>(type),
                      static_cast<uint8_t>(side),
                      static_cast<uint8_t>(reason),
                      static_cast<uint8_t>(liq)};
  }

  template <typename Sink>
  void reject(const OrderCommand& c, ErrorCode why, Sink& sink) {
    ++counters_.rejected;
    sink(ExecReport{c.ts, c.order_id, 0, c.price, c.qty, 0, c.account, c.symbol_id,
                    static_cast<uint8_t>(ExecType::OrderRejected), c.side,
                    static_cast<uint8_t>(why), static_cast<uint8_t>(Liquidity::None)});
  }

  SymbolBook& book_for(SymbolId s) {
    auto& p = books_[s];
    if (!p) p = std::make_unique<SymbolBook>(expected_);
    return *p;
  }

  static void forget_post_only(SymbolBook& sb, OrderId id) {
    if (sb.post_only.size() != 0) sb.post_only.erase(id);
  }

  // Crossing size available to a FOK, not counting orders self-match prevention would cancel.
  static bool fillable(const OrderBook& b, Side side, bool market, Price limit, Qty qty,
                       uint64_t account) {
    Side opp = opposite(side);
    Qty avail = 0;
    for (size_t i = 0, n = b.level_count(opp); i < n && avail < qty; ++i) {
      const OrderBook::Level& l = b.level(opp, i);
      if (!market && !crosses(side, limit, l.price)) break;
      if (account == 0) {
        avail += l.qty;
      } else {
        b.for_each_order(l, [&](const OrderBook::Order& o) {
          if (o.tag != account) avail += o.qty;
        });
      }
    }
    return avail >= qty;
  }

  // Trades `qty` of an incoming order against the opposite side; returns what is left.
  template <typename Sink>
  Qty sweep(const OrderCommand& c, SymbolBook& sb, OrderId id, Side side, bool market, Price limit,
            Qty qty, uint64_t account, Sink& sink) {
    OrderBook& b = sb.book;
    const Side opp = opposite(side);
    while (qty > 0) {
      const OrderBook::Level* l = b.best(opp);
      if (l == nullptr || (!market && !crosses(side, limit, l->price))) break;
      const uint32_t mi = l->head;
      const OrderBook::Order& m = b.order_at(mi);
      const OrderId mid = m.id;
      const Price px = m.price;
      const Qty mq = m.qty;
      const uint64_t macct = m.tag;
      if (account != 0 && macct == account) {
        ++counters_.cancelled;
        sink(report(c, ExecType::OrderCancelled, mid, opp, px, mq, 0, macct, ErrorCode::SelfMatch));
        forget_post_only(sb, mid);
        b.reduce_at(mi, mq);
        continue;
      }
      const Qty fill = std::min(qty, mq);
      qty -= fill;
      ++counters_.trades;
      counters_.traded_qty += static_cast<uint64_t>(fill);
      sink(report(c, ExecType::OrderFilled, id, side, px, fill, qty, account, ErrorCode::Ok,
                  Liquidity::Taker, mid));
      sink(report(c, ExecType::OrderFilled, mid, opp, px, fill, mq - fill, macct, ErrorCode::Ok,
                  Liquidity::Maker, id));
      if (fill == mq) forget_post_only(sb, mid);
      b.reduce_at(mi, fill);
    }
    return qty;
  }

  template <typename Sink>
  void submit(const OrderCommand& c, Sink& sink) {
    if (c.symbol_id >= books_.size()) return reject(c, ErrorCode::UnknownSymbol, sink);
    if (c.side > 1) return reject(c, ErrorCode::InvalidSide, sink);
    const bool market = c.order_type == static_cast<uint8_t>(OrderType::Market);
    const bool post_only = is_post_only(c.flags);
    if (c.order_type > 1 || c.tif > 2 ||
        (post_only && (market || c.tif != static_cast<uint8_t>(TimeInForce::Day)))) {
      return reject(c, ErrorCode::InvalidType, sink);
    }
    if (c.qty <= 0) return reject(c, ErrorCode::InvalidQty, sink);
    if (!market && c.price <= 0) return reject(c, ErrorCode::InvalidPrice, sink);
    SymbolBook& sb = book_for(c.symbol_id);
    OrderBook& b = sb.book;
    if (b.index_of(c.order_id) != OrderBook::kNone) {
      return reject(c, ErrorCode::DuplicateOrderId, sink);
    }
    const Side side = static_cast<Side>(c.side);
    const OrderBook::Level* top = b.best(opposite(side));
    if (market && top == nullptr) return reject(c, ErrorCode::NoLiquidity, sink);
    if (post_only && top != nullptr && crosses(side, c.price, top->price)) {
      return reject(c, ErrorCode::WouldCross, sink);
    }
    const bool fok = c.tif == static_cast<uint8_t>(TimeInForce::FOK);
    if (fok && !fillable(b, side, market, c.price, c.qty, c.account)) {
      return reject(c, ErrorCode::NotFillable, sink);
    }
    const Price px = market ? 0 : c.price;
    ++counters_.accepted;
    sink(report(c, ExecType::OrderAccepted, c.order_id, side, px, c.qty, c.qty, c.account,
                ErrorCode::Ok));
    Qty left = c.qty;
    if (top != nullptr)
      left = sweep(c, sb, c.order_id, side, market, c.price, left, c.account, sink);
    if (left == 0) return;
    if (market || c.tif != static_cast<uint8_t>(TimeInForce::Day)) {
      ++counters_.cancelled;
      sink(report(c, ExecType::OrderCancelled, c.order_id, side, px, left, 0, c.account,
                  ErrorCode::NoLiquidity));
      return;
    }
    b.add(c.order_id, side, c.price, left, c.ts, c.account);
    if (post_only) sb.post_only.insert(c.order_id, 1);
  }

  template <typename Sink>
  void cancel(const OrderCommand& c, Sink& sink) {
    if (c.symbol_id >= books_.size()) return reject(c, ErrorCode::UnknownSymbol, sink);
    SymbolBook* sb = books_[c.symbol_id].get();
    uint32_t idx = sb ? sb->book.index_of(c.order_id) : OrderBook::kNone;
    if (idx == OrderBook::kNone || sb->book.order_at(idx).tag != c.account) {
      return reject(c, ErrorCode::UnknownOrder, sink);
    }
    const OrderBook::Order& o = sb->book.order_at(idx);
    ++counters_.cancelled;
    sink(
        report(c, ExecType::OrderCancelled, o.id, o.side, o.price, o.qty, 0, o.tag, ErrorCode::Ok));
    forget_post_only(*sb, c.order_id);
    sb->book.reduce_at(idx, o.qty);
  }

  template <typename Sink>
  void replace(const OrderCommand& c, Sink& sink) {
    if (c.symbol_id >= books_.size()) return reject(c, ErrorCode::UnknownSymbol, sink);
    SymbolBook* sb = books_[c.symbol_id].get();
    uint32_t idx = sb ? sb->book.index_of(c.order_id) : OrderBook::kNone;
    if (idx == OrderBook::kNone || sb->book.order_at(idx).tag != c.account) {
      return reject(c, ErrorCode::UnknownOrder, sink);
    }
    if (c.qty <= 0) return reject(c, ErrorCode::InvalidQty, sink);
    if (c.price <= 0) return reject(c, ErrorCode::InvalidPrice, sink);
    OrderBook& b = sb->book;
    // Copy: the pool slot is reused as soon as the order leaves the book.
    const OrderBook::Order o = b.order_at(idx);
    const Side opp = opposite(o.side);
    const OrderBook::Level* top = b.best(opp);
    const bool cross = top != nullptr && crosses(o.side, c.price, top->price);
    const bool post_only = sb->post_only.size() != 0 && sb->post_only.find(o.id) != IdMap::kMissing;
    if (cross && post_only) return reject(c, ErrorCode::WouldCross, sink);
    ++counters_.replaced;
    sink(report(c, ExecType::OrderReplaced, o.id, o.side, c.price, c.qty, c.qty, o.tag,
                ErrorCode::Ok));
    if (c.price == o.price && c.qty <= o.qty) {
      if (c.qty < o.qty) b.reduce_at(idx, o.qty - c.qty);
      return;
    }
    if (!cross) {
      b.replace(o.id, o.id, c.price, c.qty, c.ts);
      return;
    }
    b.reduce_at(idx, o.qty);
    Qty left = sweep(c, *sb, o.id, o.side, false, c.price, c.qty, o.tag, sink);
    if (left > 0) b.add(o.id, o.side, c.price, left, c.ts, o.tag);
  }

  std::vector<std::unique_ptr<SymbolBook>> books_;
  size_t expected_;
  Counters counters_;
};

}  // namespace minihft
