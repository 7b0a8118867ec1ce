// NASDAQ TotalView-ITCH 5.0: decoder and encoder. No I/O: bytes in, records out (and back).
//
// Book-affecting messages become minihft::MdEvent (symbol_id = stock locate, ts_event = ITCH
// timestamp in ns since midnight, ts_recv = 0 for the caller to stamp, price in 1e-4 $ ticks).
// Mapping, and where fields MdEvent has no slot for go:
//   A, F -> Add (F sets kFlagAttributed; the MPID is not carried)
//   E    -> Execute, price 0 (the resting order's price is only known to the book)
//   C    -> ExecuteAtPrice, kFlagPrintable when printable == 'Y'
//   X    -> Cancel (qty = cancelled shares); D -> Delete; U -> Replace
//   P    -> HiddenTrade; Q -> HiddenTrade with kFlagCross and the cross type in bits 4..6;
//   B    -> HiddenTrade with kFlagBroken, qty 0, price 0 (voids the trade with that match number)
//   H    -> TradingStatus with flags = kStatus* code (the LOBSTER reader uses 1..3 the same way),
//           and a TradingAction reference record with the exact state and reason.
// For E, C, P, Q and B the ITCH match number rides in MdEvent::new_order_id (Replace uses it for
// the new order reference; no other type does).
// Reference messages (S R H Y L V W K J h I N O) become their own POD records below; numpy twins
// live in python/minihft/marketdata/itch_records.py and a test compares every field offset.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "minihft/lob/types.hpp"

namespace minihft {
class BookBuilder;
}

namespace minihft::feed::itch {

constexpr uint8_t kFlagCross = 0x01;
constexpr uint8_t kFlagBroken = 0x02;
constexpr uint8_t kFlagPrintable = 0x04;
constexpr uint8_t kFlagAttributed = 0x08;
constexpr int kCrossTypeShift = 4;  // Q cross type code in flags bits 4..6, see cross_type_code

// Q cross types in a 3-bit code, so a Q survives the round trip through MdEvent.
uint8_t cross_type_code(char cross_type);  // 'O'->1 'C'->2 'H'->3 'I'->4 'A'->5, other->0
char cross_type_char(uint8_t code);        // inverse; 0 -> ' '

// TradingStatus flags: 1 halted (LOBSTER -1), 2 quotation only (0), 3 trading (1), 4 paused.
constexpr uint8_t kStatusHalted = 1;
constexpr uint8_t kStatusQuoting = 2;
constexpr uint8_t kStatusTrading = 3;
constexpr uint8_t kStatusPaused = 4;
uint8_t trading_status_code(char state);  // 'H','Q','T','P' -> 1..4, other -> 0
char trading_status_char(uint8_t code);   // inverse; other -> ' '

using Symbol = std::array<char, 8>;  // space-padded, as on the wire

// Common head of every reference record: ts (ns since midnight), seq (ordinal of the message in
// the stream, counting every accepted frame), stock locate, tracking number.
#define MINIHFT_ITCH_HEAD \
  int64_t ts;             \
  uint64_t seq;           \
  uint16_t locate;        \
  uint16_t tracking

struct SystemEvent {  // S
  MINIHFT_ITCH_HEAD;
  char event_code;
  uint8_t pad[3];
};
struct StockDirectory {  // R
  MINIHFT_ITCH_HEAD;
  uint32_t round_lot_size;
  uint32_t etp_leverage_factor;
  Symbol stock;
  char market_category, financial_status, round_lots_only, issue_classification;
  char issue_subtype[2];
  char authenticity, short_sale_threshold, ipo_flag, luld_tier, etp_flag, inverse;
};
struct TradingAction {  // H
  MINIHFT_ITCH_HEAD;
  Symbol stock;
  char trading_state, reserved;
  char reason[4];
  uint8_t pad[6];
};
struct RegSho {  // Y
  MINIHFT_ITCH_HEAD;
  Symbol stock;
  char action;
  uint8_t pad[3];
};
struct ParticipantPosition {  // L
  MINIHFT_ITCH_HEAD;
  char mpid[4];
  Symbol stock;
  char primary_market_maker, market_maker_mode, participant_state;
  uint8_t pad[5];
};
struct MwcbDecline {  // V: prices are Price(8), eight implied decimals
  MINIHFT_ITCH_HEAD;
  uint32_t pad;
  uint64_t level1, level2, level3;
};
struct MwcbStatus {  // W
  MINIHFT_ITCH_HEAD;
  char breached_level;
  uint8_t pad[3];
};
struct IpoQuoting {  // K
  MINIHFT_ITCH_HEAD;
  uint32_t release_time;  // seconds since midnight
  uint32_t ipo_price;
  Symbol stock;
  char release_qualifier;
  uint8_t pad[3];
};
struct LuldCollar {  // J
  MINIHFT_ITCH_HEAD;
  uint32_t ref_price, upper_price, lower_price, extension;
  Symbol stock;
  uint8_t pad[4];
};
struct OperationalHalt {  // h
  MINIHFT_ITCH_HEAD;
  Symbol stock;
  char market_code, action;
  uint8_t pad[2];
};
struct Noii {  // I
  MINIHFT_ITCH_HEAD;
  uint32_t far_price;
  uint64_t paired_shares, imbalance_shares;
  uint32_t near_price, ref_price;
  Symbol stock;
  char direction, cross_type, price_variation;
  uint8_t pad[5];
};
struct Rpii {  // N
  MINIHFT_ITCH_HEAD;
  Symbol stock;
  char interest_flag;
  uint8_t pad[3];
};
struct DlcrPrice {  // O
  MINIHFT_ITCH_HEAD;
  uint32_t min_price;
  uint64_t near_execution_time;
  uint32_t max_price, near_price, lower_collar, upper_collar;
  Symbol stock;
  char open_eligibility;
  uint8_t pad[7];
};
#undef MINIHFT_ITCH_HEAD

static_assert(sizeof(SystemEvent) == 24 && sizeof(StockDirectory) == 48);
static_assert(sizeof(TradingAction) == 40 && sizeof(RegSho) == 32);
static_assert(sizeof(ParticipantPosition) == 40 && sizeof(MwcbDecline) == 48);
static_assert(sizeof(MwcbStatus) == 24 && sizeof(IpoQuoting) == 40 && sizeof(LuldCollar) == 48);
static_assert(sizeof(OperationalHalt) == 32 && sizeof(Noii) == 64 && sizeof(Rpii) == 32);
static_assert(sizeof(DlcrPrice) == 64);

// Everything one decode call produced. Vectors only grow; the caller takes and clears them.
struct Output {
  std::vector<MdEvent> events;
  std::vector<SystemEvent> system_events;
  std::vector<StockDirectory> stock_directory;
  std::vector<TradingAction> trading_actions;
  std::vector<RegSho> reg_sho;
  std::vector<ParticipantPosition> participant_positions;
  std::vector<MwcbDecline> mwcb_decline;
  std::vector<MwcbStatus> mwcb_status;
  std::vector<IpoQuoting> ipo_quoting;
  std::vector<LuldCollar> luld_collars;
  std::vector<OperationalHalt> operational_halts;
  std::vector<Noii> noii;
  std::vector<Rpii> rpii;
  std::vector<DlcrPrice> dlcr_prices;
  void clear();
};

enum class OnError : uint8_t { Stop = 0, Skip = 1 };

enum class Fault : uint8_t {
  None = 0,
  UnknownType = 1,  // type byte not in ITCH 5.0
  BadLength = 2,    // length prefix disagrees with the type's fixed length
  Truncated = 3,    // stream ended inside a frame
};
const char* to_string(Fault f);

struct FaultInfo {
  Fault fault = Fault::None;
  uint64_t offset = 0;  // stream offset of the frame's 2-byte length prefix
  char type = 0;        // message type byte, 0 when the frame ended before it
  uint16_t length = 0;  // length prefix (0 when not even the prefix was complete)
  uint16_t expected = 0;
  explicit operator bool() const { return fault != Fault::None; }
};

struct Counters {
  uint64_t messages = 0;  // accepted frames (seq of the next one)
  uint64_t bytes = 0;     // stream bytes consumed, prefixes included, skipped frames too
  uint64_t md_events = 0;
  uint64_t empty_frames = 0;  // zero length prefix: end-of-session marker, skipped
  uint64_t skipped_unknown = 0;
  uint64_t skipped_bad_length = 0;
  uint64_t truncated_frames = 0;
  uint64_t truncated_bytes = 0;
  std::array<uint64_t, 128> by_type{};  // accepted frames per type byte
};

// Fixed wire length (type byte included, prefix excluded) of a type; 0 when unknown.
uint16_t message_length(uint8_t type);

struct DecodeResult {
  size_t consumed;  // bytes of buf fully handled; in Stop mode the faulty frame starts here
  FaultInfo fault;  // UnknownType/BadLength in Stop mode only
};

// Decodes every complete frame in buf[0, n). base_offset is buf's offset in the stream, used only
// for fault offsets. A partial frame at the end is left unconsumed (not an error here).
DecodeResult decode(const uint8_t* buf, size_t n, uint64_t base_offset, OnError mode, Output& out,
                    Counters& c);

// decode, with every book event applied to `books` as it is decoded instead of being collected in
// out.events (reference records still go to out). Same books, stats and counters as decode then
// books.apply(out.events) event by event, without writing and re-reading 64 bytes per event or
// dispatching on its type twice. Once the books hold lookahead_from live orders (shared store)
// and their ids are mostly direct (BookBuilder::hints_find_orders), every frame 16 ahead has its
// book and order table line prefetched, 8 ahead the touch of the book and the order. Measured
// (profiling/reports/2026-11-25): ~8% less time per message on the default synthetic day (7k
// live orders, 500 books), ~25% on the 20M-message one (42k, 3000 books); ~15% more on LOBSTER
// as ITCH (2 deep books, 16k live orders, ids up to 4.6e9: hashed), hence the second condition.
constexpr size_t kLookaheadFrom = size_t{1} << 12;
DecodeResult decode_apply(const uint8_t* buf, size_t n, uint64_t base_offset, OnError mode,
                          Output& out, Counters& c, BookBuilder& books,
                          size_t lookahead_from = kLookaheadFrom);

// Framing across arbitrary chunk boundaries: whole frames are decoded in place, only a frame split
// by a chunk edge is copied. Constant memory apart from what the caller leaves in output().
class StreamParser {
 public:
  explicit StreamParser(OnError mode = OnError::Stop) : mode_(mode) {}
  // After a Stop-mode fault every further call returns that fault and decodes nothing.
  FaultInfo feed(const uint8_t* data, size_t n);
  // End of stream: a pending partial frame is a Truncated fault (Stop) or counted (Skip).
  FaultInfo finish();
  Output& output() { return out_; }
  const Counters& counters() const { return counters_; }
  uint64_t offset() const { return counters_.bytes; }
  const FaultInfo& fault() const { return fault_; }

 private:
  OnError mode_;
  Output out_;
  Counters counters_;
  FaultInfo fault_;
  std::vector<uint8_t> carry_;
};

// ---- Writer --------------------------------------------------------------------------------

struct WriteResult {
  size_t index = 0;            // first event that could not be encoded (when !ok)
  const char* what = nullptr;  // null when every event was written
  bool ok() const { return what == nullptr; }
};

// Frame encoders: each appends the 2-byte length prefix and the message.
void put_system_event(std::vector<uint8_t>& out, const SystemEvent& r);
void put_stock_directory(std::vector<uint8_t>& out, const StockDirectory& r);
void put_trading_action(std::vector<uint8_t>& out, const TradingAction& r);
void put_reg_sho(std::vector<uint8_t>& out, const RegSho& r);
void put_participant_position(std::vector<uint8_t>& out, const ParticipantPosition& r);
void put_mwcb_decline(std::vector<uint8_t>& out, const MwcbDecline& r);
void put_mwcb_status(std::vector<uint8_t>& out, const MwcbStatus& r);
void put_ipo_quoting(std::vector<uint8_t>& out, const IpoQuoting& r);
void put_luld_collar(std::vector<uint8_t>& out, const LuldCollar& r);
void put_operational_halt(std::vector<uint8_t>& out, const OperationalHalt& r);
void put_noii(std::vector<uint8_t>& out, const Noii& r);
void put_rpii(std::vector<uint8_t>& out, const Rpii& r);
void put_dlcr_price(std::vector<uint8_t>& out, const DlcrPrice& r);

// Encodes MdEvents as A/F/E/C/X/D/U/P/Q/B/H. symbols[locate] gives the stock field of A, F, P, Q
// and H (spaces when locate is out of range). A zero match number (new_order_id) on a trade is
// replaced by ++next_match so every print carries a distinct one. Stops at the first event that
// does not fit ITCH (timestamp beyond 48 bits, price or qty beyond uint32, locate beyond
// uint16, Clear, unknown type) and says which.
WriteResult put_events(std::vector<uint8_t>& out, const MdEvent* ev, size_t n,
                       const std::vector<Symbol>& symbols, uint64_t& next_match);

}  // namespace minihft::feed::itch
