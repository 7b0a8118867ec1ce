// ITCH 5.0 encoder: the inverse of itch_parser.cpp, so recorded or LOBSTER flow can be replayed as
// real protocol bytes. Every frame is the 2-byte big-endian length prefix plus the message.
#include <cstring>

#include "be.hpp"
#include "minihft/feed/itch.hpp"

namespace minihft::feed::itch {

namespace {

template <class R>
void head(std::vector<uint8_t>& o, char type, const R& r) {
  put16(o, message_length(static_cast<uint8_t>(type)));
  put8(o, static_cast<uint8_t>(type));
  put16(o, r.locate);
  put16(o, r.tracking);
  put48(o, static_cast<uint64_t>(r.ts));
}

void head_md(std::vector<uint8_t>& o, char type, const MdEvent& e) {
  put16(o, message_length(static_cast<uint8_t>(type)));
  put8(o, static_cast<uint8_t>(type));
  put16(o, static_cast<uint16_t>(e.symbol_id));
  put16(o, 0);
  put48(o, static_cast<uint64_t>(e.ts_event));
}

inline void c(std::vector<uint8_t>& o, char v) { put8(o, static_cast<uint8_t>(v)); }
inline void sym(std::vector<uint8_t>& o, const Symbol& s) { putn(o, s.data(), 8); }

const Symbol kBlank = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};

}  // namespace

void put_system_event(std::vector<uint8_t>& o, const SystemEvent& r) {
  head(o, 'S', r);
  c(o, r.event_code);
}

void put_stock_directory(std::vector<uint8_t>& o, const StockDirectory& r) {
  head(o, 'R', r);
  sym(o, r.stock);
  c(o, r.market_category);
  c(o, r.financial_status);
  put32(o, r.round_lot_size);
  c(o, r.round_lots_only);
  c(o, r.issue_classification);
  putn(o, r.issue_subtype, 2);
  c(o, r.authenticity);
  c(o, r.short_sale_threshold);
  c(o, r.ipo_flag);
  c(o, r.luld_tier);
  c(o, r.etp_flag);
  put32(o, r.etp_leverage_factor);
  c(o, r.inverse);
}

void put_trading_action(std::vector<uint8_t>& o, const TradingAction& r) {
  head(o, 'H', r);
  sym(o, r.stock);
  c(o, r.trading_state);
  c(o, r.reserved);
  putn(o, r.reason, 4);
}

void put_reg_sho(std::vector<uint8_t>& o, const RegSho& r) {
  head(o, 'Y', r);
  sym(o, r.stock);
  c(o, r.action);
}

void put_participant_position(std::vector<uint8_t>& o, const ParticipantPosition& r) {
  head(o, 'L', r);
  putn(o, r.mpid, 4);
  sym(o, r.stock);
  c(o, r.primary_market_maker);
  c(o, r.market_maker_mode);
  c(o, r.participant_state);
}

void put_mwcb_decline(std::vector<uint8_t>& o, const MwcbDecline& r) {
  head(o, 'V', r);
  put64(o, r.level1);
  put64(o, r.level2);
  put64(o, r.level3);
}

void put_mwcb_status(std::vector<uint8_t>& o, const MwcbStatus& r) {
  head(o, 'W', r);
  c(o, r.breached_level);
}

void put_ipo_quoting(std::vector<uint8_t>& o, const IpoQuoting& r) {
  head(o, 'K', r);
  sym(o, r.stock);
  put32(o, r.release_time);
  c(o, r.release_qualifier);
  put32(o, r.ipo_price);
}

void put_luld_collar(std::vector<uint8_t>& o, const LuldCollar& r) {
  head(o, 'J', r);
  sym(o, r.stock);
  put32(o, r.ref_price);
  put32(o, r.upper_price);
  put32(o, r.lower_price);
  put32(o, r.extension);
}

void put_operational_halt(std::vector<uint8_t>& o, const OperationalHalt& r) {
  head(o, 'h', r);
  sym(o, r.stock);
  c(o, r.market_code);
  c(o, r.action);
}

void put_noii(std::vector<uint8_t>& o, const Noii& r) {
  head(o, 'I', r);
  put64(o, r.paired_shares);
  put64(o, r.imbalance_shares);
  c(o, r.direction);
  sym(o, r.stock);
  put32(o, r.far_price);
  put32(o, r.near_price);
  put32(o, r.ref_price);
  c(o, r.cross_type);
  c(o, r.price_variation);
}

void put_rpii(std::vector<uint8_t>& o, const Rpii& r) {
  head(o, 'N', r);
  sym(o, r.stock);
  c(o, r.interest_flag);
}

void put_dlcr_price(std::vector<uint8_t>& o, const DlcrPrice& r) {
  head(o, 'O', r);
  sym(o, r.stock);
  c(o, r.open_eligibility);
  put32(o, r.min_price);
  put32(o, r.max_price);
  put32(o, r.near_price);
  put64(o, r.near_execution_time);
  put32(o, r.lower_collar);
  put32(o, r.upper_collar);
}

WriteResult put_events(std::vector<uint8_t>& o, const MdEvent* ev, size_t n,
                       const std::vector<Symbol>& symbols, uint64_t& next_match) {
  constexpr int64_t kU32 = 0xFFFFFFFFll;
  for (size_t i = 0; i < n; ++i) {
    const MdEvent& e = ev[i];
    auto fail = [&](const char* what) { return WriteResult{i, what}; };
    if (e.ts_event < 0 || e.ts_event >= (int64_t{1} << 48)) return fail("ts_event outside 48 bits");
    if (e.symbol_id > 0xFFFF) return fail("symbol_id (stock locate) outside uint16");
    if (e.price < 0 || e.price > kU32) return fail("price outside uint32");
    const bool wide_qty = (e.flags & kFlagCross) != 0;  // Q carries 8-byte shares
    if (e.qty < 0 || (!wide_qty && e.qty > kU32)) return fail("qty outside uint32");
    const Symbol& stock = e.symbol_id < symbols.size() ? symbols[e.symbol_id] : kBlank;
    const char side = e.side == static_cast<uint8_t>(Side::Sell) ? 'S' : 'B';
    const auto qty = static_cast<uint32_t>(e.qty);
    const auto px = static_cast<uint32_t>(e.price);
    auto match = [&] { return e.new_order_id != 0 ? e.new_order_id : ++next_match; };
    switch (static_cast<MdEventType>(e.type)) {
      case MdEventType::Add: {
        const bool f = (e.flags & kFlagAttributed) != 0;
        head_md(o, f ? 'F' : 'A', e);
        put64(o, e.order_id);
        c(o, side);
        put32(o, qty);
        sym(o, stock);
        put32(o, px);
        if (f) putn(o, "    ", 4);  // the MPID is not kept in MdEvent
        break;
      }
      case MdEventType::Execute:
        head_md(o, 'E', e);
        put64(o, e.order_id);
        put32(o, qty);
        put64(o, match());
        break;
      case MdEventType::ExecuteAtPrice:
        head_md(o, 'C', e);
        put64(o, e.order_id);
        put32(o, qty);
        put64(o, match());
        c(o, (e.flags & kFlagPrintable) != 0 ? 'Y' : 'N');
        put32(o, px);
        break;
      case MdEventType::Cancel:
        head_md(o, 'X', e);
        put64(o, e.order_id);
        put32(o, qty);
        break;
      case MdEventType::Delete:
        head_md(o, 'D', e);
        put64(o, e.order_id);
        break;
      case MdEventType::Replace:
        head_md(o, 'U', e);
        put64(o, e.order_id);
        put64(o, e.new_order_id);
        put32(o, qty);
        put32(o, px);
        break;
      case MdEventType::HiddenTrade:
        if ((e.flags & kFlagBroken) != 0) {
          head_md(o, 'B', e);
          put64(o, match());
        } else if (wide_qty) {
          head_md(o, 'Q', e);
          put64(o, static_cast<uint64_t>(e.qty));
          sym(o, stock);
          put32(o, px);
          put64(o, match());
          c(o, cross_type_char(static_cast<uint8_t>(e.flags >> kCrossTypeShift)));
        } else {
          head_md(o, 'P', e);
          put64(o, e.order_id);
          c(o, side);
          put32(o, qty);
          sym(o, stock);
          put32(o, px);
          put64(o, match());
        }
        break;
      case MdEventType::TradingStatus:
        head_md(o, 'H', e);
        sym(o, stock);
        c(o, trading_status_char(e.flags));
        c(o, ' ');
        putn(o, "    ", 4);
        break;
      default:
        return fail("event type has no ITCH 5.0 message (Clear or unknown)");
    }
  }
  return {};
}

}  // namespace minihft::feed::itch
