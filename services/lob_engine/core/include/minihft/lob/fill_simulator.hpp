// Backtest fill simulation: our orders against historical venue L3 flow, with exact FIFO queue
// position from order ids. No I/O, no clock: every time is a venue timestamp handed in.
//
// Venue book. Historical events build one OrderBook per symbol with BookBuilder semantics
// (add / execute / cancel / delete / replace / clear). A LOBSTER file starts mid-book: the book is
// seeded with lobster_seed_levels (one synthetic aggregate per level, older than anything in the
// file), and a reducing event on an id never seen comes out of the aggregate at its (side, price),
// then out of the oldest orders there, exactly as lobster_replay does. Every venue order carries a
// priority sequence number in its OrderBook tag (a replace gets a new one: it loses priority).
//
// No market impact on the historical flow: every historical event is applied as recorded. The one
// exception is liquidity we took (below), which the venue book no longer shows.
//
// Our passive orders do NOT rest in the venue book (depth() is venue liquidity only); each has a
// sequence number drawn at its venue arrival, so it is behind every venue order resting at its
// price at that moment and ahead of everything that arrives later. Venue orders ahead of ours
// leave by cancel, delete or execution and we move up; nothing else moves us.
//
// Passive fills. A historical execution of qty q of a venue order X resting on side S at price P
// fills our resting orders on side S that a FIFO venue would have matched before X:
//  - ours priced better than P (the tape traded through our price): cause TradeThrough;
//  - ours at P with a sequence before X's (X was behind us): cause QueueBehind.
// q is allocated over those orders in venue priority (better price first, then arrival), each
// getting min(q left, its leaves); one execution never fills more than q in total. The fill is at
// OUR price (the passive price, never better for us than our level), liquidity Maker. An
// execution on an id we never saw counts as ahead of all of ours (only trade-through fills).
// Hidden executions (MdEventType::HiddenTrade, price P, side S of the hidden order) fill ours at P
// or better when `hidden_fills` is set (displayed orders have priority over hidden ones).
// A venue add that would cross one of our resting orders does not fill it: no fill without a
// historical execution to justify it (conservative; the venue's book stays as recorded).
//
// Aggressive orders (marketable limit, market, IOC, FOK) take only displayed venue liquidity at
// arrival, best level first, FIFO within a level, at each resting order's price (Taker). What we
// took is remembered per venue order and the venue book shows it removed; later historical
// executions, cancels and deletes of that order absorb it first: an absorbed quantity produces no
// fill for anyone and never drives the book negative. A venue replace of such an order starts a
// fresh order of the recorded size and forgets what we took from the old one.
//
// Self-cross prevention: our orders never match each other (they are not in the venue book). An
// incoming submit, or a replace to a new price, whose limit would cross one of our own resting
// orders on the other side is rejected with SelfMatch and changes nothing.
//
// Commands at arrival: Submit is checked like MatchingEngine::submit (InvalidSide, InvalidType,
// InvalidQty, InvalidPrice, DuplicateOrderId on a live id of ours, NoLiquidity, WouldCross for
// post-only, SelfMatch, NotFillable for FOK), then OrderAccepted, taker fills, and the residual of
// a Day limit rests; that of IOC/market is OrderCancelled(NoLiquidity). Cancel of an order that is
// no longer live (filled, cancelled, or never arrived) is OrderRejected(UnknownOrder): a fill that
// happened while the cancel travelled stands. Replace keeps the id, qty = new open qty: same price
// and qty <= leaves keeps the queue position, any other change takes a new sequence number and a
// crossing new price first trades as taker.
//
// Fees: a rate per share in 1e-4 ticks (int64; negative = rebate), maker or taker by the fill's
// liquidity, recorded per report in ReportExtra::fee_e4 = rate * qty (1e-4 ticks, paid > 0).
//
// Reports are produced with ts = venue time; BacktestStepper adds report latency.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "minihft/lob/id_map.hpp"
#include "minihft/lob/lobster_replay.hpp"
#include "minihft/lob/order_book.hpp"
#include "minihft/lob/types.hpp"

namespace minihft {

struct FillConfig {
  Nanos order_latency_ns = 0;  // submit / replace: issue -> venue arrival, constant part
  Nanos order_jitter_ns = 0;   // plus uniform [0, jitter] from the seeded PRNG
  Nanos cancel_latency_ns = 0;
  Nanos cancel_jitter_ns = 0;
  Nanos report_latency_ns = 0;  // venue -> strategy, every report
  Nanos report_jitter_ns = 0;
  int64_t maker_fee_e4 = 0;  // per share, 1e-4 ticks; negative = rebate
  int64_t taker_fee_e4 = 0;
  uint64_t seed = 0;
  bool hidden_fills = true;
  bool record_trades = true;
};

enum class FillCause : uint8_t {
  None = 0,
  Sweep = 1,
  QueueBehind = 2,
  TradeThrough = 3,
  Hidden = 4
};

// Parallel to each ExecReport (the wire struct stays as is). 32 bytes.
struct ReportExtra {
  int64_t ts_venue;  // when it happened at the venue; ExecReport::ts is when we see it
  int64_t fee_e4;    // fills: qty * fee rate, 1e-4 ticks, positive = paid
  int64_t md_index;  // passive fills: index of the historical event that justified it; else -1
  uint8_t cause;     // FillCause
  uint8_t reserved[7];
};
static_assert(sizeof(ReportExtra) == 32);

// One historical print of the tape. 32 bytes.
struct TradePrint {
  int64_t ts;
  int64_t price;
  int64_t qty;
  uint32_t symbol_id;
  uint8_t aggressor;  // Side of the incoming order: opposite of the resting order executed
  uint8_t hidden;
  uint16_t reserved;
};
static_assert(sizeof(TradePrint) == 32);

class FillSimulator {
 public:
  struct Counters {
    uint64_t events = 0;
    uint64_t unknown_order_events = 0;  // reducing events on ids never seen (LOBSTER window)
    uint64_t absorbed_qty = 0;          // historical qty that hit liquidity we had taken
    uint64_t maker_fills = 0;
    uint64_t taker_fills = 0;
  };

  explicit FillSimulator(const FillConfig& cfg) : cfg_(cfg) {}
  FillSimulator(const FillSimulator&) = delete;
  FillSimulator& operator=(const FillSimulator&) = delete;
  FillSimulator(FillSimulator&&) = default;
  FillSimulator& operator=(FillSimulator&&) = default;

  // Seeds a symbol's book (before any of its events) with synthetic aggregates, oldest of all.
  void seed(SymbolId s, const std::vector<LobsterSeedLevel>& levels, Nanos ts);
  // One historical event; md_index names it in the reports it causes.
  ErrorCode apply(const MdEvent& e, int64_t md_index);
  // LOBSTER only shows depth beyond its window when the window moves onto it: sets the levels of
  // `cur` outside `prev`'s full window to what the file reveals, as lobster_replay's reconcile
  // does (rows: `levels` x 4, empty = 0). Aggregates written here count as older than our
  // orders. Levels inside the previous window are never touched, so what we took at the touch
  // is not put back. Returns the levels changed.
  uint64_t reconcile(SymbolId s, const int64_t* prev, const int64_t* cur, size_t levels, Nanos ts);
  // One of our commands reaching the venue at `arrival`.
  void arrive(const OrderCommand& c, Nanos arrival);

  // nullptr for a symbol never seen. Venue liquidity only, minus what we took.
  const OrderBook* book(SymbolId s) const {
    const Sym* y = sym(s);
    return y ? &y->book : nullptr;
  }
  Qty position(SymbolId s) const;
  int64_t cash(SymbolId s) const;  // ticks: sells add price*qty, buys subtract
  // Our live order's open qty / venue qty resting ahead of it at its price; -1 when not live.
  Qty open_qty(SymbolId s, OrderId id) const;
  Qty queue_ahead(SymbolId s, OrderId id) const;
  const Counters& counters() const { return counters_; }
  const FillConfig& config() const { return cfg_; }

  // Outputs since the last take, ts = venue time. The caller drains them.
  std::vector<ExecReport> reports;
  std::vector<ReportExtra> extras;
  std::vector<TradePrint> trades;

 private:
  struct Ours {
    OrderId id;
    uint64_t account;
    Price price;
    Qty leaves;
    uint64_t seq;
    Side side;
    bool post_only;
    bool resting;
  };
  struct Taken {  // what we took from one venue order and the events have not yet absorbed
    Qty qty;
    Side side;
    Price price;
    uint64_t seq;
  };
  struct Sym {
    explicit Sym(SymbolId id) : symbol(id), book(1 << 14), ours_ids(64) {}
    SymbolId symbol;
    OrderBook book;
    IdMap ours_ids;                 // our live order id -> index in ours
    std::vector<Ours> ours;         // slots, reused
    std::vector<uint32_t> free;     // free slots of ours
    std::vector<uint32_t> live[2];  // live slots per side
    std::unordered_map<OrderId, Taken> taken;
    std::unordered_map<uint64_t, Qty> taken_at;   // (price << 1 | side) -> sum of taken qty
    std::unordered_map<uint64_t, OrderId> synth;  // (price << 1 | side) -> aggregate id
    Qty position = 0;
    int64_t cash = 0;
  };

  Sym* sym(SymbolId s);
  const Sym* sym(SymbolId s) const { return s < syms_.size() ? syms_[s].get() : nullptr; }

  ErrorCode reduce(Sym& y, const MdEvent& e, int64_t md_index);
  Qty reduce_unknown(Sym& y, Side side, Price price, Qty qty);
  uint64_t set_level_qty(Sym& y, Side s, Price p, Qty target, Nanos ts);
  void add_aggregate(Sym& y, Side s, Price p, Qty qty, Nanos ts);  // older than our orders
  void untake(Sym& y, std::unordered_map<OrderId, Taken>::iterator it, Qty q);
  void passive(Sym& y, Side side, Price level, uint64_t behind_seq, Qty q, Nanos ts,
               int64_t md_index, FillCause at_level_cause, OrderId contra);

  void submit(Sym& y, const OrderCommand& c, Nanos t);
  void cancel(Sym& y, const OrderCommand& c, Nanos t);
  void replace(Sym& y, const OrderCommand& c, Nanos t);
  Qty sweep(Sym& y, uint32_t slot, bool market, Qty qty, Nanos t);
  bool self_cross(const Sym& y, Side side, bool market, Price limit) const;
  void rest(Sym& y, uint32_t slot);     // joins the queue: new sequence number
  void unrest(Sym& y, uint32_t slot);   // leaves the queue, stays live
  void release(Sym& y, uint32_t slot);  // no longer live

  void reject(const Sym& y, const OrderCommand& c, Nanos t, ErrorCode why);
  void emit(const Sym& y, Nanos t, ExecType type, OrderId id, Side side, Price px, Qty qty,
            Qty leaves, uint64_t account, ErrorCode reason, Liquidity liq = Liquidity::None,
            OrderId contra = 0, int64_t md_index = -1, FillCause cause = FillCause::None,
            int64_t fee = 0);
  void fill(Sym& y, uint32_t slot, Qty q, Price px, Liquidity liq, OrderId contra, Nanos t,
            int64_t md_index, FillCause cause);

  FillConfig cfg_;
  std::vector<std::unique_ptr<Sym>> syms_;
  uint64_t seq_ = 1;  // 0 is "older than everything" (ids never seen)
  uint64_t next_synth_ = 0;
  std::vector<uint32_t> due_;  // scratch of passive()
  Counters counters_;
};

}  // namespace minihft
