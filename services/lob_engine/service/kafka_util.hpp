// librdkafka helpers shared by the consumer, the producer and the producer's restart recovery.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <string>
#include <thread>

#include "log.hpp"

namespace minihft::service {

inline bool set_conf(rd_kafka_conf_t* conf, const char* k, const std::string& v) {
  char err[512];
  if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    log("error", "bad librdkafka setting", {{"key", k}, {"value", v}, {"error", err}});
    return false;
  }
  return true;
}

inline void on_error(rd_kafka_t*, int err, const char* reason, void*) {
  log(err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ? "error" : "warn", "kafka",
      {{"error", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))}, {"reason", reason}});
}

inline void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// Partition count of a topic, 0 while it does not exist, -1 when the broker does not answer.
inline int partition_count(rd_kafka_t* rk, const std::string& topic) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, t, &md, 5000);
  int n = -1;
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    n = (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
            ? md->topics[0].partition_cnt
            : 0;
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_topic_destroy(t);
  return n;
}

}  // namespace minihft::service
