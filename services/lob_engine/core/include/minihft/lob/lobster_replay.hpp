// Replays a LOBSTER message file into a BookBuilder against its orderbook file (ground truth).
//
// A LOBSTER sample starts mid-book and only reports events that touch the top-L window, so two
// kinds of orders are invisible to the message stream:
//  - orders resting before the file starts: the book is seeded from orderbook row 1 with message 1
//    undone, one synthetic aggregate order per visible level; later events naming an id we never
//    saw are applied to the aggregate at their (side, price) and counted as unknown-order events;
//  - orders placed or changed beyond the window: they only show when the window moves onto them.
//    With `reconcile`, a level at a price outside the previous row's full window is set to what
//    the file reveals (the only place the file gives us that depth), and the row is counted.
// Everything else (the top of the book) must come out exact from the events alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "minihft/lob/book_builder.hpp"
#include "minihft/lob/types.hpp"

namespace minihft {

struct LobsterReplayStats {
  uint64_t unknown_order_events = 0;  // events on ids never added in the file
  uint64_t unmatched_unknown = 0;     // ...of which no aggregate was resting at that price
  uint64_t clamped_unknown = 0;       // ...of which asked for more than the level held
  uint64_t absorbed_unknown = 0;  // orders at the level taken as standing in for the unknown one
  uint64_t repaired_events = 0;   // known order held less than the venue said (see step())
  uint64_t reconciled_rows = 0;   // rows where revealed depth had to be written in
  uint64_t reconciled_levels = 0;
  uint64_t first_reconciled_row = 0;  // 0-based; meaningful when reconciled_rows > 0
};

struct LobsterSeedLevel {
  Side side;
  Price price;
  Qty qty;
};

// The pre-file book: orderbook row 1 (`levels` x [ask_px, ask_qty, bid_px, bid_qty], empty = 0, 0)
// with message 1 undone, one entry per non-empty level, asks then bids, best first (a level
// message 1 emptied comes last on its side). lobster_replay seeds from it, and so does the
// backtest fill simulator, so both start from the same book.
std::vector<LobsterSeedLevel> lobster_seed_levels(const MdEvent& first, const int64_t* row0,
                                                  size_t levels);

// events: n events of one symbol. truth: n rows of `levels` x [ask_px, ask_qty, bid_px, bid_qty]
// with empty levels as 0, 0 (the caller maps LOBSTER's +-9999999999 dummies). Writes one status
// per event and our depth row after each event. out_step_eq (n x levels, may be null) gets 1 where
// a level matched right after the event, before any reconcile: with reconcile on, every row
// starts from the exact previous book, so it scores the event alone. n >= 1 and levels >= 1.
LobsterReplayStats lobster_replay(const MdEvent* events, size_t n, const int64_t* truth,
                                  size_t levels, bool reconcile, uint8_t* out_status,
                                  int64_t* out_depth, uint8_t* out_step_eq = nullptr);

}  // namespace minihft
