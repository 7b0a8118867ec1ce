// Prometheus text exposition and the /metrics, /healthz, /readyz endpoints.
//
// Every counter has exactly one writing thread and is read by the HTTP thread, so relaxed atomics
// are enough: a scrape may see one counter a little ahead of another, never a torn value.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "pipeline.hpp"

namespace minihft::service {

using Counter = std::atomic<uint64_t>;
using Gauge = std::atomic<int64_t>;

inline void inc(Counter& c, uint64_t by = 1) { c.fetch_add(by, std::memory_order_relaxed); }
inline void set(Gauge& g, int64_t v) { g.store(v, std::memory_order_relaxed); }

// Latency in ns, 100 ns .. 1 s in 1-2.5-5 steps.
class Histogram {
 public:
  static constexpr std::array<int64_t, 22> kBounds = {
      100,         250,         500,         1'000,        2'500,      5'000,
      10'000,      25'000,      50'000,      100'000,      250'000,    500'000,
      1'000'000,   2'500'000,   5'000'000,   10'000'000,   25'000'000, 50'000'000,
      100'000'000, 250'000'000, 500'000'000, 1'000'000'000};
  void observe(int64_t v) {
    size_t i = 0;
    while (i < kBounds.size() && v > kBounds[i]) ++i;
    inc(buckets_[i]);
    sum_.fetch_add(v, std::memory_order_relaxed);
  }
  void render(std::string& out, const std::string& name, const std::string& help) const;

 private:
  std::array<Counter, kBounds.size() + 1> buckets_{};
  std::atomic<int64_t> sum_{0};
};

constexpr size_t kMdTypes = 16;   // index MdEventType, 0 = out of range
constexpr size_t kStatuses = 16;  // index ErrorCode
constexpr size_t kCmdTypes = 4;   // index CommandType, 0 = invalid
constexpr size_t kExecTypes = 8;  // index ExecType

struct Metrics {
  // engine thread
  std::array<Counter, kMdTypes> md_events{};
  std::array<Counter, kStatuses> md_event_status{};
  std::array<Counter, kCmdTypes> commands{};
  std::array<Counter, kExecTypes> exec_reports{};
  std::array<std::array<Counter, kDeadCauses>, kSources> dead_letters{};
  std::array<Counter, kSources> processed{};  // input messages done, replayed ones included
  Counter unknown_order_events{0};
  Counter reused_order_ids{0};
  Counter book_updates{0};
  Counter conflated_updates{0};
  Counter replayed_messages{0};
  Gauge books{0};
  Gauge bid_levels{0};
  Gauge ask_levels{0};
  Gauge out_backlog{0};
  Histogram update_latency;
  // consumer thread
  std::array<Counter, kSources> messages_in{};
  // Consumer lag per input partition; partitions past kMaxLagPartitions are not shown.
  static constexpr size_t kMaxLagPartitions = 64;
  std::array<std::array<Gauge, kMaxLagPartitions>, kSources> consumer_lag{};
  std::array<Gauge, kSources> lag_partitions{};  // entries of consumer_lag in use, per topic
  Counter replay_pushed{0};
  Gauge in_ring_depth{0};
  // producer thread
  std::array<Counter, 3> messages_out{};  // md.book, exec.reports, dead.letter
  Counter transactions{0};   // transactional: commits; idempotent: input offset commits
  Counter dedup_skipped{0};  // idempotent restart: output messages a predecessor already wrote
  Gauge out_ring_depth{0};
  Gauge producer_queue{0};
  // lifecycle
  std::atomic<bool> rebuilt{false};  // caught up to the committed offsets after a start
  std::atomic<bool> live{true};

  std::string render() const;
};

// One thread, one request per connection: scrapes are rare and tiny.
class HttpServer {
 public:
  // ready() answers /readyz; it may talk to the broker.
  HttpServer(const Metrics& m, std::function<bool()> ready) : m_(m), ready_(std::move(ready)) {}
  ~HttpServer() { stop(); }
  // Returns the bound port (useful with port 0), or -1 with errno set.
  int start(const std::string& addr, int port);
  void stop();

 private:
  void serve();
  void handle(int fd);

  const Metrics& m_;
  std::function<bool()> ready_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace minihft::service
