// Transactional delivery: one transaction holds outputs and the input offsets they cover
// (kafka_io.hpp).
#include <algorithm>

#include "kafka_io.hpp"
#include "kafka_util.hpp"
#include "log.hpp"

namespace minihft::service {
namespace {

// Retries what librdkafka calls retriable; false on anything else (logged).
template <typename F>
bool txn_call(const char* what, F&& f, bool* abortable = nullptr) {
  for (int attempt = 0;; ++attempt) {
    rd_kafka_error_t* e = f();
    if (!e) return true;
    const bool retry = rd_kafka_error_is_retriable(e) && attempt < 20;
    if (abortable) *abortable = rd_kafka_error_txn_requires_abort(e);
    log(retry ? "warn" : "error", "kafka transaction call failed",
        {{"call", what},
         {"error", rd_kafka_error_string(e)},
         {"fatal", rd_kafka_error_is_fatal(e) ? "1" : "0"}});
    rd_kafka_error_destroy(e);
    if (!retry) return false;
    sleep_ms(200);
  }
}

}  // namespace

bool ProducerStage::begin() {
  if (!txn_call("begin_transaction", [&] { return rd_kafka_begin_transaction(rk_); })) return false;
  open_ = true;
  opened_ns_ = clock_.now_ns();
  return true;
}

bool ProducerStage::commit() {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(8);
  for (size_t s = 0; s < kSources; ++s) {
    for (size_t p = 0; p < offsets_[s].size(); ++p) {
      if (offsets_[s][p] < 0) continue;
      rd_kafka_topic_partition_list_add(list, in_topics_[s].c_str(), static_cast<int32_t>(p))
          ->offset = offsets_[s][p];
    }
  }
  bool ok = true;
  bool abortable = false;
  if (list->cnt > 0) {
    // No group membership (the partitions are assigned), so plain group metadata is what the
    // coordinator expects.
    rd_kafka_consumer_group_metadata_t* cgmd =
        rd_kafka_consumer_group_metadata_new(cfg_.group.c_str());
    ok = txn_call(
        "send_offsets_to_transaction",
        [&] { return rd_kafka_send_offsets_to_transaction(rk_, list, cgmd, 30000); }, &abortable);
    rd_kafka_consumer_group_metadata_destroy(cgmd);
  }
  rd_kafka_topic_partition_list_destroy(list);
  ok = ok && txn_call(
                 "commit_transaction", [&] { return rd_kafka_commit_transaction(rk_, 30000); },
                 &abortable);
  if (!ok) {
    // The engine's state already includes what this transaction held: only a restart, which
    // replays from the last committed offsets, makes state and outputs agree again.
    if (abortable) rd_kafka_abort_transaction(rk_, 30000);
    return false;
  }
  for (auto& v : offsets_) std::fill(v.begin(), v.end(), -1);
  open_ = false;
  inc(m_.transactions);
  return true;
}

}  // namespace minihft::service
