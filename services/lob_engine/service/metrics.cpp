#include "metrics.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace minihft::service {
namespace {

constexpr const char* kPrefix = "minihft_lob_engine_";

const char* md_type_name(size_t i) {
  static const char* n[] = {"invalid", "add",           "execute", "execute_at_price",
                            "cancel",  "delete",        "replace", "hidden_trade",
                            "clear",   "trading_status"};
  return i < sizeof n / sizeof *n ? n[i] : nullptr;
}
const char* cmd_name(size_t i) {
  static const char* n[] = {"invalid", "submit", "cancel", "replace"};
  return n[i];
}
const char* exec_name(size_t i) {
  static const char* n[] = {"invalid", "accepted", "rejected", "filled", "cancelled", "replaced"};
  return i < sizeof n / sizeof *n ? n[i] : nullptr;
}

uint64_t get(const Counter& c) { return c.load(std::memory_order_relaxed); }
int64_t get(const Gauge& g) { return g.load(std::memory_order_relaxed); }

void head(std::string& out, const std::string& name, const char* type, const char* help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}
void sample(std::string& out, const std::string& name, const std::string& labels, int64_t v) {
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += " " + std::to_string(v) + "\n";
}

// The standard process_* families every Prometheus client exports, read from /proc at scrape
// time, so dashboards treat the C++ service like the Python ones.
void render_process(std::string& out) {
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return;
  std::istringstream fields(stat.substr(close + 2));  // from field 3 (state) on
  std::string f;
  double utime = 0, stime = 0, start_ticks = 0, vsize = 0, rss_pages = 0;
  for (int i = 3; i <= 24 && fields >> f; ++i) {
    if (i == 14) utime = std::stod(f);
    if (i == 15) stime = std::stod(f);
    if (i == 22) start_ticks = std::stod(f);
    if (i == 23) vsize = std::stod(f);
    if (i == 24) rss_pages = std::stod(f);
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  double boot = 0;
  std::ifstream proc_stat("/proc/stat");
  for (std::string key; proc_stat >> key;) {
    if (key == "btime") {
      proc_stat >> boot;
      break;
    }
  }
  size_t fds = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (const dirent* e = readdir(d)) fds += e->d_name[0] != '.';
    closedir(d);
  }
  char line[160];
  const auto put = [&](const char* name, const char* type, const char* help, double v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    std::snprintf(line, sizeof line, "%s %.6f\n", name, v);
    out += line;
  };
  put("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
      (utime + stime) / ticks);
  put("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
      rss_pages * static_cast<double>(sysconf(_SC_PAGESIZE)));
  put("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", vsize);
  put("process_start_time_seconds", "gauge",
      "Start time of the process since unix epoch in seconds.", boot + start_ticks / ticks);
  put("process_open_fds", "gauge", "Number of open file descriptors.", static_cast<double>(fds));
}

}  // namespace

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
  head(out, name, "histogram", help.c_str());
  uint64_t cum = 0;
  for (size_t i = 0; i < kBounds.size(); ++i) {
    cum += get(buckets_[i]);
    sample(out, name + "_bucket", "le=\"" + std::to_string(kBounds[i]) + "\"",
           static_cast<int64_t>(cum));
  }
  cum += get(buckets_[kBounds.size()]);
  sample(out, name + "_bucket", "le=\"+Inf\"", static_cast<int64_t>(cum));
  sample(out, name + "_sum", "", sum_.load(std::memory_order_relaxed));
  sample(out, name + "_count", "", static_cast<int64_t>(cum));
}

std::string Metrics::render() const {
  std::string o;
  o.reserve(8192);
  const std::string p = kPrefix;
  std::string n = p + "md_events_total";
  head(o, n, "counter", "venue L3 events applied, by type");
  for (size_t i = 0; i < kMdTypes; ++i) {
    if (md_type_name(i))
      sample(o, n, "type=\"" + std::string(md_type_name(i)) + "\"", get(md_events[i]));
  }
  n = p + "md_event_status_total";
  head(o, n, "counter", "venue L3 events by book builder result");
  for (size_t i = 0; i <= static_cast<size_t>(ErrorCode::UnknownSymbol); ++i) {
    sample(o, n, "status=\"" + std::string(to_string(static_cast<ErrorCode>(i))) + "\"",
           get(md_event_status[i]));
  }
  n = p + "unknown_order_events_total";
  head(o, n, "counter", "venue events naming an order id the book does not hold");
  sample(o, n, "", get(unknown_order_events));
  n = p + "commands_total";
  head(o, n, "counter", "order commands processed, by type");
  for (size_t i = 0; i < kCmdTypes; ++i)
    sample(o, n, "type=\"" + std::string(cmd_name(i)) + "\"", get(commands[i]));
  n = p + "reused_order_ids_total";
  head(o, n, "counter", "submits rejected because the order id was used before");
  sample(o, n, "", get(reused_order_ids));
  n = p + "exec_reports_total";
  head(o, n, "counter", "execution reports produced, by type");
  for (size_t i = 1; i < kExecTypes; ++i) {
    if (exec_name(i))
      sample(o, n, "type=\"" + std::string(exec_name(i)) + "\"", get(exec_reports[i]));
  }
  n = p + "dead_letters_total";
  head(o, n, "counter", "input messages moved to dead.letter, by source topic and cause");
  for (size_t s = 0; s < kSources; ++s) {
    for (size_t c = 1; c < kDeadCauses; ++c) {
      sample(o, n,
             "source=\"" + std::string(source_name(static_cast<Source>(s))) + "\",cause=\"" +
                 cause_name(static_cast<DeadCause>(c)) + "\"",
             get(dead_letters[s][c]));
    }
  }
  n = p + "book_updates_total";
  head(o, n, "counter", "book updates queued for md.book");
  sample(o, n, "", get(book_updates));
  n = p + "conflated_updates_total";
  head(o, n, "counter", "book updates replaced by a newer one of the same symbol under load");
  sample(o, n, "", get(conflated_updates));
  n = p + "replayed_messages_total";
  head(o, n, "counter", "input messages replayed to rebuild state after a start");
  sample(o, n, "", get(replayed_messages));
  n = p + "books_items";
  head(o, n, "gauge", "symbols with a venue book");
  sample(o, n, "", get(books));
  n = p + "levels_items";
  head(o, n, "gauge", "price levels over all venue books");
  sample(o, n, "side=\"bid\"", get(bid_levels));
  sample(o, n, "side=\"ask\"", get(ask_levels));
  update_latency.render(o, p + "update_latency_ns",
                        "md.events message received to its book updates queued for publish, ns");
  n = p + "messages_in_total";
  head(o, n, "counter", "input messages consumed, by topic");
  for (size_t s = 0; s < kSources; ++s) {
    sample(o, n, "topic=\"" + std::string(source_name(static_cast<Source>(s))) + "\"",
           get(messages_in[s]));
  }
  n = p + "messages_processed_total";
  head(o, n, "counter", "input messages the engine is done with (replayed included), by topic");
  for (size_t s = 0; s < kSources; ++s) {
    sample(o, n, "topic=\"" + std::string(source_name(static_cast<Source>(s))) + "\"",
           get(processed[s]));
  }
  n = p + "consumer_lag_messages";
  head(o, n, "gauge", "high watermark minus consumed position, per input partition");
  for (size_t s = 0; s < kSources; ++s) {
    const std::string topic = source_name(static_cast<Source>(s));
    const auto parts = static_cast<size_t>(get(lag_partitions[s]));
    for (size_t part = 0; part < parts && part < kMaxLagPartitions; ++part) {
      sample(o, n, "topic=\"" + topic + "\",partition=\"" + std::to_string(part) + "\"",
             get(consumer_lag[s][part]));
    }
  }
  n = p + "messages_out_total";
  head(o, n, "counter", "messages produced, by topic");
  sample(o, n, "topic=\"md.book\"", get(messages_out[0]));
  sample(o, n, "topic=\"exec.reports\"", get(messages_out[1]));
  sample(o, n, "topic=\"dead.letter\"", get(messages_out[2]));
  n = p + "transactions_total";
  head(o, n, "counter",
       "Kafka transactions committed (transactional delivery) or input offset commits "
       "(idempotent delivery)");
  sample(o, n, "", get(transactions));
  n = p + "dedup_skipped_total";
  head(o, n, "counter", "replayed output messages dropped: a predecessor had written them");
  sample(o, n, "", get(dedup_skipped));
  n = p + "queue_depth_items";
  head(o, n, "gauge", "items waiting in the service's queues");
  sample(o, n, "queue=\"in_ring\"", get(in_ring_depth));
  sample(o, n, "queue=\"out_ring\"", get(out_ring_depth));
  sample(o, n, "queue=\"out_backlog\"", get(out_backlog));
  sample(o, n, "queue=\"producer\"", get(producer_queue));
  n = p + "rebuilt_bool";
  head(o, n, "gauge", "1 once state is rebuilt up to the committed offsets");
  sample(o, n, "", rebuilt.load() ? 1 : 0);
  render_process(o);
  return o;
}

int HttpServer::start(const std::string& addr, int port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return -1;
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1 ||
      ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    return -1;
  }
  socklen_t len = sizeof sa;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len);
  thread_ = std::thread([this] { serve(); });
  return ntohs(sa.sin_port);
}

void HttpServer::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

void HttpServer::serve() {
  while (!stop_) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, 200) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    handle(fd);
    ::close(fd);
  }
}

void HttpServer::handle(int fd) {
  char buf[2048];
  size_t got = 0;
  while (got < sizeof buf - 1) {
    ssize_t r = ::recv(fd, buf + got, sizeof buf - 1 - got, 0);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
    buf[got] = '\0';
    if (std::strstr(buf, "\r\n\r\n") || std::strstr(buf, "\n\n")) break;
  }
  buf[got] = '\0';
  std::string req(buf, got);
  std::string path;
  if (req.rfind("GET ", 0) == 0) path = req.substr(4, req.find(' ', 4) - 4);
  int code = 200;
  std::string ctype = "text/plain; charset=utf-8";
  std::string body;
  if (path == "/metrics") {
    ctype = "text/plain; version=0.0.4; charset=utf-8";
    body = m_.render();
  } else if (path == "/healthz") {
    code = m_.live.load() ? 200 : 503;
    body = code == 200 ? "ok\n" : "failed\n";
  } else if (path == "/readyz") {
    const bool ok = ready_();
    code = ok ? 200 : 503;
    body = ok ? "ready\n" : "not ready\n";
  } else {
    code = 404;
    body = "not found\n";
  }
  std::string resp = "HTTP/1.1 " + std::to_string(code) +
                     (code == 200   ? " OK"
                      : code == 404 ? " Not Found"
                                    : " Service Unavailable") +
                     "\r\nContent-Type: " + ctype +
                     "\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\nConnection: close\r\n\r\n" + body;
  size_t sent = 0;
  while (sent < resp.size()) {
    ssize_t w = ::send(fd, resp.data() + sent, resp.size() - sent, MSG_NOSIGNAL);
    if (w <= 0) break;
    sent += static_cast<size_t>(w);
  }
}

}  // namespace minihft::service
