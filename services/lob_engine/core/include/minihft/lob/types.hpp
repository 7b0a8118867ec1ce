// Shared vocabulary of the minihft core: integer ticks, integer quantities, int64 nanoseconds.
// The POD structs here are the wire layout of the hot FlatBuffers batch structs and of the numpy
// dtypes in minihft.lob, field for field; a static_assert and a Python test keep the three equal.
#pragma once

#include <cstddef>
#include <cstdint>

namespace minihft {

using Price = int64_t;  // integer ticks (1e-4 dollars for US equities)
using Qty = int64_t;
using OrderId = uint64_t;
using Nanos = int64_t;
using SymbolId = uint32_t;

enum class Side : uint8_t { Buy = 0, Sell = 1 };

constexpr Side opposite(Side s) { return s == Side::Buy ? Side::Sell : Side::Buy; }

// Hot-path result codes. Never exceptions on the hot path.
enum class ErrorCode : uint8_t {
  Ok = 0,
  UnknownOrder = 1,      // event or command names an order id the book does not hold
  DuplicateOrderId = 2,  // add with an id that is already live
  InvalidQty = 3,        // zero or negative quantity, or more than the order has left
  InvalidPrice = 4,      // non-positive price on a priced order
  InvalidSide = 5,
  InvalidType = 6,  // unknown event or order type byte
  WouldCross = 7,   // post-only order that would take liquidity
  NotFillable = 8,  // FOK that cannot be filled in full
  NoLiquidity = 9,  // market order against an empty opposite side
  SelfMatch = 10,   // cancelled by self-match prevention
  UnknownSymbol = 11,
};

const char* to_string(ErrorCode code);

// ---- Venue L3 market data (md.events) -----------------------------------------------------------

enum class MdEventType : uint8_t {
  Add = 1,             // new visible order: order_id, side, price, qty
  Execute = 2,         // qty of a resting order executed at its own price
  ExecuteAtPrice = 3,  // qty executed at `price` (may differ from the resting price)
  Cancel = 4,          // partial cancel: qty removed, order keeps priority
  Delete = 5,          // whole order removed
  Replace = 6,         // order_id replaced by new_order_id at price/qty; loses priority
  HiddenTrade = 7,     // trade against a non-displayed order; no book change
  Clear = 8,           // drop every order of the symbol
  TradingStatus = 9,   // halt/resume etc. in `flags`; no book change
};

// 56 bytes, ordered by decreasing alignment so C++, FlatBuffers and numpy agree with no padding
// surprises.
struct MdEvent {
  int64_t ts_event;  // venue time, ns
  int64_t ts_recv;   // local receive time, ns
  uint64_t order_id;
  uint64_t new_order_id;  // Replace only
  int64_t price;          // ticks
  int64_t qty;            // Add: size; Execute/Cancel: delta; Replace: new size
  uint32_t symbol_id;
  uint8_t type;   // MdEventType
  uint8_t side;   // Side
  uint8_t flags;  // type-specific (TradingStatus code, printable, ...)
  uint8_t reserved;
};
static_assert(sizeof(MdEvent) == 56, "MdEvent is a wire struct");

// ---- Orders (commands) and execution reports (events) ------------------------------------------

enum class CommandType : uint8_t { SubmitOrder = 1, CancelOrder = 2, ReplaceOrder = 3 };
enum class OrderType : uint8_t { Limit = 0, Market = 1 };
enum class TimeInForce : uint8_t { Day = 0, IOC = 1, FOK = 2 };
enum OrderFlags : uint32_t { kPostOnly = 1u << 0 };

// 56 bytes. Replace keeps the order id: size down keeps priority, price change or size up loses it.
struct OrderCommand {
  int64_t ts;  // when the command was issued, from the injected clock
  uint64_t order_id;
  int64_t price;  // ticks; ignored for market orders
  int64_t qty;    // Submit: size; Replace: new total size
  uint64_t account;
  uint32_t symbol_id;
  uint8_t type;        // CommandType
  uint8_t side;        // Side
  uint8_t order_type;  // OrderType
  uint8_t tif;         // TimeInForce
  uint32_t flags;      // OrderFlags
  uint32_t reserved;
};
static_assert(sizeof(OrderCommand) == 56, "OrderCommand is a wire struct");

enum class ExecType : uint8_t {
  OrderAccepted = 1,
  OrderRejected = 2,
  OrderFilled = 3,  // one per side of every trade: taker and maker each get theirs
  OrderCancelled = 4,
  OrderReplaced = 5,
};
enum class Liquidity : uint8_t { None = 0, Maker = 1, Taker = 2 };

// 64 bytes.
struct ExecReport {
  int64_t ts;
  uint64_t order_id;         // the order this report is about
  uint64_t contra_order_id;  // OrderFilled: the other side of the trade
  int64_t price;             // OrderFilled: trade price; otherwise the order's price
  int64_t qty;               // OrderFilled: traded; OrderCancelled: cancelled; else order size
  int64_t leaves_qty;        // still open after this report
  uint64_t account;
  uint32_t symbol_id;
  uint8_t type;       // ExecType
  uint8_t side;       // Side
  uint8_t reason;     // ErrorCode: why rejected or cancelled (Ok for a plain cancel)
  uint8_t liquidity;  // Liquidity
};
static_assert(sizeof(ExecReport) == 64, "ExecReport is a wire struct");

// One price level of a depth snapshot.
struct DepthLevel {
  Price price;
  Qty qty;
  uint32_t orders;
  uint32_t reserved;
};
static_assert(sizeof(DepthLevel) == 24, "DepthLevel is a wire struct");

}  // namespace minihft
