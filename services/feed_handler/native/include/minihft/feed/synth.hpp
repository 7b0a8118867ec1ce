// Synthetic ITCH 5.0 day: a seeded order-flow simulation whose distributions come from outside
// (python/minihft/marketdata/synthetic.py fits them to the LOBSTER samples). No I/O: next()
// appends whole frames to a caller buffer, so a day of any size streams in constant memory
// (apart from the resting orders the flow itself leaves in the books).
//
// Model, per symbol k with time dilation scale[k] (1 = as active as the fitted sample):
//  - arrivals: inter-arrival times drawn from `arrival_ns`, times scale[k]; each arrival is an A
//    (F with p_attributed), followed with p_hidden by a P (hidden print near the touch);
//  - price: offset in ticks from the same-side touch drawn from `offset_ticks` (>0 behind the
//    touch, <0 inside the spread), clamped one tick short of the opposite touch so books never
//    cross; an empty side starts a sampled spread (`spread_ticks`) away from the opposite touch,
//    or half of one from the last mid;
//  - fate at arrival: delete / execute / survive, with probabilities and lifetime tables chosen
//    by where the order landed (inside the spread, at the touch, behind it; the caller may give
//    the same tables to all three);
//    executed orders take `exec_count` executions (the partial ones at uniform times before the
//    last, which takes the rest), any order may take one partial cancel X with p_partial_cancel;
//  - a delete is a U (replace: new reference, fresh price, size and fate) with p_replace, and an
//    execution is a C (printable, at the resting price) with p_exec_at_price.
// Every E/C/X/D/U names a live order because each order has exactly one pending event at a time.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <queue>
#include <vector>

#include "minihft/feed/itch.hpp"
#include "minihft/lob/order_book.hpp"

namespace minihft::feed::itch {

struct SynthParams {
  uint64_t seed = 1;
  uint64_t messages = 0;                 // total frames including the S/R head and the S tail
  int64_t start_ns = 34200'000'000'000;  // 09:30 ET, ns since midnight
  int64_t tick = 100;                    // price units (1e-4 $) per tick
  double p_buy = 0.5;
  double p_attributed = 0.0;
  double p_hidden = 0.0;  // hidden prints per arrival
  double p_replace = 0.0;
  double p_partial_cancel = 0.0;
  double p_exec_at_price = 0.0;
  std::vector<double> exec_count_cdf;  // P(k <= i + 1) executions for an executed order
  std::vector<double> arrival_ns;      // quantile tables, ascending, sampled by interpolation
  // Fate by offset class (0 inside the spread, 1 at the touch, 2 behind it or side empty).
  struct Fate {
    double p_delete = 0.6, p_execute = 0.3;  // the rest survive
    std::vector<double> life_delete_ns;
    std::vector<double> life_execute_ns;
  };
  std::array<Fate, 3> fate;
  std::vector<int64_t> offset_ticks;  // quantile tables of discrete values, sampled by index
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
  enum Kind : uint8_t { kArrival, kPartialExec, kPartialCancel, kDelete, kExecute };
  struct Pending {
    int64_t t;
    uint64_t tie;  // insertion order: equal times pop deterministically
    uint64_t ref;
    int64_t t_end;
    uint32_t sym;
    uint8_t kind;
    uint8_t exec_left;    // partial executions still to come
    uint8_t cancel_left;  // partial cancels still to come
    uint8_t terminal;     // kDelete or kExecute
    bool operator>(const Pending& o) const { return t != o.t ? t > o.t : tie > o.tie; }
  };

  uint64_t rnd();
  double uni();
  double sample(const std::vector<double>& q);
  int64_t pick(const std::vector<int64_t>& q);
  int64_t price_for(uint32_t sym, Side side, int& cls);
  void plan(uint32_t sym, uint64_t ref, int64_t t, int cls);
  void emit(const MdEvent& e);
  void push(Pending p);
  void step();

  SynthParams p_;
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
