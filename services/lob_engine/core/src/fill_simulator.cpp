#include "minihft/lob/fill_simulator.hpp"

#include <algorithm>

#include "fill_simulator_detail.hpp"
#include "minihft/lob/book_builder.hpp"

namespace minihft {
using namespace fill_detail;  // NOLINT: file-local helpers

FillSimulator::Sym* FillSimulator::sym(SymbolId s) {
  if (s >= kMaxSymbols) return nullptr;
  if (s >= syms_.size()) syms_.resize(s + 1);
  if (!syms_[s]) syms_[s] = std::make_unique<Sym>(s);
  return syms_[s].get();
}

Qty FillSimulator::position(SymbolId s) const {
  const Sym* y = sym(s);
  return y ? y->position : 0;
}
int64_t FillSimulator::cash(SymbolId s) const {
  const Sym* y = sym(s);
  return y ? y->cash : 0;
}

Qty FillSimulator::open_qty(SymbolId s, OrderId id) const {
  const Sym* y = sym(s);
  uint32_t slot = y ? y->ours_ids.find(id) : IdMap::kMissing;
  return slot == IdMap::kMissing ? -1 : y->ours[slot].leaves;
}

Qty FillSimulator::queue_ahead(SymbolId s, OrderId id) const {
  const Sym* y = sym(s);
  uint32_t slot = y ? y->ours_ids.find(id) : IdMap::kMissing;
  if (slot == IdMap::kMissing) return -1;
  const Ours& o = y->ours[slot];
  const OrderBook::Level* l = find_level(y->book, o.side, o.price);
  Qty ahead = 0;
  if (l != nullptr) {
    y->book.for_each_order(*l, [&](const OrderBook::Order& v) {
      if (v.tag < o.seq) ahead += v.qty;
    });
  }
  return ahead;
}

void FillSimulator::seed(SymbolId s, const std::vector<LobsterSeedLevel>& levels, Nanos ts) {
  Sym* y = sym(s);
  if (y == nullptr) return;
  for (const LobsterSeedLevel& l : levels) {
    if (l.qty <= 0 || l.price <= 0) continue;
    OrderId id = kSyntheticBase + next_synth_++;
    if (y->book.add(id, l.side, l.price, l.qty, ts, seq_++) == ErrorCode::Ok) {
      y->synth[px_key(l.side, l.price)] = id;
    }
  }
}

ErrorCode FillSimulator::apply(const MdEvent& e, int64_t md_index) {
  ++counters_.events;
  if (e.type < static_cast<uint8_t>(MdEventType::Add) ||
      e.type > static_cast<uint8_t>(MdEventType::TradingStatus)) {
    return ErrorCode::InvalidType;
  }
  const auto type = static_cast<MdEventType>(e.type);
  if (type == MdEventType::TradingStatus) return ErrorCode::Ok;
  Sym* y = sym(e.symbol_id);
  if (y == nullptr) return ErrorCode::UnknownSymbol;
  const bool side_ok = e.side <= static_cast<uint8_t>(Side::Sell);
  switch (type) {
    case MdEventType::Add:
      if (!side_ok) return ErrorCode::InvalidSide;
      return y->book.add(e.order_id, static_cast<Side>(e.side), e.price, e.qty, e.ts_event, seq_++);
    case MdEventType::Replace: {
      if (e.qty <= 0) return ErrorCode::InvalidQty;
      if (e.price <= 0) return ErrorCode::InvalidPrice;
      if (e.new_order_id != e.order_id && y->book.find(e.new_order_id) != nullptr) {
        return ErrorCode::DuplicateOrderId;
      }
      const OrderBook::Order* o = y->book.find(e.order_id);
      auto it = y->taken.find(e.order_id);
      if (o == nullptr && it == y->taken.end()) return ErrorCode::UnknownOrder;
      const Side side = o ? o->side : it->second.side;
      if (it != y->taken.end()) untake(*y, it, it->second.qty);
      if (o != nullptr) y->book.remove(e.order_id);
      return y->book.add(e.new_order_id, side, e.price, e.qty, e.ts_event, seq_++);
    }
    case MdEventType::Clear:
      y->book.clear();
      y->taken.clear();
      y->taken_at.clear();
      y->synth.clear();
      return ErrorCode::Ok;
    case MdEventType::HiddenTrade: {
      if (!side_ok) return ErrorCode::InvalidSide;
      const auto side = static_cast<Side>(e.side);
      if (cfg_.record_trades) {
        trades.push_back(TradePrint{e.ts_event, e.price, e.qty, e.symbol_id,
                                    static_cast<uint8_t>(opposite(side)), 1, 0});
      }
      if (cfg_.hidden_fills && e.qty > 0) {
        passive(*y, side, e.price, UINT64_MAX, e.qty, e.ts_event, md_index, FillCause::Hidden, 0);
      }
      return ErrorCode::Ok;
    }
    default:
      return reduce(*y, e, md_index);
  }
}

// Execute / ExecuteAtPrice / Cancel / Delete.
ErrorCode FillSimulator::reduce(Sym& y, const MdEvent& e, int64_t md_index) {
  const auto type = static_cast<MdEventType>(e.type);
  const bool del = type == MdEventType::Delete;
  const bool exec = type == MdEventType::Execute || type == MdEventType::ExecuteAtPrice;
  if (!del && e.qty <= 0) return ErrorCode::InvalidQty;
  // Liquidity we took from this order absorbs the event first.
  Qty absorbed = 0;
  bool was_taken = false;
  Taken tk{0, Side::Buy, 0, 0};
  if (!y.taken.empty()) {
    auto it = y.taken.find(e.order_id);
    if (it != y.taken.end()) {
      was_taken = true;
      tk = it->second;
      absorbed = std::min(std::max<Qty>(e.qty, 0), tk.qty);
      untake(y, it, del ? tk.qty : absorbed);
    }
  }
  counters_.absorbed_qty += static_cast<uint64_t>(absorbed);
  Qty left = del ? 0 : e.qty - absorbed;
  const OrderBook::Order* o = y.book.find(e.order_id);
  ErrorCode code = ErrorCode::Ok;
  Side side;
  Price px;
  uint64_t seq;
  if (o != nullptr) {
    side = o->side;
    px = o->price;
    seq = o->tag;
    if (del) {
      // LOBSTER deletes carry the size the venue removed: less than we hold means the rest was
      // someone we could not see, more means the extra came from someone we could not name.
      const Qty had = o->qty;
      const Qty gone = std::max<Qty>(e.qty - absorbed, 0);
      y.book.remove(e.order_id);
      if (e.qty > 0 && had > gone) add_aggregate(y, side, px, had - gone, e.ts_event);
      if (gone > had) reduce_unknown(y, side, px, gone - had);
    } else {
      const Qty take = std::min(left, o->qty);
      if (take > 0) y.book.reduce(e.order_id, take);
      // The venue says the order held more than we had: the rest was someone we could not see.
      if (left > take) left = take + reduce_unknown(y, side, px, left - take);
    }
  } else if (was_taken) {
    // Everything left of the order was ours to take: nothing more to remove from the book.
    side = tk.side;
    px = tk.price;
    seq = tk.seq;
    left = 0;
  } else {
    if (e.side > static_cast<uint8_t>(Side::Sell)) return ErrorCode::InvalidSide;
    ++counters_.unknown_order_events;
    code = ErrorCode::UnknownOrder;
    side = static_cast<Side>(e.side);
    px = e.price;
    seq = 0;  // resting before anything we know of: ahead of all of ours
    const Qty effective = reduce_unknown(y, side, px, del ? e.qty : left);
    if (!del) left = effective;
  }
  if (exec) {
    const Price trade_px = type == MdEventType::ExecuteAtPrice || px <= 0 ? e.price : px;
    if (cfg_.record_trades) {
      trades.push_back(TradePrint{e.ts_event, trade_px, e.qty, e.symbol_id,
                                  static_cast<uint8_t>(opposite(side)), 0, 0});
    }
    if (left > 0) {
      passive(y, side, px, seq, left, e.ts_event, md_index, FillCause::QueueBehind, e.order_id);
    }
  }
  return code;
}

// Takes `qty` at (side, price) from what the events never explained: the seeded aggregate first,
// then the oldest orders there (see lobster_replay). Returns the qty that was not ours: what we
// took from the aggregate is absorbed, as for any venue order.
Qty FillSimulator::reduce_unknown(Sym& y, Side side, Price price, Qty qty) {
  Qty not_ours = qty;
  auto sit = y.synth.find(px_key(side, price));
  if (sit != y.synth.end()) {
    const OrderId id = sit->second;
    auto tit = y.taken.find(id);
    if (tit != y.taken.end()) {
      const Qty a = std::min(qty, tit->second.qty);
      untake(y, tit, a);
      qty -= a;
      not_ours -= a;
      counters_.absorbed_qty += static_cast<uint64_t>(a);
    }
    const OrderBook::Order* agg = y.book.find(id);
    if (agg != nullptr && qty > 0) {
      const Qty take = std::min(qty, agg->qty);
      y.book.reduce(id, take);
      qty -= take;
    }
    if (y.book.find(id) == nullptr && y.taken.find(id) == y.taken.end()) y.synth.erase(sit);
  }
  while (qty > 0) {
    const OrderBook::Level* l = find_level(y.book, side, price);
    if (l == nullptr) break;
    const uint32_t idx = l->head;
    const Qty take = std::min(qty, y.book.order_at(idx).qty);
    y.book.reduce_at(idx, take);
    qty -= take;
  }
  return not_ours;
}

uint64_t FillSimulator::reconcile(SymbolId sid, const int64_t* prev, const int64_t* cur,
                                  size_t levels, Nanos ts) {
  Sym* y = sym(sid);
  if (y == nullptr || levels == 0) return 0;
  uint64_t changed = 0;
  for (Side s : {Side::Sell, Side::Buy}) {
    const size_t col = s == Side::Sell ? 0 : 2;
    auto qty_at = [&](const int64_t* row, size_t i) { return row[i * kDepthCols + col + 1]; };
    auto px_at = [&](const int64_t* row, size_t i) { return row[i * kDepthCols + col]; };
    if (qty_at(prev, levels - 1) <= 0) continue;  // the whole side was visible: nothing hidden
    const Price bound = px_at(prev, levels - 1);
    size_t shown = 0;
    while (shown < levels && qty_at(cur, shown) > 0) ++shown;
    const bool full = shown == levels;
    const Price far = full ? px_at(cur, levels - 1) : 0;
    for (size_t i = 0; i < shown; ++i) {
      if (better(s, bound, px_at(cur, i))) {
        changed += set_level_qty(*y, s, px_at(cur, i), qty_at(cur, i), ts);
      }
    }
    // Levels we hold inside the revealed range that the file does not show are stale.
    std::vector<Price> stale;
    for (size_t i = 0, n = y->book.level_count(s); i < n; ++i) {
      const Price p = y->book.level(s, i).price;
      if (!better(s, bound, p)) continue;
      if (full && better(s, far, p)) break;
      bool seen = false;
      for (size_t k = 0; k < shown; ++k) seen = seen || px_at(cur, k) == p;
      if (!seen) stale.push_back(p);
    }
    for (Price p : stale) changed += set_level_qty(*y, s, p, 0, ts);
  }
  return changed;
}

void FillSimulator::untake(Sym& y, std::unordered_map<OrderId, Taken>::iterator it, Qty q) {
  const uint64_t key = px_key(it->second.side, it->second.price);
  auto at = y.taken_at.find(key);
  if (at != y.taken_at.end() && (at->second -= q) <= 0) y.taken_at.erase(at);
  if ((it->second.qty -= q) <= 0) y.taken.erase(it);
}

void FillSimulator::add_aggregate(Sym& y, Side s, Price p, Qty qty, Nanos ts) {
  const uint64_t key = px_key(s, p);
  auto it = y.synth.find(key);
  const OrderBook::Order* agg = it == y.synth.end() ? nullptr : y.book.find(it->second);
  if (agg != nullptr) {
    // OrderBook::replace keeps the tag: the aggregate stays older than our orders.
    y.book.replace(agg->id, agg->id, p, agg->qty + qty, agg->ts);
    return;
  }
  const OrderId id = kSyntheticBase + next_synth_++;
  y.book.add(id, s, p, qty, ts, 0);
  y.synth[key] = id;
}

uint64_t FillSimulator::set_level_qty(Sym& y, Side s, Price p, Qty target, Nanos ts) {
  const OrderBook::Level* lvl = find_level(y.book, s, p);
  // The file's depth still counts what we took there and the events have not yet absorbed.
  auto at = y.taken_at.find(px_key(s, p));
  const Qty taken = at == y.taken_at.end() ? 0 : at->second;
  const Qty have = (lvl ? lvl->qty : 0) + taken;
  if (have == target) return 0;
  const uint64_t key = px_key(s, p);
  auto it = y.synth.find(key);
  const OrderBook::Order* agg = it == y.synth.end() ? nullptr : y.book.find(it->second);
  if (target > have) {
    add_aggregate(y, s, p, target - have, ts);
    return 1;
  }
  Qty excess = have - target;
  if (agg != nullptr) {
    const Qty q = std::min(excess, agg->qty);
    y.book.reduce(agg->id, q);
    excess -= q;
  }
  // Orders that left while out of the window: the newest first (see lobster_replay).
  while (excess > 0) {
    lvl = find_level(y.book, s, p);
    if (lvl == nullptr) break;
    const uint32_t idx = lvl->tail;
    const Qty q = std::min(excess, y.book.order_at(idx).qty);
    y.book.reduce_at(idx, q);
    excess -= q;
  }
  return 1;
}

void FillSimulator::passive(Sym& y, Side side, Price level, uint64_t behind_seq, Qty q, Nanos ts,
                            int64_t md_index, FillCause at_level_cause, OrderId contra) {
  const auto& live = y.live[static_cast<size_t>(side)];
  if (live.empty()) return;
  std::vector<uint32_t>& due = due_;
  due.clear();
  for (uint32_t slot : live) {
    const Ours& o = y.ours[slot];
    if (better(side, o.price, level) || (o.price == level && o.seq < behind_seq)) {
      due.push_back(slot);
    }
  }
  if (due.empty()) return;
  std::sort(due.begin(), due.end(), [&](uint32_t a, uint32_t b) {
    const Ours& x = y.ours[a];
    const Ours& z = y.ours[b];
    if (x.price != z.price) return better(side, x.price, z.price);
    return x.seq < z.seq;
  });
  for (uint32_t slot : due) {  // fill() may release slots, never reorders `due`
    if (q == 0) break;
    const Ours& o = y.ours[slot];
    const Qty f = std::min(q, o.leaves);
    q -= f;
    const FillCause cause = o.price == level ? at_level_cause : FillCause::TradeThrough;
    fill(y, slot, f, o.price, Liquidity::Maker, contra, ts, md_index, cause);
  }
}

}  // namespace minihft
