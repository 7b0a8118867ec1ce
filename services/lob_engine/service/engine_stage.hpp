// The engine thread: venue events -> BookBuilder -> md.book updates; orders -> MatchingEngine ->
// exec.reports. Single-threaded and deterministic in what it computes; only how md.book updates
// are grouped (conflation) depends on timing.
//
// Output rules
//  - md.book: after every venue event that leaves the symbol's top `depth` levels different from
//    the last computed ones, one BookUpdate (seq = index of the event in the symbol's md.events
//    stream). The updates of one symbol in one input batch go out as BookUpdateBatch messages of
//    at most kMaxOutRecords (1024, 512 KB) updates each, so any input batch size stays under the
//    broker's 1 MB message limit; batch_seq counts the symbol's md.book messages, so a jump > 1
//    tells a consumer that updates were conflated.
//  - Conflation (on unless --no-conflate): when the outgoing ring has no room, items are already
//    waiting, the producer lags, or any symbol has a held-back update, only the newest update per
//    symbol is kept and sent, oldest provenance first, once the congestion clears. With it off
//    the engine stops taking input instead (backpressure).
//  - exec.reports: every report, never conflated, in messages of at most 1024 reports per run of
//    same-symbol commands of an input batch; batch_seq counts the symbol's exec messages.
//  - Provenance: each output message is numbered (input partition, offset, sub-index among that
//    input's outputs), the same numbering on a replay; idempotent delivery de-duplicates on it
//    (kafka_io.hpp). Outputs the output tails already held at start are not queued at all.
//  - A Submit whose order id the symbol has accepted before is rejected (DuplicateOrderId) even
//    when the order is no longer live: order ids are idempotency keys, a resent order must not
//    trade twice.
//  - Offsets: after the outputs of a run of input messages are queued, one Offset item per
//    advanced partition; the producer commits a transaction only right after Offset items.
//  - Replayed messages (before the committed offset) update all state and are not counted in the
//    metrics; transactional: they emit nothing; idempotent: their outputs go through the
//    provenance filter.
//  - Idle: bounded spin, then yield, then park on a futex the consumer wakes (idle.hpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <unordered_set>
#include <vector>

#include "clock.hpp"
#include "config.hpp"
#include "idle.hpp"
#include "metrics.hpp"
#include "minihft/common/spsc_ring.hpp"
#include "minihft/lob/book_builder.hpp"
#include "minihft/lob/matching_engine.hpp"
#include "pipeline.hpp"

namespace minihft::service {

class EngineStage {
 public:
  EngineStage(const Config& cfg, const Clock& clock, Metrics& metrics, SpscRing<InMsg>& in,
              SpscRing<OutItem>& out, const std::atomic<bool>& producer_lagging,
              const std::atomic<bool>& replay_reached, Parker& self, Parker& producer);

  // Idempotent delivery: outputs the tails already hold are not queued at all, so a replay
  // neither fills the ring nor conflates what is still to be sent.
  void set_written(const WrittenTable& t) { written_ = t; }

  // Returns once `input_done` is set, the input ring is empty and every output is queued.
  void run(const std::atomic<bool>& input_done);

 private:
  struct SymState {
    uint64_t events = 0;
    uint64_t book_batches = 0;
    uint64_t exec_batches = 0;
    BookUpdate last{};
    bool has_pending = false;
    OutBegin pending_begin{};
    BookUpdate pending{};
    std::unordered_set<OrderId> accepted_ids;
  };

  void handle(const InMsg& m);
  void process_md(const InMsg& m, bool emit);
  void process_orders(const InMsg& m, bool emit);
  void emit_books(SymbolId sym, const OutBegin& begin, bool emit);
  void emit_execs(SymbolId sym, const OutBegin& begin, bool emit);
  bool snapshot(SymbolId sym, const MdEvent& e, uint64_t seq, BookUpdate& u) const;
  void push(const OutItem& item);
  bool flush(bool force);
  void update_gauges();
  SymState& state(SymbolId sym);
  template <typename Hops>
  OutBegin make_begin(OutTopic topic, const Hops* hops, int64_t recv_ts) const;

  const Config& cfg_;
  const Clock& clock_;
  Metrics& m_;
  SpscRing<InMsg>& in_;
  SpscRing<OutItem>& out_;
  const std::atomic<bool>& producer_lagging_;
  const std::atomic<bool>& replay_reached_;
  Parker& self_;
  Parker& producer_;
  const bool emit_replayed_;  // idempotent delivery: the producer drops what was written before
  bool counting_ = false;     // metrics count live (not replayed) messages only
  bool pushed_ = false;       // something went to the ring since the producer was last woken
  Prov prov_{};               // the input message being handled; sub = outputs so far
  WrittenTable written_;
  // Index of the first of `chunks` output messages (from sub `first`) not yet in the tail.
  size_t first_unwritten(size_t out, SymbolId sym, uint32_t first, size_t chunks) const;

  BookBuilder builder_;
  MatchingEngine matcher_;
  std::vector<std::unique_ptr<SymState>> syms_;  // index symbol id; the last slot is out of range
  std::vector<SymbolId> book_symbols_;           // symbols with a venue book, for the gauges
  std::vector<SymbolId> pending_syms_;
  std::deque<OutItem> backlog_;  // queued in order when the ring is full; never dropped
  struct OffsetMark {
    int64_t next = -1;
    bool dirty = false;
  };
  std::vector<OffsetMark> offsets_[kSources];  // index partition

  std::vector<BookUpdate> updates_;  // scratch of the batch being built
  std::vector<ExecReport> reports_;
  std::vector<OutItem> offset_group_;
  uint64_t replayed_ = 0;
};

}  // namespace minihft::service
