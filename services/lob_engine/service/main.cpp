// lob_engine service: md.events + orders in, md.book + exec.reports out, through Kafka.
//
//   consumer thread --SPSC ring--> engine thread --SPSC ring--> producer thread
//
// Exactly-once and restart behaviour, both delivery modes: kafka_io.hpp. What is emitted when:
// engine_stage.hpp. Signals are blocked in every thread and taken synchronously here, so SIGTERM
// starts an orderly drain: stop consuming, empty both rings, deliver and commit what is left, exit
// 0.
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "clock.hpp"
#include "config.hpp"
#include "engine_stage.hpp"
#include "kafka_io.hpp"
#include "log.hpp"
#include "metrics.hpp"

using namespace minihft;
using namespace minihft::service;

namespace {

sigset_t term_signals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGINT);
  return s;
}

// Watches for SIGTERM/SIGINT while the main thread is busy in set-up.
class SignalWatch {
 public:
  explicit SignalWatch(std::atomic<bool>& stop) : stop_(stop) {
    thread_ = std::thread([this] {
      sigset_t s = term_signals();
      timespec ts{0, 100'000'000};
      while (!done_) {
        siginfo_t info;
        if (sigtimedwait(&s, &info, &ts) > 0) {
          log("info", "signal received, shutting down",
              {{"signal", std::to_string(info.si_signo)}});
          stop_ = true;
          return;
        }
      }
    });
  }
  ~SignalWatch() {
    done_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool>& stop_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      std::cout << cfg.help();
      return 0;
    }
  }
  if (auto err = cfg.parse(args)) {
    log("error", "bad configuration", {{"error", *err}});
    std::cerr << cfg.help();
    return 64;
  }
  Backoff::set_window_us(cfg.spin_us);  // before any pipeline thread exists
  sigset_t sigs = term_signals();
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);  // inherited by every thread started below

  std::atomic<bool> stop{false};
  SignalWatch watch(stop);
  WallClock clock;
  Metrics metrics;
  ConsumerStage consumer(cfg, clock, metrics);
  ProducerStage producer(cfg, clock, metrics);

  HttpServer http(metrics, [&] { return metrics.rebuilt.load() && consumer.broker_reachable(); });
  const int port = http.start(cfg.metrics_addr, cfg.metrics_port);
  if (port < 0) {
    log("error", "cannot listen for /metrics",
        {{"addr", cfg.metrics_addr}, {"port", std::to_string(cfg.metrics_port)}});
    return 1;
  }
  log("info", "starting",
      {{"bootstrap", cfg.bootstrap},
       {"topic_prefix", cfg.topic_prefix},
       {"group", cfg.group},
       {"transactional_id", cfg.transactional_id},
       {"metrics_port", std::to_string(port)},
       {"depth", std::to_string(cfg.depth)},
       {"conflate", cfg.conflate ? "1" : "0"},
       {"spin_us", std::to_string(cfg.spin_us)},
       {"delivery", cfg.delivery}});

  // Producer first: init_transactions must abort a killed predecessor's open transaction before
  // the consumer reads the committed offsets. The output tails are read once the topics exist.
  if (!producer.setup(stop) || !consumer.setup(stop) ||
      (!cfg.transactional() && !producer.recover(stop, consumer.handle()))) {
    if (stop) return 0;
    log("error", "start-up failed");
    return 1;
  }

  SpscRing<InMsg> in_ring(static_cast<size_t>(cfg.in_ring));
  SpscRing<OutItem> out_ring(static_cast<size_t>(cfg.out_ring));
  std::atomic<bool> input_done{false}, engine_done{false}, failed{false};
  Parker engine_parker;
  EngineStage engine(cfg, clock, metrics, in_ring, out_ring, producer.lagging,
                     consumer.replay_reached, engine_parker, producer.parker);
  engine.set_written(producer.tails());

  std::thread t_consumer([&] {
    consumer.run(stop, in_ring, engine_parker);
    input_done.store(true, std::memory_order_release);
    engine_parker.wake();
  });
  std::thread t_engine([&] {
    engine.run(input_done);
    engine_done.store(true, std::memory_order_release);
    producer.parker.wake();
  });
  std::thread t_producer([&] {
    if (!producer.run(out_ring, engine_done)) {
      failed = true;
      metrics.live = false;
    }
  });

  while (!stop && !failed) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (failed) {
    // Crash-only: the open transaction dies with us and the restart replays from the last commit.
    log("error", "transaction or delivery failure: exiting for a clean restart");
    std::_Exit(2);
  }
  t_consumer.join();
  t_engine.join();
  t_producer.join();
  if (failed) {
    log("error", "final commit failed");
    std::_Exit(2);
  }
  consumer.close();
  http.stop();
  log("info", "stopped cleanly",
      {{"transactions", std::to_string(metrics.transactions.load())},
       {"messages_in",
        std::to_string(metrics.messages_in[0].load() + metrics.messages_in[1].load())}});
  return 0;
}
