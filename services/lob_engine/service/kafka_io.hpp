// librdkafka ends of the pipeline: the consumer thread (md.events + orders -> input ring) and the
// producer thread (output ring -> md.book, exec.reports, dead.letter). Two delivery modes keep
// readers' view exactly-once across kill -9; both rebuild state by deterministic replay.
//
// --delivery idempotent (default, the latency mode):
//  - Idempotent, non-transactional producer (acks=all, linger 0, enable.gapless.guarantee): an
//    output is visible to every reader, read_committed included, as soon as the broker has it,
//    ~1 ms after the input instead of the 12-33 ms a transaction commit added per hop. A failed
//    delivery is fatal (exit, restart): a gap would be invisible to the de-duplication below.
//  - Every output message carries its provenance (input topic/partition/offset + index among that
//    input's outputs) in the "minihft-prov" header, followed by the newest provenance written to
//    the same output partition from each input partition (producer_recovery.cpp). On start the
//    service reads the tail of every output partition, consumes every input from its beginning,
//    and drops each output whose provenance the tail of its partition already holds; the rest
//    is sent. So a kill -9 anywhere, even between two output messages of one input, leaves
//    neither a gap nor a duplicate. Input offsets are committed (plain commit, every
//    --commit-interval-ms once everything before them is delivered) only to tell a restart which
//    messages count as replay; correctness does not depend on them.
//  - Relies on: per input partition the engine emits in provenance order (engine_stage.hpp) and
//    a symbol's messages sit in one input partition; output partitions are never truncated;
//    switching one set of topics between delivery modes is not supported (transactional outputs
//    have no provenance header, so a later idempotent start would re-send them).
//
// --delivery transactional:
//  - One transactional producer (transactional.id per instance). Outputs and the input offsets
//    they cover are committed in one Kafka transaction (send_offsets_to_transaction), and a
//    transaction is committed only at a point where every output in it is covered by an offset
//    in it. Downstream consumers read with isolation.level=read_committed, so nothing is visible
//    before the commit (every --commit-interval-ms; commit_transaction blocks the producer).
//  - At start, init_transactions fences and aborts whatever a killed predecessor left open; then
//    messages before the committed offsets are replayed with output suppressed. Any transaction
//    error that is not retriable ends the process with a non-zero code; the restart recovers from
//    the last committed transaction. Nothing is ever half committed.
//
// Both: the consumer owns every partition of its inputs by assign() (no group rebalances: the
// state of a symbol lives in this one process) and consumes from the beginning, which rebuilds the
// books and the matching state. md.events and orders must therefore be retained at least as long
// as the state they build (the broker keeps 48 h).
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <string>
#include <vector>

#include "clock.hpp"
#include "config.hpp"
#include "idle.hpp"
#include "metrics.hpp"
#include "minihft/common/spsc_ring.hpp"
#include "pipeline.hpp"

namespace minihft::service {

class ConsumerStage {
 public:
  ConsumerStage(const Config& cfg, const Clock& clock, Metrics& m)
      : cfg_(cfg), clock_(clock), m_(m) {}
  ~ConsumerStage();
  // Creates the consumer, waits for the topics, reads committed offsets and assigns every
  // partition from its beginning. False (with a log line) on a fatal error or when stopped.
  bool setup(const std::atomic<bool>& stop);
  void run(const std::atomic<bool>& stop, SpscRing<InMsg>& ring, Parker& engine);
  rd_kafka_t* handle() const { return rk_; }
  // A metadata round trip to the broker.
  bool broker_reachable();
  void close();

  std::atomic<bool> replay_reached{false};  // every partition consumed up to its committed offset

 private:
  struct Part {
    Source source;
    int32_t partition;
    int64_t committed;  // first offset not yet processed; 0 when nothing was committed
    bool reached;
  };
  void check_progress();

  const Config& cfg_;
  const Clock& clock_;
  Metrics& m_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_topic_t* probe_ = nullptr;
  std::string topics_[kSources];
  std::vector<Part> parts_;
  std::vector<int64_t> committed_[kSources];  // index partition
};

class ProducerStage {
 public:
  ProducerStage(const Config& cfg, const Clock& clock, Metrics& m)
      : cfg_(cfg), clock_(clock), m_(m), txn_(cfg.transactional()) {}
  ~ProducerStage();
  // Creates the producer; transactional: runs init_transactions (fencing a predecessor).
  bool setup(const std::atomic<bool>& stop);
  // Idempotent delivery, once the topics exist: reads the provenance at the tail of every output
  // partition (what a predecessor wrote last). `consumer` commits the input offsets.
  bool recover(const std::atomic<bool>& stop, rd_kafka_t* consumer);
  // Returns once `engine_done` is set and the ring is drained and committed; false on a fatal
  // transaction or delivery error (the caller exits non-zero without committing anything more).
  bool run(SpscRing<OutItem>& ring, const std::atomic<bool>& engine_done);

  // Set by recover(); copied by the engine before any thread starts.
  const WrittenTable& tails() const { return tails_; }

  std::atomic<bool> lagging{false};
  std::atomic<bool> delivery_failed{false};
  Parker parker;  // woken by the engine after it pushes

 private:
  bool begin();
  bool commit();
  bool commit_offsets(bool async);
  // `prov` (idempotent delivery) decides whether the message goes out; consumes `headers`.
  bool produce(rd_kafka_topic_t* topic, const void* data, size_t len, uint32_t symbol,
               const Prov* prov, const void* key = nullptr, size_t key_len = 0,
               rd_kafka_headers_t* headers = nullptr);
  bool produce_batch();
  bool produce_dead(const OutDead& d);
  // Idempotent delivery: the partition, and whether `p` is past what that partition holds from
  // its input partition (then recorded, and the provenance header built in prov_hdr_).
  int32_t partition_of(size_t out, const void* key, size_t key_len) const;
  bool admit(size_t out, int32_t partition, const Prov& p);

  const Config& cfg_;
  const Clock& clock_;
  Metrics& m_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_topic_t* out_[3] = {nullptr, nullptr, nullptr};  // md.book, exec.reports, dead.letter
  std::string in_topics_[kSources];
  bool open_ = false;
  int64_t opened_ns_ = 0;
  bool uncovered_ = false;  // outputs queued since the last Offset item
  std::vector<int64_t> offsets_[kSources];
  OutBegin cur_{};
  std::vector<BookUpdate> books_;
  std::vector<ExecReport> execs_;
  const bool txn_;
  rd_kafka_t* committer_ = nullptr;
  WrittenTable tails_;  // what the tails held at start, for the engine (read-only copy)
  int32_t out_parts_[3] = {0, 0, 0};
  // [output topic][output partition] -> newest provenance written there, per input partition
  std::vector<std::vector<Prov>> written_[3];
  std::vector<Prov> prov_hdr_;
  int64_t committed_ns_ = 0;
  bool offsets_dirty_ = false;
  int produced_ = 0;
};

}  // namespace minihft::service
