// Synthetic ITCH day: see synth.hpp for the model. Everything is drawn from one xoshiro256**
// stream and pending events pop in (time, insertion) order, so a seed fixes every byte.
#include <algorithm>
#include <utility>

#include "minihft/feed/synth.hpp"

namespace minihft::feed::itch {

namespace {

uint64_t splitmix(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

constexpr int64_t kMaxPrice = 4'000'000'000;

}  // namespace

SynthGenerator::SynthGenerator(SynthParams p) : p_(std::move(p)) {
  const auto mark = std::find_if(p_.offset_ticks.begin(), p_.offset_ticks.end(),
                                 [](int64_t v) { return v <= kSpreadBucket; });
  for (auto it = mark; it != p_.offset_ticks.end(); ++it) {
    if (*it <= kSpreadBucket) {
      bucket_lo_.push_back(kSpreadBucket - *it);
      bucket_.emplace_back();
    } else {
      bucket_.back().push_back(*it);
    }
  }
  p_.offset_ticks.erase(mark, p_.offset_ticks.end());
  uint64_t x = p_.seed;
  for (auto& s : s_) s = splitmix(x);
  const size_t k = p_.symbols.size();
  books_.resize(k);
  for (auto& b : books_) b = std::make_unique<OrderBook>(256);
  last_mid_.assign(p_.base_price.begin(), p_.base_price.end());
  last_mid_.resize(k, 100 * p_.tick);
  if (p_.scale.size() < k) p_.scale.resize(k, 1.0);
  // locate-indexed table for the writer (locate 0 is unused in ITCH)
  std::vector<Symbol> by_locate(k + 1);
  by_locate[0].fill(' ');
  std::copy(p_.symbols.begin(), p_.symbols.end(), by_locate.begin() + 1);
  p_.symbols = std::move(by_locate);
  for (uint32_t s = 0; s < k; ++s) {
    const auto t = p_.start_ns + static_cast<int64_t>(sample(p_.arrival_ns) * p_.scale[s] * uni());
    push(Pending{t, 0, 0, 0, s, kArrival});
  }
}

uint64_t SynthGenerator::rnd() {
  const uint64_t r = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return r;
}

double SynthGenerator::uni() { return static_cast<double>(rnd() >> 11) * 0x1.0p-53; }

// Inverse-CDF draw from a quantile table, linear between neighbouring quantiles.
double SynthGenerator::sample(const std::vector<double>& q) {
  if (q.empty()) return 0.0;
  if (q.size() == 1) return q[0];
  const double x = uni() * static_cast<double>(q.size() - 1);
  const auto i = static_cast<size_t>(x);
  const double f = x - static_cast<double>(i);
  return i + 1 < q.size() ? q[i] + (q[i + 1] - q[i]) * f : q[i];
}

int64_t SynthGenerator::pick(const std::vector<int64_t>& q) {
  return q.empty() ? 0 : q[rnd() % q.size()];
}

void SynthGenerator::push(Pending p) {
  p.tie = tie_++;
  q_.push(p);
}

// Price of a limit order `off` ticks behind its same-side touch, or -1 if it would lock or cross
// the opposite touch. cls: 0 inside the spread, 1 at the touch, 2 behind it or side empty.
int64_t SynthGenerator::price_for(uint32_t sym, Side side, int64_t off, int& cls) {
  const OrderBook& b = *books_[sym];
  const OrderBook::Level* bid = b.best(Side::Buy);
  const OrderBook::Level* ask = b.best(Side::Sell);
  const int64_t tick = p_.tick;
  if (bid && ask) last_mid_[sym] = (bid->price + ask->price) / (2 * tick) * tick;
  const OrderBook::Level* same = side == Side::Buy ? bid : ask;
  const OrderBook::Level* opp = side == Side::Buy ? ask : bid;
  const int64_t dir = side == Side::Buy ? 1 : -1;  // towards the opposite side
  int64_t px;
  if (same) {
    px = same->price - dir * off * tick;
    if (opp && dir * (px - opp->price) >= 0) return -1;
    cls = off < 0 ? 0 : off == 0 ? 1 : 2;
  } else {
    const int64_t spread = std::max<int64_t>(1, pick(p_.spread_ticks)) * tick;
    px = opp ? opp->price - dir * spread : last_mid_[sym] - dir * (spread / 2);
    cls = 2;
  }
  return std::clamp<int64_t>(px, side == Side::Buy ? tick : 2 * tick, kMaxPrice);
}

// Limit offsets for the current spread of sym: its bucket's, or the pooled table when a side
// is empty or no bucket covers the spread.
const std::vector<int64_t>& SynthGenerator::limit_table(uint32_t sym) const {
  const OrderBook& b = *books_[sym];
  const OrderBook::Level* bid = b.best(Side::Buy);
  const OrderBook::Level* ask = b.best(Side::Sell);
  if (bid == nullptr || ask == nullptr || bucket_lo_.empty()) return p_.offset_ticks;
  const int64_t spread = (ask->price - bid->price) / p_.tick;
  const auto it = std::upper_bound(bucket_lo_.begin(), bucket_lo_.end(), spread);
  if (it == bucket_lo_.begin()) return p_.offset_ticks;
  const auto& t = bucket_[static_cast<size_t>(it - bucket_lo_.begin() - 1)];
  return t.empty() ? p_.offset_ticks : t;
}

// Offset of a limit order: the spread's table without marketable entries, truncated where the
// book would lock or cross. The same-side touch (offset 0) is always valid, so the loop is
// bounded.
int64_t SynthGenerator::limit_offset(uint32_t sym, Side side) {
  int cls = 0;
  const std::vector<int64_t>& table = limit_table(sym);
  for (int i = 0; i < 64; ++i) {
    const int64_t off = pick(table);
    if (off > kMarketable && price_for(sym, side, off, cls) >= 0) return off;
  }
  return 0;
}

void SynthGenerator::emit(const MdEvent& e) {
  if (written_ + 1 >= p_.messages) return;  // the last frame is reserved for the S tail
  put_events(*out_, &e, 1, p_.symbols, next_match_);
  ++written_;
}

// Cancel plan of a new order; its first pending event goes on the queue.
void SynthGenerator::plan(uint32_t sym, uint64_t ref, int64_t t, int cls) {
  const SynthParams::Fate& f = p_.fate[static_cast<size_t>(cls)];
  if (uni() >= f.p_delete) return;  // rests until aggressors take it or the close
  Pending pe{t, 0, ref, t, sym, kDelete};
  pe.t_end = t + static_cast<int64_t>(sample(f.life_delete_ns) * p_.scale[sym]);
  pe.t = pe.t_end;
  if (uni() < p_.p_partial_cancel) {
    pe.kind = kPartialCancel;
    pe.t = t + static_cast<int64_t>(static_cast<double>(pe.t_end - t) * uni());
  }
  push(pe);
}

// A marketable order: takes the opposite best level FIFO, one execution per resting order
// touched, all of it for qty 0 (in the sample most aggressors take exactly the displayed
// touch), else up to qty without walking past it (the rest is not shown, as an IOC).
void SynthGenerator::aggress(uint32_t sym, int64_t t, int64_t qty) {
  OrderBook& book = *books_[sym];
  const Side hit = uni() < 0.5 ? Side::Sell : Side::Buy;
  const OrderBook::Level* l = book.best(hit);
  if (l == nullptr) return;
  qty = qty == 0 ? l->qty : std::min<int64_t>(qty, l->qty);
  while (qty > 0) {
    const uint32_t idx = book.front(hit);
    const OrderBook::Order& o = book.order_at(idx);
    const int64_t take = std::min<int64_t>(qty, o.qty);
    const bool at_price = uni() < p_.p_exec_at_price;
    MdEvent e{};
    e.ts_event = t;
    e.symbol_id = sym + 1;
    e.order_id = o.id;
    e.side = static_cast<uint8_t>(hit);
    e.type = static_cast<uint8_t>(at_price ? MdEventType::ExecuteAtPrice : MdEventType::Execute);
    e.qty = take;
    e.price = at_price ? o.price : 0;
    e.flags = at_price ? kFlagPrintable : 0;
    emit(e);
    book.reduce_at(idx, take);
    qty -= take;
  }
}

void SynthGenerator::step() {
  Pending pe = q_.top();
  q_.pop();
  now_ = pe.t;
  const uint32_t sym = pe.sym;
  OrderBook& book = *books_[sym];
  MdEvent e{};
  e.ts_event = pe.t;
  e.symbol_id = sym + 1;
  e.order_id = pe.ref;
  switch (pe.kind) {
    case kArrival: {
      const int64_t draw = pick(p_.offset_ticks);
      if (draw <= kMarketable) {
        aggress(sym, pe.t, kMarketable - draw);
      } else {
        const Side side = uni() < p_.p_buy ? Side::Buy : Side::Sell;
        int cls = 2;
        const std::vector<int64_t>& table = limit_table(sym);
        const int64_t off = &table == &p_.offset_ticks ? draw : pick(table);
        e.price = off > kMarketable ? price_for(sym, side, off, cls) : -1;
        if (e.price < 0) e.price = price_for(sym, side, limit_offset(sym, side), cls);
        e.type = static_cast<uint8_t>(MdEventType::Add);
        e.order_id = next_ref_++;
        e.side = static_cast<uint8_t>(side);
        e.qty = std::max<int64_t>(1, pick(p_.sizes));
        e.flags = uni() < p_.p_attributed ? kFlagAttributed : 0;
        emit(e);
        book.add(e.order_id, side, e.price, e.qty, e.ts_event);
        plan(sym, e.order_id, pe.t, cls);
      }
      if (uni() < p_.p_hidden) {
        const OrderBook::Level* bid = book.best(Side::Buy);
        const OrderBook::Level* ask = book.best(Side::Sell);
        MdEvent h{};
        h.ts_event = pe.t;
        h.symbol_id = sym + 1;
        h.type = static_cast<uint8_t>(MdEventType::HiddenTrade);
        h.side = uni() < 0.5 ? 0 : 1;
        h.price =
            h.side == 0 ? (ask ? ask->price : last_mid_[sym]) : (bid ? bid->price : last_mid_[sym]);
        h.qty = std::max<int64_t>(1, pick(p_.sizes));
        emit(h);
      }
      pe.t += static_cast<int64_t>(sample(p_.arrival_ns) * p_.scale[sym]);
      push(pe);
      return;
    }
    case kPartialCancel: {
      const OrderBook::Order* o = book.find(pe.ref);
      if (o == nullptr) return;  // taken by aggressors: its delete is moot too
      if (o->qty >= 2) {
        e.type = static_cast<uint8_t>(MdEventType::Cancel);
        e.qty = 1 + static_cast<int64_t>(uni() * static_cast<double>(o->qty - 1));
        emit(e);
        book.reduce(pe.ref, e.qty);
      }
      pe.kind = kDelete;
      pe.t = pe.t_end;
      push(pe);
      return;
    }
    case kDelete: {
      const OrderBook::Order* o = book.find(pe.ref);
      if (o == nullptr) return;
      if (uni() < p_.p_replace) {
        const Side side = o->side;
        book.remove(pe.ref);
        e.type = static_cast<uint8_t>(MdEventType::Replace);
        e.new_order_id = next_ref_++;
        int cls = 2;
        e.price = price_for(sym, side, limit_offset(sym, side), cls);
        e.qty = std::max<int64_t>(1, pick(p_.sizes));
        emit(e);
        book.add(e.new_order_id, side, e.price, e.qty, e.ts_event);
        plan(sym, e.new_order_id, pe.t, cls);
      } else {
        e.type = static_cast<uint8_t>(MdEventType::Delete);
        emit(e);
        book.remove(pe.ref);
      }
      return;
    }
    default:
      return;
  }
}

uint64_t SynthGenerator::next(std::vector<uint8_t>& out, size_t max_bytes) {
  if (done_) return 0;
  out_ = &out;
  const uint64_t before = written_;
  const size_t limit = out.size() + max_bytes;
  if (!started_) {
    started_ = true;
    SystemEvent s{};
    s.ts = p_.start_ns;
    s.event_code = 'O';
    put_system_event(out, s);
    ++written_;
    for (size_t i = 1; i < p_.symbols.size(); ++i) {
      StockDirectory r{};
      r.ts = p_.start_ns;
      r.locate = static_cast<uint16_t>(i);
      r.stock = p_.symbols[i];
      r.market_category = 'Q';
      r.financial_status = 'N';
      r.round_lot_size = 100;
      r.round_lots_only = 'N';
      r.issue_classification = 'C';
      r.issue_subtype[0] = 'Z';
      r.issue_subtype[1] = ' ';
      r.authenticity = 'P';
      r.short_sale_threshold = 'N';
      r.ipo_flag = 'N';
      r.luld_tier = '1';
      r.etp_flag = 'N';
      r.inverse = 'N';
      put_stock_directory(out, r);
      ++written_;
    }
    now_ = p_.start_ns;
  }
  while (written_ + 1 < p_.messages && out.size() < limit && !q_.empty()) step();
  if (written_ + 1 >= p_.messages || q_.empty()) {
    SystemEvent s{};
    s.ts = now_;
    s.event_code = 'C';
    put_system_event(out, s);
    ++written_;
    done_ = true;
  }
  return written_ - before;
}

}  // namespace minihft::feed::itch
