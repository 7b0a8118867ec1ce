// Structured logs: one JSON object per line on stderr, so log shippers need no parsing rules.
#pragma once

#include <chrono>
#include <cstdio>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace minihft::service {

using LogField = std::pair<std::string_view, std::string>;

inline void json_escape(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
}

// Threads log concurrently; one write per line under a lock keeps lines whole.
inline void log(std::string_view level, std::string_view msg,
                std::initializer_list<LogField> fields = {}) {
  static std::mutex mu;
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  std::string line = "{\"ts_ns\":" + std::to_string(std::chrono::nanoseconds(now).count()) +
                     ",\"level\":\"" + std::string(level) +
                     "\",\"service\":\"lob_engine\",\"msg\":\"";
  json_escape(line, msg);
  line += '"';
  for (const auto& [k, v] : fields) {
    line += ",\"";
    json_escape(line, k);
    line += "\":\"";
    json_escape(line, v);
    line += '"';
  }
  line += "}\n";
  std::lock_guard<std::mutex> lock(mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace minihft::service
