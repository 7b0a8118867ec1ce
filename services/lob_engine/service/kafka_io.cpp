#include "kafka_io.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "exec_events_generated.h"
#include "kafka_util.hpp"
#include "log.hpp"
#include "md_book_generated.h"

namespace minihft::service {
namespace {

constexpr const char* kTopicBases[] = {"md.events", "orders"};
constexpr const char* kOutBases[] = {"md.book", "exec.reports", "dead.letter"};

}  // namespace

// ---- consumer -----------------------------------------------------------------------------------

ConsumerStage::~ConsumerStage() { close(); }

void ConsumerStage::close() {
  if (probe_) rd_kafka_topic_destroy(probe_);
  probe_ = nullptr;
  if (rk_) {
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
  }
  rk_ = nullptr;
}

bool ConsumerStage::setup(const std::atomic<bool>& stop) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::string client = "lob_engine-" + std::to_string(cfg_.instance);
  bool ok =
      set_conf(conf, "bootstrap.servers", cfg_.bootstrap) && set_conf(conf, "client.id", client) &&
      set_conf(conf, "group.id", cfg_.group) && set_conf(conf, "enable.auto.commit", "false") &&
      set_conf(conf, "enable.auto.offset.store", "false") &&
      set_conf(conf, "auto.offset.reset", "earliest") &&
      set_conf(conf, "isolation.level", "read_committed") &&
      set_conf(conf, "enable.partition.eof", "false") &&
      set_conf(conf, "fetch.wait.max.ms", "20") && set_conf(conf, "socket.nagle.disable", "true");
  if (!ok) {
    rd_kafka_conf_destroy(conf);
    return false;
  }
  rd_kafka_conf_set_error_cb(conf, on_error);
  char err[512];
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk_) {
    log("error", "cannot create consumer", {{"error", err}});
    return false;
  }
  rd_kafka_poll_set_consumer(rk_);
  for (size_t s = 0; s < kSources; ++s) topics_[s] = cfg_.topic(kTopicBases[s]);
  probe_ = rd_kafka_topic_new(rk_, topics_[0].c_str(), nullptr);

  // Auto topic creation is off: wait until whoever owns the topics has created them.
  int counts[kSources] = {0, 0};
  for (int attempt = 0; !stop; ++attempt) {
    bool all = true;
    std::string missing;
    for (size_t s = 0; s < kSources; ++s) {
      counts[s] = partition_count(rk_, topics_[s]);
      if (counts[s] <= 0) {
        all = false;
        missing = topics_[s];
      }
    }
    for (const char* base : kOutBases) {
      if (partition_count(rk_, cfg_.topic(base)) <= 0) {
        all = false;
        missing = cfg_.topic(base);
      }
    }
    if (all) break;
    if (attempt % 10 == 0) log("warn", "waiting for topic", {{"topic", missing}});
    sleep_ms(500);
  }
  if (stop) return false;

  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(8);
  for (size_t s = 0; s < kSources; ++s) {
    for (int p = 0; p < counts[s]; ++p)
      rd_kafka_topic_partition_list_add(list, topics_[s].c_str(), p);
  }
  rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__TIMED_OUT;
  while (!stop && (e = rd_kafka_committed(rk_, list, 10000)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    log("warn", "reading committed offsets", {{"error", rd_kafka_err2str(e)}});
    sleep_ms(500);
  }
  if (stop) {
    rd_kafka_topic_partition_list_destroy(list);
    return false;
  }
  int64_t replay_total = 0;
  for (int i = 0; i < list->cnt; ++i) {
    rd_kafka_topic_partition_t& tp = list->elems[i];
    const Source src = topics_[0] == tp.topic ? Source::MdEvents : Source::Orders;
    int64_t lo = 0, hi = 0;
    rd_kafka_query_watermark_offsets(rk_, tp.topic, tp.partition, &lo, &hi, 10000);
    const int64_t committed = tp.offset >= 0 ? tp.offset : 0;
    if (committed > 0 && lo > 0) {
      log("warn", "retention dropped part of the replay log: rebuilt state is incomplete",
          {{"topic", tp.topic},
           {"partition", std::to_string(tp.partition)},
           {"low_watermark", std::to_string(lo)}});
    }
    auto& c = committed_[static_cast<size_t>(src)];
    if (c.size() <= static_cast<size_t>(tp.partition)) c.resize(tp.partition + 1, 0);
    c[tp.partition] = committed;
    parts_.push_back(Part{src, tp.partition, committed, committed <= lo});
    replay_total += std::max<int64_t>(0, committed - lo);
    tp.offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  e = rd_kafka_assign(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    log("error", "assign failed", {{"error", rd_kafka_err2str(e)}});
    return false;
  }
  log("info", "consuming from the beginning; replaying up to the committed offsets",
      {{"md_events", topics_[0]},
       {"orders", topics_[1]},
       {"replay_messages", std::to_string(replay_total)}});
  check_progress();
  return true;
}

void ConsumerStage::check_progress() {
  if (replay_reached) return;
  bool all = true;
  for (Part& p : parts_) {
    if (p.reached) continue;
    rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topics_[static_cast<size_t>(p.source)].c_str(),
                                      p.partition);
    // The position passes transaction markers too, which the messages never show.
    if (rd_kafka_position(rk_, l) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        l->elems[0].offset >= p.committed) {
      p.reached = true;
    }
    rd_kafka_topic_partition_list_destroy(l);
    all = all && p.reached;
  }
  if (all) {
    replay_reached.store(true, std::memory_order_release);
    log("info", "replay reached the committed offsets");
  }
}

void ConsumerStage::run(const std::atomic<bool>& stop, SpscRing<InMsg>& ring, Parker& engine) {
  auto last = std::chrono::steady_clock::now();
  while (!stop.load(std::memory_order_relaxed)) {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk_, 50);
    if (msg) {
      if (msg->err) {
        log("warn", "consume error", {{"error", rd_kafka_message_errstr(msg)}});
        rd_kafka_message_destroy(msg);
        continue;
      }
      const int64_t recv = clock_.now_ns();
      const Source src =
          topics_[0] == rd_kafka_topic_name(msg->rkt) ? Source::MdEvents : Source::Orders;
      const auto& committed = committed_[static_cast<size_t>(src)];
      const auto part = static_cast<size_t>(msg->partition);
      const bool replay = part < committed.size() && msg->offset < committed[part];
      const auto* data = static_cast<const uint8_t*>(msg->payload);
      uint8_t* copy = nullptr;
      if (msg->len != 0 && reinterpret_cast<uintptr_t>(data) % 8 != 0) {
        copy = static_cast<uint8_t*>(std::aligned_alloc(8, (msg->len + 7) & ~size_t{7}));
        std::memcpy(copy, data, msg->len);
        data = copy;
      }
      InMsg in{msg, data, copy, recv, src, replay, check_message(src, data, msg->len)};
      inc(m_.messages_in[static_cast<size_t>(src)]);
      if (replay) inc(m_.replay_pushed);
      if (!replay_reached && part < committed.size() && msg->offset + 1 >= committed[part]) {
        for (Part& p : parts_) {
          if (p.source == src && p.partition == msg->partition) p.reached = true;
        }
      }
      while (!ring.try_push(in)) {
        engine.wake();
        if (stop.load(std::memory_order_relaxed)) {
          std::free(copy);
          rd_kafka_message_destroy(msg);
          break;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
      engine.wake();
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last > std::chrono::milliseconds(200)) {
      last = now;
      check_progress();
      set(m_.in_ring_depth, static_cast<int64_t>(ring.capacity() - ring.free_space()));
      int64_t used[kSources] = {0, 0};
      rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(8);
      for (const Part& p : parts_) {
        rd_kafka_topic_partition_list_add(l, topics_[static_cast<size_t>(p.source)].c_str(),
                                          p.partition);
      }
      rd_kafka_position(rk_, l);
      for (int i = 0; i < l->cnt; ++i) {
        int64_t lo = 0, hi = 0;
        if (rd_kafka_get_watermark_offsets(rk_, l->elems[i].topic, l->elems[i].partition, &lo,
                                           &hi) != 0)
          continue;
        const int64_t pos = l->elems[i].offset >= 0 ? l->elems[i].offset : lo;
        const size_t src = topics_[0] == l->elems[i].topic ? 0 : 1;
        const auto part = static_cast<size_t>(l->elems[i].partition);
        if (part >= Metrics::kMaxLagPartitions) continue;
        set(m_.consumer_lag[src][part], std::max<int64_t>(0, hi - pos));
        used[src] = std::max<int64_t>(used[src], static_cast<int64_t>(part) + 1);
      }
      rd_kafka_topic_partition_list_destroy(l);
      for (size_t s = 0; s < kSources; ++s) set(m_.lag_partitions[s], used[s]);
    }
  }
}

bool ConsumerStage::broker_reachable() {
  if (!rk_ || !probe_) return false;
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(rk_, 0, probe_, &md, 1000) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
  rd_kafka_metadata_destroy(md);
  return true;
}

// ---- producer -----------------------------------------------------------------------------------

namespace {

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  // In a transaction a failed delivery also fails the commit; without one it would leave a gap
  // that the restart's de-duplication cannot see, so the producer stops (crash-only).
  if (m->err) {
    log("error", "delivery failed",
        {{"topic", rd_kafka_topic_name(m->rkt)}, {"error", rd_kafka_err2str(m->err)}});
    static_cast<std::atomic<bool>*>(opaque)->store(true);
  }
}

constexpr const char* kProvHeader = "minihft-prov";

}  // namespace

ProducerStage::~ProducerStage() {
  for (auto*& t : out_) {
    if (t) rd_kafka_topic_destroy(t);
    t = nullptr;
  }
  if (rk_) rd_kafka_destroy(rk_);
  rk_ = nullptr;
}

bool ProducerStage::setup(const std::atomic<bool>& stop) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  bool ok = set_conf(conf, "bootstrap.servers", cfg_.bootstrap) &&
            set_conf(conf, "client.id", "lob_engine-" + std::to_string(cfg_.instance)) &&
            set_conf(conf, "enable.idempotence", "true") && set_conf(conf, "acks", "all") &&
            set_conf(conf, "partitioner", "consistent") &&
            set_conf(conf, "linger.ms", std::to_string(cfg_.linger_ms)) &&
            set_conf(conf, "socket.nagle.disable", "true") &&
            set_conf(conf, "queue.buffering.max.messages", "1000000") &&
            set_conf(conf, "queue.buffering.max.kbytes", "1048576");
  if (txn_) {
    ok = ok && set_conf(conf, "transactional.id", cfg_.transactional_id) &&
         set_conf(conf, "transaction.timeout.ms", "60000");
  } else {
    // A message that cannot be delivered raises a fatal error instead of leaving a gap behind
    // later ones; retried forever otherwise.
    ok = ok && set_conf(conf, "enable.gapless.guarantee", "true") &&
         set_conf(conf, "message.timeout.ms", "0");
  }
  if (!ok) {
    rd_kafka_conf_destroy(conf);
    return false;
  }
  rd_kafka_conf_set_error_cb(conf, on_error);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, &delivery_failed);
  char err[512];
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk_) {
    log("error", "cannot create producer", {{"error", err}});
    return false;
  }
  for (size_t i = 0; i < 3; ++i)
    out_[i] = rd_kafka_topic_new(rk_, cfg_.topic(kOutBases[i]).c_str(), nullptr);
  for (size_t s = 0; s < kSources; ++s) in_topics_[s] = cfg_.topic(kTopicBases[s]);
  if (!txn_) {
    log("info", "idempotent producer created");
    return true;
  }
  // Fences a predecessor with the same transactional.id and aborts what it left open, so the
  // committed offsets read next are final.
  while (!stop) {
    rd_kafka_error_t* e = rd_kafka_init_transactions(rk_, 30000);
    if (!e) {
      log("info", "transactions initialised", {{"transactional_id", cfg_.transactional_id}});
      return true;
    }
    const bool retry = rd_kafka_error_is_retriable(e);
    log(retry ? "warn" : "error", "init_transactions failed",
        {{"error", rd_kafka_error_string(e)}});
    rd_kafka_error_destroy(e);
    if (!retry) return false;
    sleep_ms(500);
  }
  return false;
}

bool ProducerStage::produce(rd_kafka_topic_t* topic, const void* data, size_t len, uint32_t symbol,
                            const Prov* prov, const void* key, size_t key_len,
                            rd_kafka_headers_t* headers) {
  char kbuf[16];
  if (!key) {
    // Key = decimal symbol id; librdkafka's consistent partitioner is CRC32(key) % partitions,
    // the same mapping as minihft.bus.
    key_len = static_cast<size_t>(std::snprintf(kbuf, sizeof kbuf, "%u", symbol));
    key = kbuf;
  }
  int32_t partition = RD_KAFKA_PARTITION_UA;
  if (!txn_) {
    const size_t out = topic == out_[0] ? 0 : topic == out_[1] ? 1 : 2;
    partition = partition_of(out, key, key_len);
    if (prov && !admit(out, partition, *prov)) {
      if (headers) rd_kafka_headers_destroy(headers);
      return true;
    }
    if (!headers) headers = rd_kafka_headers_new(1);
    rd_kafka_header_add(headers, kProvHeader, -1, prov_hdr_.data(),
                        static_cast<ssize_t>(prov_hdr_.size() * sizeof(Prov)));
  }
  while (true) {
    rd_kafka_resp_err_t e = rd_kafka_producev(
        rk_, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(const_cast<void*>(data), len),
        RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (cfg_.crash_after_messages > 0 && ++produced_ == cfg_.crash_after_messages) {
        rd_kafka_flush(rk_, 10000);
        log("warn", "crash-after-messages reached: exiting like a kill -9");
        std::_Exit(137);
      }
      return true;
    }
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      log("error", "produce failed",
          {{"topic", rd_kafka_topic_name(topic)}, {"error", rd_kafka_err2str(e)}});
      if (headers) rd_kafka_headers_destroy(headers);
      return false;
    }
    rd_kafka_poll(rk_, 10);
  }
}

bool ProducerStage::produce_batch() {
  if (!txn_) {
    // The engine already drops what the tails held at start (and counts it); this check also
    // keeps the header vectors current.
    char key[16];
    const auto key_len = static_cast<size_t>(std::snprintf(key, sizeof key, "%u", cur_.symbol_id));
    const size_t out = cur_.topic == OutTopic::MdBook ? 0 : 1;
    if (!admit(out, partition_of(out, key, key_len), cur_.prov)) {
      return true;
    }
  }
  flatbuffers::FlatBufferBuilder fbb(1024 + books_.size() * sizeof(BookUpdate) +
                                     execs_.size() * sizeof(ExecReport));
  Hop hops[kMaxHops];
  const size_t n_hops = cur_.n_hops;
  std::memcpy(hops, cur_.hops, n_hops * sizeof(Hop));
  hops[n_hops] =
      Hop{clock_.now_ns(), kStageLobEngine, kHopPublish, static_cast<uint16_t>(cfg_.instance), 0};
  auto hv = fbb.CreateVectorOfStructs(reinterpret_cast<const schema::HopStamp*>(hops), n_hops + 1);
  size_t idx;
  if (cur_.topic == OutTopic::MdBook) {
    auto rv = fbb.CreateVectorOfStructs(reinterpret_cast<const schema::BookUpdate*>(books_.data()),
                                        books_.size());
    schema::FinishBookUpdateBatchBuffer(
        fbb, schema::CreateBookUpdateBatch(fbb, cur_.symbol_id, cur_.batch_seq, hv, rv));
    idx = 0;
  } else {
    auto rv = fbb.CreateVectorOfStructs(reinterpret_cast<const schema::ExecReport*>(execs_.data()),
                                        execs_.size());
    schema::FinishExecReportBatchBuffer(
        fbb, schema::CreateExecReportBatch(fbb, cur_.symbol_id, cur_.batch_seq, hv, rv));
    idx = 1;
  }
  if (!produce(out_[idx], fbb.GetBufferPointer(), fbb.GetSize(), cur_.symbol_id, nullptr))
    return false;
  inc(m_.messages_out[idx]);
  return true;
}

bool ProducerStage::produce_dead(const OutDead& d) {
  rd_kafka_message_t* m = d.msg;
  rd_kafka_headers_t* h = rd_kafka_headers_new(4);
  const std::string part = std::to_string(m->partition);
  const std::string off = std::to_string(m->offset);
  const char* cause = cause_name(d.cause);
  const std::string& topic = in_topics_[static_cast<size_t>(d.source)];
  rd_kafka_header_add(h, "source_topic", -1, topic.data(), static_cast<ssize_t>(topic.size()));
  rd_kafka_header_add(h, "source_partition", -1, part.data(), static_cast<ssize_t>(part.size()));
  rd_kafka_header_add(h, "source_offset", -1, off.data(), static_cast<ssize_t>(off.size()));
  rd_kafka_header_add(h, "cause", -1, cause, -1);
  // Keep the original key so the dead letter lands where the symbol's messages do.
  const Prov prov{static_cast<uint8_t>(d.source), {}, m->partition, m->offset, 0, 0};
  const bool ok =
      produce(out_[2], m->payload, m->len, 0, &prov, m->key ? m->key : "", m->key_len, h);
  log("warn", "dead letter",
      {{"source_topic", topic}, {"partition", part}, {"offset", off}, {"cause", cause}});
  rd_kafka_message_destroy(m);
  if (ok) inc(m_.messages_out[2]);
  return ok;
}

bool ProducerStage::run(SpscRing<OutItem>& ring, const std::atomic<bool>& engine_done) {
  OutItem buf[256];
  Backoff backoff;
  committed_ns_ = clock_.now_ns();
  const int64_t interval_ns = int64_t{cfg_.commit_interval_ms} * 1'000'000;
  for (auto& v : offsets_) v.clear();
  while (true) {
    const size_t n = ring.pop_n(buf, 256);
    for (size_t i = 0; i < n; ++i) {
      const OutItem& it = buf[i];
      if (txn_ && !open_ && !begin()) return false;
      switch (it.kind) {
        case OutKind::Begin:
          cur_ = it.begin;
          books_.clear();
          execs_.clear();
          uncovered_ = true;
          break;
        case OutKind::Book:
          books_.push_back(it.book);
          break;
        case OutKind::Exec:
          execs_.push_back(it.exec);
          break;
        case OutKind::End:
          if (!produce_batch()) return false;
          break;
        case OutKind::Dead:
          uncovered_ = true;
          if (!produce_dead(it.dead)) return false;
          break;
        case OutKind::Offset: {
          auto& v = offsets_[static_cast<size_t>(it.offset.source)];
          const auto p = static_cast<size_t>(it.offset.partition);
          if (v.size() <= p) v.resize(p + 1, -1);
          v[p] = std::max(v[p], it.offset.next_offset);
          offsets_dirty_ = true;
          if (it.offset.last) uncovered_ = false;
          break;
        }
      }
    }
    rd_kafka_poll(rk_, 0);
    const int outq = rd_kafka_outq_len(rk_);
    set(m_.producer_queue, outq);
    lagging.store(outq > cfg_.max_outq, std::memory_order_relaxed);
    set(m_.out_ring_depth, static_cast<int64_t>(ring.size()));
    if (txn_) {
      if (open_ && !uncovered_ && clock_.now_ns() - opened_ns_ >= interval_ns) {
        if (!commit()) return false;
      }
    } else {
      if (delivery_failed.load() || rd_kafka_fatal_error(rk_, nullptr, 0)) return false;
      // Offsets only say where a restart stops counting messages as replayed (the outputs
      // themselves are de-duplicated), so they follow delivered outputs, never lead them.
      if (offsets_dirty_ && !uncovered_ && outq == 0 &&
          clock_.now_ns() - committed_ns_ >= interval_ns && !commit_offsets(true))
        return false;
    }
    if (n != 0) {
      backoff.reset();
      continue;
    }
    if (engine_done.load(std::memory_order_acquire) && ring.empty()) {
      if (txn_) {
        if (open_ && !commit()) return false;
        rd_kafka_flush(rk_, 10000);
        return true;
      }
      rd_kafka_flush(rk_, 30000);
      if (rd_kafka_outq_len(rk_) > 0 || delivery_failed.load()) return false;
      return !offsets_dirty_ || commit_offsets(false);
    }
    backoff.idle(parker, [&] { return !ring.empty(); }, 1000);
  }
}

}  // namespace minihft::service
