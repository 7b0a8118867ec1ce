// Our side of the fill simulator: commands at venue arrival, taker sweeps, fills and reports.
#include <algorithm>

#include "fill_simulator_detail.hpp"
#include "minihft/lob/fill_simulator.hpp"

namespace minihft {

using namespace fill_detail;  // NOLINT: file-local helpers

void FillSimulator::emit(const Sym& y, Nanos t, ExecType type, OrderId id, Side side, Price px,
                         Qty qty, Qty leaves, uint64_t account, ErrorCode reason, Liquidity liq,
                         OrderId contra, int64_t md_index, FillCause cause, int64_t fee) {
  reports.push_back(ExecReport{t, id, contra, px, qty, leaves, account, y.symbol,
                               static_cast<uint8_t>(type), static_cast<uint8_t>(side),
                               static_cast<uint8_t>(reason), static_cast<uint8_t>(liq)});
  extras.push_back(ReportExtra{t, fee, md_index, static_cast<uint8_t>(cause), {}});
}

void FillSimulator::fill(Sym& y, uint32_t slot, Qty q, Price px, Liquidity liq, OrderId contra,
                         Nanos t, int64_t md_index, FillCause cause) {
  Ours& o = y.ours[slot];
  o.leaves -= q;
  const int64_t rate = liq == Liquidity::Maker ? cfg_.maker_fee_e4 : cfg_.taker_fee_e4;
  if (o.side == Side::Buy) {
    y.position += q;
    y.cash -= px * q;
  } else {
    y.position -= q;
    y.cash += px * q;
  }
  ++(liq == Liquidity::Maker ? counters_.maker_fills : counters_.taker_fills);
  emit(y, t, ExecType::OrderFilled, o.id, o.side, px, q, o.leaves, o.account, ErrorCode::Ok, liq,
       contra, md_index, cause, rate * q);
  if (o.leaves == 0) release(y, slot);
}

void FillSimulator::rest(Sym& y, uint32_t slot) {
  Ours& o = y.ours[slot];
  o.seq = seq_++;
  o.resting = true;
  y.live[static_cast<size_t>(o.side)].push_back(slot);
}

void FillSimulator::unrest(Sym& y, uint32_t slot) {
  Ours& o = y.ours[slot];
  if (!o.resting) return;
  auto& live = y.live[static_cast<size_t>(o.side)];
  live.erase(std::find(live.begin(), live.end(), slot));
  o.resting = false;
}

void FillSimulator::release(Sym& y, uint32_t slot) {
  unrest(y, slot);
  y.ours_ids.erase(y.ours[slot].id);
  y.free.push_back(slot);
}

void FillSimulator::arrive(const OrderCommand& c, Nanos arrival) {
  Sym* y = sym(c.symbol_id);
  if (y == nullptr) {
    reports.push_back(ExecReport{arrival, c.order_id, 0, c.price, c.qty, 0, c.account, c.symbol_id,
                                 static_cast<uint8_t>(ExecType::OrderRejected), c.side,
                                 static_cast<uint8_t>(ErrorCode::UnknownSymbol), 0});
    extras.push_back(ReportExtra{arrival, 0, -1, 0, {}});
    return;
  }
  switch (static_cast<CommandType>(c.type)) {
    case CommandType::SubmitOrder:
      return submit(*y, c, arrival);
    case CommandType::CancelOrder:
      return cancel(*y, c, arrival);
    case CommandType::ReplaceOrder:
      return replace(*y, c, arrival);
  }
  reject(*y, c, arrival, ErrorCode::InvalidType);
}

void FillSimulator::reject(const Sym& y, const OrderCommand& c, Nanos t, ErrorCode why) {
  reports.push_back(ExecReport{t, c.order_id, 0, c.price, c.qty, 0, c.account, y.symbol,
                               static_cast<uint8_t>(ExecType::OrderRejected), c.side,
                               static_cast<uint8_t>(why), 0});
  extras.push_back(ReportExtra{t, 0, -1, 0, {}});
}

bool FillSimulator::self_cross(const Sym& y, Side side, bool market, Price limit) const {
  for (uint32_t slot : y.live[static_cast<size_t>(opposite(side))]) {
    if (market || crosses(side, limit, y.ours[slot].price)) return true;
  }
  return false;
}

void FillSimulator::submit(Sym& y, const OrderCommand& c, Nanos t) {
  if (c.side > 1) return reject(y, c, t, ErrorCode::InvalidSide);
  const bool market = c.order_type == static_cast<uint8_t>(OrderType::Market);
  const bool post_only = (c.flags & kPostOnly) != 0;
  const bool day = c.tif == static_cast<uint8_t>(TimeInForce::Day);
  if (c.order_type > 1 || c.tif > 2 || (post_only && (market || !day))) {
    return reject(y, c, t, ErrorCode::InvalidType);
  }
  if (c.qty <= 0) return reject(y, c, t, ErrorCode::InvalidQty);
  if (!market && c.price <= 0) return reject(y, c, t, ErrorCode::InvalidPrice);
  if (y.ours_ids.find(c.order_id) != IdMap::kMissing) {
    return reject(y, c, t, ErrorCode::DuplicateOrderId);
  }
  const auto side = static_cast<Side>(c.side);
  const OrderBook::Level* top = y.book.best(opposite(side));
  if (market && top == nullptr) return reject(y, c, t, ErrorCode::NoLiquidity);
  if (post_only && top != nullptr && crosses(side, c.price, top->price)) {
    return reject(y, c, t, ErrorCode::WouldCross);
  }
  if (self_cross(y, side, market, c.price)) return reject(y, c, t, ErrorCode::SelfMatch);
  if (c.tif == static_cast<uint8_t>(TimeInForce::FOK)) {
    Qty avail = 0;
    const Side opp = opposite(side);
    for (size_t i = 0, n = y.book.level_count(opp); i < n && avail < c.qty; ++i) {
      const OrderBook::Level& l = y.book.level(opp, i);
      if (!market && !crosses(side, c.price, l.price)) break;
      avail += l.qty;
    }
    if (avail < c.qty) return reject(y, c, t, ErrorCode::NotFillable);
  }
  uint32_t slot;
  if (!y.free.empty()) {
    slot = y.free.back();
    y.free.pop_back();
  } else {
    y.ours.emplace_back();
    slot = static_cast<uint32_t>(y.ours.size() - 1);
  }
  const Price px = market ? 0 : c.price;
  y.ours[slot] = Ours{c.order_id, c.account, px, c.qty, 0, side, post_only, false};
  y.ours_ids.insert(c.order_id, slot);
  emit(y, t, ExecType::OrderAccepted, c.order_id, side, px, c.qty, c.qty, c.account, ErrorCode::Ok);
  const Qty left = top != nullptr ? sweep(y, slot, market, c.qty, t) : c.qty;
  if (left == 0) return;  // filled in full: fill() released it
  if (market || !day) {
    emit(y, t, ExecType::OrderCancelled, c.order_id, side, px, left, 0, c.account,
         ErrorCode::NoLiquidity);
    release(y, slot);
    return;
  }
  rest(y, slot);
}

Qty FillSimulator::sweep(Sym& y, uint32_t slot, bool market, Qty qty, Nanos t) {
  const Side side = y.ours[slot].side;
  const Price limit = y.ours[slot].price;
  const Side opp = opposite(side);
  while (qty > 0) {
    const OrderBook::Level* l = y.book.best(opp);
    if (l == nullptr || (!market && !crosses(side, limit, l->price))) break;
    const uint32_t idx = l->head;
    const OrderBook::Order& m = y.book.order_at(idx);
    const OrderId mid = m.id;
    const Price mpx = m.price;
    const Qty f = std::min(qty, m.qty);
    auto [it, fresh] = y.taken.try_emplace(mid, Taken{0, opp, mpx, m.tag});
    it->second.qty += f;
    y.taken_at[px_key(opp, mpx)] += f;
    y.book.reduce_at(idx, f);
    qty -= f;
    fill(y, slot, f, mpx, Liquidity::Taker, mid, t, -1, FillCause::Sweep);
  }
  return qty;
}

void FillSimulator::cancel(Sym& y, const OrderCommand& c, Nanos t) {
  const uint32_t slot = y.ours_ids.find(c.order_id);
  if (slot == IdMap::kMissing) return reject(y, c, t, ErrorCode::UnknownOrder);
  const Ours o = y.ours[slot];
  emit(y, t, ExecType::OrderCancelled, o.id, o.side, o.price, o.leaves, 0, o.account,
       ErrorCode::Ok);
  release(y, slot);
}

void FillSimulator::replace(Sym& y, const OrderCommand& c, Nanos t) {
  const uint32_t slot = y.ours_ids.find(c.order_id);
  if (slot == IdMap::kMissing) return reject(y, c, t, ErrorCode::UnknownOrder);
  if (c.qty <= 0) return reject(y, c, t, ErrorCode::InvalidQty);
  if (c.price <= 0) return reject(y, c, t, ErrorCode::InvalidPrice);
  Ours& o = y.ours[slot];
  const OrderBook::Level* top = y.book.best(opposite(o.side));
  const bool cross = top != nullptr && crosses(o.side, c.price, top->price);
  if (cross && o.post_only) return reject(y, c, t, ErrorCode::WouldCross);
  if (c.price != o.price && self_cross(y, o.side, false, c.price)) {
    return reject(y, c, t, ErrorCode::SelfMatch);
  }
  emit(y, t, ExecType::OrderReplaced, o.id, o.side, c.price, c.qty, c.qty, o.account,
       ErrorCode::Ok);
  if (c.price == o.price && c.qty <= o.leaves) {
    o.leaves = c.qty;  // size down keeps the queue position
    return;
  }
  unrest(y, slot);
  o.price = c.price;
  o.leaves = c.qty;
  if (cross && sweep(y, slot, false, c.qty, t) == 0) return;
  rest(y, slot);
}

}  // namespace minihft
