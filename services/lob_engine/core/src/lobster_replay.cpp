#include "minihft/lob/lobster_replay.hpp"

#include <algorithm>
#include <unordered_map>
#include <vector>

namespace minihft {
namespace {

// Synthetic aggregate ids live in the top half of the id space; LOBSTER ids are far below it.
constexpr OrderId kSyntheticBase = OrderId{1} << 63;

struct PxQty {
  Price price;
  Qty qty;
};

class Replayer {
 public:
  Replayer(SymbolId symbol, size_t levels) : symbol_(symbol), levels_(levels) {
    book_ = builder_.mutable_book(symbol);
  }

  // Pre-file book = orderbook row 1 with message 1 undone, one aggregate order per level.
  void seed(const MdEvent& first, const int64_t* row0, Nanos ts) {
    for (const LobsterSeedLevel& l : lobster_seed_levels(first, row0, levels_)) {
      set_synthetic(l.side, l.price, l.qty, ts);
    }
  }

  // LOBSTER sizes are exact: every reducing message moves its level by exactly `size`. When our
  // order cannot take that (unknown id, or less left than the venue says), the rest comes out of
  // the level's unexplained quantity so the level stays right.
  ErrorCode step(const MdEvent& e, LobsterReplayStats& st) {
    auto type = static_cast<MdEventType>(e.type);
    bool reduces = type == MdEventType::Execute || type == MdEventType::ExecuteAtPrice ||
                   type == MdEventType::Cancel || type == MdEventType::Delete;
    if (!reduces) return builder_.apply(e);
    const OrderBook::Order* o = book_->find(e.order_id);
    if (o != nullptr && (type == MdEventType::Delete ? o->qty == e.qty : o->qty >= e.qty)) {
      return builder_.apply(e);
    }
    ErrorCode code = ErrorCode::UnknownOrder;
    Qty left = e.qty;
    if (o == nullptr) {
      ++st.unknown_order_events;
    } else {
      code = ErrorCode::Ok;
      ++st.repaired_events;
      Qty had = o->qty;
      Side s = o->side;
      Price p = o->price;
      Qty take = std::min(left, had);
      book_->reduce(e.order_id, take);
      left -= take;
      // A delete that leaves quantity behind: it belonged to someone we could not see.
      if (type == MdEventType::Delete && had > take) {
        book_->remove(e.order_id);
        add_synthetic(s, p, had - take, e.ts_event);
      }
      if (left == 0) return code;
    }
    auto side = static_cast<Side>(e.side);
    auto it = synth_.find(key(side, e.price));
    if (it != synth_.end()) {
      Qty have = book_->find(it->second)->qty;
      Qty take = std::min(left, have);
      set_synthetic(side, e.price, have - take, e.ts_event);
      left -= take;
    }
    // The order is resting at this price, so whatever we hold there that the events never
    // explained (orders that left while beyond the window) stands in for it: oldest first.
    while (left > 0) {
      const OrderBook::Level* lvl = find_level(side, e.price);
      if (lvl == nullptr) break;
      uint32_t idx = lvl->head;
      Qty take = std::min(left, book_->order_at(idx).qty);
      book_->reduce_at(idx, take);
      left -= take;
      ++st.absorbed_unknown;
    }
    if (left == e.qty && o == nullptr) {
      ++st.unmatched_unknown;
    } else if (left > 0) {
      ++st.clamped_unknown;
    }
    return code;
  }

  const OrderBook::Level* find_level(Side s, Price p) const {
    for (size_t i = 0; i < book_->level_count(s); ++i) {
      const OrderBook::Level& l = book_->level(s, i);
      if (l.price == p) return &l;
      if (worse(s, l.price, p)) break;
    }
    return nullptr;
  }

  // Writes what the file reveals beyond the previous row's full window; returns levels changed.
  uint64_t reconcile(const int64_t* prev, const int64_t* cur, Nanos ts) {
    uint64_t changed = 0;
    for (Side s : {Side::Sell, Side::Buy}) {
      std::vector<PxQty> before = row_side(prev, s);
      if (before.size() < levels_) continue;  // the whole side was visible: nothing was hidden
      Price bound = before.back().price;
      std::vector<PxQty> now = row_side(cur, s);
      bool full = now.size() == levels_;
      Price far = full ? now.back().price : 0;
      for (const PxQty& l : now) {
        if (worse(s, l.price, bound)) changed += set_level_qty(s, l.price, l.qty, ts);
      }
      // Levels we hold inside the revealed range that the file does not show are stale.
      std::vector<Price> stale;
      for (size_t i = 0; i < book_->level_count(s); ++i) {
        Price p = book_->level(s, i).price;
        if (!worse(s, p, bound)) continue;
        if (full && worse(s, p, far)) break;
        bool shown =
            std::any_of(now.begin(), now.end(), [&](const PxQty& l) { return l.price == p; });
        if (!shown) stale.push_back(p);
      }
      for (Price p : stale) changed += set_level_qty(s, p, 0, ts);
    }
    return changed;
  }

  const OrderBook* book() const { return book_; }

 private:
  static uint64_t key(Side s, Price p) {
    return (static_cast<uint64_t>(p) << 1) | static_cast<uint64_t>(s);
  }
  static bool worse(Side s, Price p, Price than) { return s == Side::Buy ? p < than : p > than; }

  std::vector<PxQty> row_side(const int64_t* row, Side s) const {
    std::vector<PxQty> out;
    size_t col = s == Side::Sell ? 0 : 2;
    for (size_t i = 0; i < levels_; ++i) {
      const int64_t* r = row + i * kDepthCols;
      if (r[col + 1] <= 0) break;
      out.push_back({r[col], r[col + 1]});
    }
    return out;
  }

  void add_synthetic(Side s, Price p, Qty qty, Nanos ts) {
    auto it = synth_.find(key(s, p));
    Qty have = it == synth_.end() ? 0 : book_->find(it->second)->qty;
    set_synthetic(s, p, have + qty, ts);
  }

  // The aggregate at (s, p) becomes `qty` (0 removes it).
  void set_synthetic(Side s, Price p, Qty qty, Nanos ts) {
    uint64_t k = key(s, p);
    auto it = synth_.find(k);
    if (it != synth_.end()) {
      if (qty > 0) {
        book_->replace(it->second, it->second, p, qty, ts);
      } else {
        book_->remove(it->second);
        synth_.erase(it);
      }
      return;
    }
    if (qty <= 0) return;
    OrderId id = kSyntheticBase + next_synthetic_++;
    book_->add(id, s, p, qty, ts);
    synth_.emplace(k, id);
  }

  uint64_t set_level_qty(Side s, Price p, Qty target, Nanos ts) {
    const OrderBook::Level* lvl = find_level(s, p);
    Qty ours = lvl ? lvl->qty : 0;
    if (ours == target) return 0;
    auto it = synth_.find(key(s, p));
    Qty synth_qty = it == synth_.end() ? 0 : book_->find(it->second)->qty;
    if (target > ours) {
      set_synthetic(s, p, synth_qty + (target - ours), ts);
      return 1;
    }
    Qty excess = ours - target;
    Qty from_synth = std::min(excess, synth_qty);
    set_synthetic(s, p, synth_qty - from_synth, ts);
    excess -= from_synth;
    // Orders that left while out of the window: take the newest first, they are the least
    // likely to be named by a later event at the top of the book.
    while (excess > 0) {
      lvl = find_level(s, p);
      if (lvl == nullptr) break;
      uint32_t idx = lvl->tail;
      Qty q = std::min(excess, book_->order_at(idx).qty);
      book_->reduce_at(idx, q);
      excess -= q;
    }
    return 1;
  }

  BookBuilder builder_;
  SymbolId symbol_;
  size_t levels_;
  OrderBook* book_;
  std::unordered_map<uint64_t, OrderId> synth_;
  uint64_t next_synthetic_ = 0;
};

}  // namespace

std::vector<LobsterSeedLevel> lobster_seed_levels(const MdEvent& first, const int64_t* row0,
                                                  size_t levels) {
  std::vector<LobsterSeedLevel> out;
  for (Side s : {Side::Sell, Side::Buy}) {
    std::vector<PxQty> lv;
    const size_t col = s == Side::Sell ? 0 : 2;
    for (size_t i = 0; i < levels; ++i) {
      const int64_t* r = row0 + i * kDepthCols;
      if (r[col + 1] <= 0) break;
      lv.push_back({r[col], r[col + 1]});
    }
    auto type = static_cast<MdEventType>(first.type);
    if (first.side == static_cast<uint8_t>(s) && first.qty > 0) {
      Qty delta = 0;
      if (type == MdEventType::Add) delta = -first.qty;
      if (type == MdEventType::Execute || type == MdEventType::ExecuteAtPrice ||
          type == MdEventType::Cancel || type == MdEventType::Delete) {
        delta = first.qty;
      }
      if (delta != 0) {
        auto it = std::find_if(lv.begin(), lv.end(),
                               [&](const PxQty& l) { return l.price == first.price; });
        if (it != lv.end()) {
          it->qty += delta;
        } else if (delta > 0) {
          lv.push_back({first.price, delta});
        }
      }
    }
    for (const PxQty& l : lv) {
      if (l.qty > 0) out.push_back({s, l.price, l.qty});
    }
  }
  return out;
}

LobsterReplayStats lobster_replay(const MdEvent* events, size_t n, const int64_t* truth,
                                  size_t levels, bool reconcile, uint8_t* out_status,
                                  int64_t* out_depth, uint8_t* out_step_eq) {
  LobsterReplayStats st;
  if (n == 0 || levels == 0) return st;
  const size_t row = levels * kDepthCols;
  Replayer r(events[0].symbol_id, levels);
  r.seed(events[0], truth, events[0].ts_event);
  for (size_t i = 0; i < n; ++i) {
    out_status[i] = static_cast<uint8_t>(r.step(events[i], st));
    int64_t* ours = out_depth + i * row;
    const int64_t* theirs = truth + i * row;
    write_depth_row(r.book(), levels, ours);
    if (out_step_eq != nullptr) {
      for (size_t l = 0; l < levels; ++l) {
        const size_t o = l * kDepthCols;
        out_step_eq[i * levels + l] =
            std::equal(ours + o, ours + o + kDepthCols, theirs + o) ? 1 : 0;
      }
    }
    if (!reconcile || std::equal(ours, ours + row, theirs)) continue;
    if (st.reconciled_rows == 0) st.first_reconciled_row = i;
    const int64_t* prev = i == 0 ? theirs : theirs - row;
    uint64_t changed = r.reconcile(prev, theirs, events[i].ts_event);
    if (changed > 0) {
      ++st.reconciled_rows;
      st.reconciled_levels += changed;
      write_depth_row(r.book(), levels, ours);
    }
  }
  return st;
}

}  // namespace minihft
