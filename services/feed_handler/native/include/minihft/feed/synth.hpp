// Synthetic ITCH 5.0 day: a seeded order-flow simulation whose distributions come from outside
// (python/minihft/marketdata/synthetic.py fits them to the LOBSTER samples). No I/O: next()
// appends whole frames to a caller buffer, so a day of any size streams in constant memory
// (apart from the resting orders the flow itself leaves in the books).
//
// Model (v4), per symbol k with time dilation scale[k] (1 = as active as the fitted sample):
//  - arrivals of incoming orders: inter-arrival times drawn from `arrival_ns`, times scale[k];
//    each arrival draws one entry of `offset_ticks`, followed with p_hidden by a P (hidden
//    print at the touch);
//  - an entry <= kMarketable is a marketable order (aggressor) of size kMarketable - entry, 0
//    meaning all the opposite touch shows: it takes liquidity FIFO from the opposite best level
//    (never past it), one E (or C with p_exec_at_price) per resting order it touches, the last
//    one possibly partially, all at one timestamp;
//  - any other entry is a limit order (A, F with p_attributed) priced that many ticks behind
//    its same-side touch (<0: inside the spread). With spread buckets in the table (see
//    kSpreadBucket) and both sides shown, the offset is drawn again from the bucket of the
//    current spread: in the sample wide spreads draw deep improvements, which keeps them from
//    staying wide. A draw that would lock or cross the book is
//    drawn again, so the improvement a spread allows follows the fitted table truncated at it;
//    an empty side starts a sampled spread (`spread_ticks`) from the opposite touch, or half of
//    one from the last mid. Sizes come from `sizes`;
//  - a limit order's cancel: with fate[cls].p_delete (cls: 0 inside the spread, 1 at the touch,
//    2 behind it or side empty) it is deleted after a lifetime drawn from life_delete_ns, unless
//    aggressors took it first; otherwise it rests until taken or the close. With
//    p_partial_cancel a cancel-bound order first loses part of its size (X). A delete is a U
//    (replace: new reference, fresh price, size and cancel plan) with p_replace.
//  - fate[].p_execute, fate[].life_execute_ns and exec_count_cdf are unused since v3: who is
//    executed, when and how often follows from the aggressors and the queue at the touch.
// Every E/C/X/D/U names a live order: pending cancels of an order the aggressors took are
// dropped when they come due, and references are never reused.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <queue>
#include <vector>

#include "minihft/feed/itch.hpp"
#include "minihft/lob/order_book.hpp"

namespace minihft::feed::itch {

// offset_ticks entries at or below this are marketable orders (size encoded, see above).
inline constexpr int64_t kMarketable = -1'000'000'000;
// An offset_ticks entry kSpreadBucket - lo (lo >= 1) ends the pooled incoming table and starts
// the limit offsets drawn while the spread is at least lo ticks (up to the next such mark).
// In-band so the binding's schema stays one flat table.
inline constexpr int64_t kSpreadBucket = -2'000'000'000'000;

struct SynthParams {
  uint64_t seed = 1;
  uint64_t messages = 0;                 // total frames including the S/R head and the S tail
  int64_t start_ns = 34200'000'000'000;  // 09:30 ET, ns since midnight
  int64_t tick = 100;                    // price units (1e-4 $) per tick
  double p_buy = 0.5;                    // of limit orders; aggressors buy with 1/2
  double p_attributed = 0.0;
  double p_hidden = 0.0;  // hidden prints per arrival
  double p_replace = 0.0;
  double p_partial_cancel = 0.0;
  double p_exec_at_price = 0.0;
  std::vector<double> exec_count_cdf;  // unused since v3 (kept for the binding's schema)
  std::vector<double> arrival_ns;      // quantile tables, ascending, sampled by interpolation
  // Cancel plan by offset class (0 inside the spread, 1 at the touch, 2 behind it or side empty).
  struct Fate {
    double p_delete = 0.6, p_execute = 0.3;  // p_execute unused since v3
    std::vector<double> life_delete_ns;
    std::vector<double> life_execute_ns;  // unused since v3
  };
  std::array<Fate, 3> fate;
  std::vector<int64_t> offset_ticks;  // discrete tables, sampled by index
  std::vector<int64_t> sizes;
  std::vector<int64_t> spread_ticks;  // spreads of the sample: where an empty side starts
  std::vector<Symbol> symbols;        // locate = index + 1
  std::vector<double> scale;          // per symbol time dilation
  std::vector<int64_t> base_price;    // per symbol opening reference price
};

class SynthGenerator {
 public:
  explicit SynthGenerator(SynthParams p);
  SynthGenerator(const SynthGenerator&) = delete;
  SynthGenerator& operator=(const SynthGenerator&) = delete;
  // Appends frames until out grows by about max_bytes or the day is over; returns frames written.
  uint64_t next(std::vector<uint8_t>& out, size_t max_bytes);
  bool done() const { return done_; }
  uint64_t written() const { return written_; }
  int64_t now() const { return now_; }

 private:
  enum Kind : uint8_t { kArrival, kPartialCancel, kDelete };
  struct Pending {
    int64_t t;
    uint64_t tie;  // insertion order: equal times pop deterministically
    uint64_t ref;
    int64_t t_end;
    uint32_t sym;
    uint8_t kind;
    bool operator>(const Pending& o) const { return t != o.t ? t > o.t : tie > o.tie; }
  };

  uint64_t rnd();
  double uni();
  double sample(const std::vector<double>& q);
  int64_t pick(const std::vector<int64_t>& q);
  int64_t price_for(uint32_t sym, Side side, int64_t off, int& cls);
  int64_t limit_offset(uint32_t sym, Side side);
  const std::vector<int64_t>& limit_table(uint32_t sym) const;
  void plan(uint32_t sym, uint64_t ref, int64_t t, int cls);
  void aggress(uint32_t sym, int64_t t, int64_t qty);
  void emit(const MdEvent& e);
  void push(Pending p);
  void step();

  SynthParams p_;
  std::vector<int64_t> bucket_lo_;  // ascending spread lower bounds, ticks
  std::vector<std::vector<int64_t>> bucket_;
  uint64_t s_[4]{};
  std::vector<std::unique_ptr<OrderBook>> books_;
  std::vector<int64_t> last_mid_;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> q_;
  std::vector<uint8_t>* out_ = nullptr;
  uint64_t tie_ = 0, next_ref_ = 1, next_match_ = 0, written_ = 0;
  int64_t now_ = 0;
  bool started_ = false, done_ = false;
};

}  // namespace minihft::feed::itch
