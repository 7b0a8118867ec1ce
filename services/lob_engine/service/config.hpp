// Service configuration: one typed object, filled from defaults, then command-line flags, then
// environment variables (MINIHFT_LOB_ENGINE_<FLAG>, dashes as underscores), so a deployment can
// override whatever its command line bakes in. Unknown flags and bad values are errors, never
// silently ignored.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace minihft::service {

struct Config {
  std::string bootstrap = "127.0.0.1:9092";
  std::string topic_prefix;  // "" live, "bt.<run_id>." for a backtest run
  std::string metrics_addr = "0.0.0.0";
  int metrics_port = 9102;
  std::string group = "lob_engine";
  std::string transactional_id;  // default: <group>.<topic_prefix><instance>
  int instance = 0;              // replica number: hop stamp `instance`, transactional id
  int depth = 10;                // levels per side in BookUpdate (at most 10, the schema's)
  bool conflate = true;          // under load send only the latest book per symbol
  // "idempotent": outputs sent at once, de-duplicated on restart from the output tails;
  // "transactional": outputs visible at each commit (see kafka_io.hpp).
  std::string delivery = "idempotent";
  int commit_interval_ms = 50;  // transactional: transaction length; idempotent: offset commits
  int linger_ms = 0;
  int in_ring = 8192;     // consumed messages between consumer and engine threads
  int out_ring = 16384;   // output items between engine and producer threads
  int max_outq = 200000;  // librdkafka queue length above which the producer counts as lagging
  int max_symbols = 65536;
  // Idle pipeline threads spin/yield this long before parking (idle.hpp). 0 on a shared host:
  // parking at once measured better latency and no less throughput on 2 cores; a dedicated core
  // per thread is where a spin pays.
  int spin_us = 0;
  // Fault injection for tests: once this many output messages are delivered, exit at once as if
  // killed (no drain, no commit). 0 = off.
  int crash_after_messages = 0;

  std::string help() const {
    return "usage: lob_engine [--bootstrap HOST:PORT] [--topic-prefix P] [--metrics-addr A]\n"
           "  [--metrics-port N] [--group G] [--transactional-id T] [--instance N] [--depth "
           "1..10]\n"
           "  [--conflate|--no-conflate] [--delivery idempotent|transactional]\n"
           "  [--commit-interval-ms N] [--linger-ms N] [--in-ring N]\n"
           "  [--out-ring N] [--max-outq N] [--max-symbols N] [--spin-us N]\n"
           "  [--crash-after-messages N]\n"
           "Every flag can also come from MINIHFT_LOB_ENGINE_<FLAG> (upper case, '_' for '-'),\n"
           "which wins over the command line.\n";
  }

  // Returns an error message, or nullopt.
  std::optional<std::string> parse(const std::vector<std::string>& args) {
    std::map<std::string, std::function<std::optional<std::string>(const std::string&)>> set;
    auto str = [&](std::string* f) {
      return [f](const std::string& v) -> std::optional<std::string> {
        *f = v;
        return std::nullopt;
      };
    };
    auto num = [&](int* f, long lo, long hi) {
      return [f, lo, hi](const std::string& v) -> std::optional<std::string> {
        char* end = nullptr;
        long x = std::strtol(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || x < lo || x > hi) {
          return "'" + v + "' is not an integer in [" + std::to_string(lo) + ", " +
                 std::to_string(hi) + "]";
        }
        *f = static_cast<int>(x);
        return std::nullopt;
      };
    };
    auto flag = [&](bool* f) {
      return [f](const std::string& v) -> std::optional<std::string> {
        if (v == "1" || v == "true") {
          *f = true;
        } else if (v == "0" || v == "false") {
          *f = false;
        } else {
          return "'" + v + "' is not a boolean (1/0/true/false)";
        }
        return std::nullopt;
      };
    };
    set["bootstrap"] = str(&bootstrap);
    set["topic-prefix"] = str(&topic_prefix);
    set["metrics-addr"] = str(&metrics_addr);
    set["metrics-port"] = num(&metrics_port, 0, 65535);
    set["group"] = str(&group);
    set["transactional-id"] = str(&transactional_id);
    set["instance"] = num(&instance, 0, 65535);
    set["depth"] = num(&depth, 1, 10);
    set["conflate"] = flag(&conflate);
    set["delivery"] = [this](const std::string& v) -> std::optional<std::string> {
      if (v != "idempotent" && v != "transactional") {
        return "'" + v + "' is not idempotent or transactional";
      }
      delivery = v;
      return std::nullopt;
    };
    set["commit-interval-ms"] = num(&commit_interval_ms, 1, 60000);
    set["linger-ms"] = num(&linger_ms, 0, 1000);
    set["in-ring"] = num(&in_ring, 2, 1 << 22);
    set["out-ring"] = num(&out_ring, 1024, 1 << 22);
    set["max-outq"] = num(&max_outq, 1, 10000000);
    set["max-symbols"] = num(&max_symbols, 1, 65536);
    set["spin-us"] = num(&spin_us, 0, 10000);
    set["crash-after-messages"] = num(&crash_after_messages, 0, 1 << 30);

    for (size_t i = 0; i < args.size(); ++i) {
      std::string a = args[i];
      if (a == "--no-conflate") {
        conflate = false;
        continue;
      }
      if (a.rfind("--", 0) != 0) return "unexpected argument '" + a + "'";
      a = a.substr(2);
      std::string value;
      auto eq = a.find('=');
      if (eq != std::string::npos) {
        value = a.substr(eq + 1);
        a = a.substr(0, eq);
      } else if (a == "conflate") {
        value = "1";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return "--" + a + " needs a value";
      }
      auto it = set.find(a);
      if (it == set.end()) return "unknown flag --" + a;
      if (auto err = it->second(value)) return "--" + a + ": " + *err;
    }
    for (auto& [name, setter] : set) {
      std::string env = "MINIHFT_LOB_ENGINE_";
      for (char c : name) env += c == '-' ? '_' : static_cast<char>(std::toupper(c));
      if (const char* v = std::getenv(env.c_str())) {
        if (auto err = setter(v)) return env + ": " + *err;
      }
    }
    if (transactional_id.empty()) {
      transactional_id = group + "." + topic_prefix + std::to_string(instance);
    }
    return std::nullopt;
  }

  std::string topic(const char* base) const { return topic_prefix + base; }
  bool transactional() const { return delivery == "transactional"; }
};

}  // namespace minihft::service
