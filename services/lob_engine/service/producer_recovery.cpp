// Idempotent delivery: output de-duplication across restarts, and the input offset commits.
//
// Every output message carries the header "minihft-prov": 24-byte Prov records, the first the
// message's own provenance, then, for each input partition that has fed this output partition,
// the newest provenance written there (this message included). Per input partition the engine
// emits in provenance order and the idempotent producer keeps each output partition in produce
// order without gaps, so the last message of an output partition says exactly which outputs of
// every input partition it already holds. A restart replays the inputs and sends only what lies
// past that.
#include <algorithm>
#include <chrono>
#include <cstring>

#include "kafka_io.hpp"
#include "kafka_util.hpp"
#include "log.hpp"

namespace minihft::service {
namespace {

constexpr const char* kOutBases[] = {"md.book", "exec.reports", "dead.letter"};
constexpr const char* kProvHeader = "minihft-prov";

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int32_t ProducerStage::partition_of(size_t out, const void* key, size_t key_len) const {
  // Same function librdkafka's "consistent" partitioner applies (CRC32(key) % partitions).
  return rd_kafka_msg_partitioner_consistent(out_[out], key, key_len, out_parts_[out], nullptr,
                                             nullptr);  // as WrittenTable::partition_of
}

bool ProducerStage::admit(size_t out, int32_t partition, const Prov& p) {
  auto& parts = written_[out];
  if (parts.size() <= static_cast<size_t>(partition)) parts.resize(partition + 1);
  std::vector<Prov>& seen = parts[partition];
  auto it = std::find_if(seen.begin(), seen.end(), [&](const Prov& e) {
    return e.source == p.source && e.partition == p.partition;
  });
  if (it != seen.end() && prov_le(p, *it)) return false;
  if (it == seen.end()) {
    seen.push_back(p);
  } else {
    *it = p;
  }
  prov_hdr_.clear();
  prov_hdr_.push_back(p);
  prov_hdr_.insert(prov_hdr_.end(), seen.begin(), seen.end());
  return true;
}

bool ProducerStage::commit_offsets(bool async) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(8);
  for (size_t s = 0; s < kSources; ++s) {
    for (size_t p = 0; p < offsets_[s].size(); ++p) {
      if (offsets_[s][p] < 0) continue;
      rd_kafka_topic_partition_list_add(list, in_topics_[s].c_str(), static_cast<int32_t>(p))
          ->offset = offsets_[s][p];
    }
  }
  rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (list->cnt > 0 && committer_) e = rd_kafka_commit(committer_, list, async ? 1 : 0);
  rd_kafka_topic_partition_list_destroy(list);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // Not fatal: the offsets only shorten what a restart counts as replay.
    log("warn", "offset commit failed", {{"error", rd_kafka_err2str(e)}});
  } else {
    inc(m_.transactions);
  }
  offsets_dirty_ = false;
  committed_ns_ = clock_.now_ns();
  return true;
}

bool ProducerStage::recover(const std::atomic<bool>& stop, rd_kafka_t* consumer) {
  committer_ = consumer;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  bool ok = set_conf(conf, "bootstrap.servers", cfg_.bootstrap) &&
            set_conf(conf, "client.id", "lob_engine-tail-" + std::to_string(cfg_.instance)) &&
            set_conf(conf, "group.id", cfg_.group + ".tail") &&
            set_conf(conf, "enable.auto.commit", "false") &&
            set_conf(conf, "enable.partition.eof", "true") &&
            set_conf(conf, "isolation.level", "read_uncommitted") &&
            set_conf(conf, "fetch.wait.max.ms", "10");
  if (!ok) {
    rd_kafka_conf_destroy(conf);
    return false;
  }
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) {
    log("error", "cannot create tail reader", {{"error", err}});
    return false;
  }
  rd_kafka_poll_set_consumer(rk);
  struct Tail {
    size_t out;
    int32_t partition;
    int64_t lo, hi, start;
    bool done, found;
  };
  std::vector<Tail> tails;
  std::string names[3];
  for (size_t o = 0; o < 3; ++o) {
    names[o] = cfg_.topic(kOutBases[o]);
    out_parts_[o] = partition_count(rk, names[o]);
    if (out_parts_[o] <= 0) {
      log("error", "output topic missing", {{"topic", names[o]}});
      rd_kafka_destroy(rk);
      return false;
    }
    written_[o].assign(static_cast<size_t>(out_parts_[o]), {});
    for (int32_t p = 0; p < out_parts_[o]; ++p) {
      int64_t lo = 0, hi = 0;
      // Just-created topics answer "not leader" until the partition has one: retry a while.
      rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
      for (int attempt = 0; attempt < 120 && !stop; ++attempt) {
        e = rd_kafka_query_watermark_offsets(rk, names[o].c_str(), p, &lo, &hi, 10000);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
        if (attempt % 10 == 0) {
          log("warn", "watermarks", {{"topic", names[o]}, {"error", rd_kafka_err2str(e)}});
        }
        sleep_ms(250);
      }
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log("error", "watermarks", {{"topic", names[o]}, {"error", rd_kafka_err2str(e)}});
        rd_kafka_destroy(rk);
        return false;
      }
      if (hi > lo) tails.push_back(Tail{o, p, lo, hi, hi, false, false});
    }
  }
  // Read back a window from the end; the last message may be a transaction marker or lack the
  // header, so widen the window until a header is found or the partition's start is reached.
  int64_t window = 8;
  size_t found = 0;
  while (!stop) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(8);
    for (Tail& t : tails) {
      if (t.found || t.start == t.lo) continue;
      t.start = std::max(t.lo, t.hi - window);
      t.done = false;
      rd_kafka_topic_partition_list_add(list, names[t.out].c_str(), t.partition)->offset = t.start;
    }
    const int n = list->cnt;
    rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (n == 0) break;
    int pending = n;
    const int64_t deadline = now_ms() + 30000;
    while (pending > 0 && !stop && now_ms() < deadline) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
      if (!m) continue;
      Tail* t = nullptr;
      if (m->rkt) {
        const char* name = rd_kafka_topic_name(m->rkt);
        for (Tail& x : tails) {
          if (x.partition == m->partition && names[x.out] == name) t = &x;
        }
      }
      if (t && !t->done) {
        const bool eof = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
        if (!m->err && m->offset < t->hi) {
          rd_kafka_headers_t* h = nullptr;
          const void* v = nullptr;
          size_t len = 0;
          if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
              rd_kafka_header_get_last(h, kProvHeader, &v, &len) == RD_KAFKA_RESP_ERR_NO_ERROR &&
              len >= 2 * sizeof(Prov) && len % sizeof(Prov) == 0) {
            // Later messages overwrite earlier ones: the newest in the window wins.
            auto& seen = written_[t->out][static_cast<size_t>(t->partition)];
            seen.resize(len / sizeof(Prov) - 1);
            std::memcpy(seen.data(), static_cast<const uint8_t*>(v) + sizeof(Prov),
                        len - sizeof(Prov));
            t->found = true;
          }
        }
        if (eof || (!m->err && m->offset + 1 >= t->hi)) {
          t->done = true;
          --pending;
        }
      } else if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        log("warn", "tail read", {{"error", rd_kafka_message_errstr(m)}});
      }
      rd_kafka_message_destroy(m);
    }
    if (pending > 0) {
      log("error", "could not read the output tails");
      rd_kafka_destroy(rk);
      return false;
    }
    window *= 16;
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  for (const Tail& t : tails) found += t.found ? 1 : 0;
  for (size_t o = 0; o < 3; ++o) {
    tails_.partitions[o] = out_parts_[o];
    tails_.written[o] = written_[o];
  }
  log("info", "output tails read: replayed outputs up to there are not sent again",
      {{"partitions_with_data", std::to_string(tails.size())},
       {"with_provenance", std::to_string(found)}});
  return !stop;
}

}  // namespace minihft::service
