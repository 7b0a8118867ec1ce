#include "minihft/live/soup_tcp.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "minihft/live/net.hpp"

namespace minihft::live {

namespace {
void sleep_unless(const std::atomic<bool>& stop, int64_t ns) {
  const int64_t end = steady_ns() + ns;
  while (!stop.load(std::memory_order_relaxed) && steady_ns() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
}
}  // namespace

SoupTcpClient::SoupTcpClient(SoupClientConfig cfg)
    : cfg_(std::move(cfg)), sink_(cfg_.ring_bytes, stop_) {}

SoupTcpClient::~SoupTcpClient() { stop(); }

std::string SoupTcpClient::start() {
  if (thread_.joinable()) return "client already started";
  sockaddr_in a;
  std::string err;
  if (!net::resolve(cfg_.host, cfg_.port, a, err)) return err;
  thread_ = std::thread([this] { run(); });
  return {};
}

void SoupTcpClient::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void SoupTcpClient::run() {
  soup::ClientSession s(sink_, c_, cfg_.user, cfg_.password, cfg_.session, cfg_.first_seq,
                        cfg_.heartbeat_ns, cfg_.server_timeout_ns);
  std::vector<uint8_t> out;
  std::vector<uint8_t> buf(1 << 16);
  uint32_t retries = 0;
  while (!stop_.load(std::memory_order_relaxed)) {
    std::string err;
    const int fd = net::tcp_connect(cfg_.host, cfg_.port, 1000, err);
    if (fd < 0) {
      connect_failures_.add();
      if (!cfg_.reconnect || ++retries > cfg_.max_reconnects) break;
      sleep_unless(stop_, cfg_.reconnect_delay_ns);
      continue;
    }
    connects_.add();
    out.clear();
    s.on_connect(steady_ns(), out);
    bool alive = net::send_all(fd, out.data(), out.size(), 1000);
    while (alive && !stop_.load(std::memory_order_relaxed)) {
      pollfd p{fd, POLLIN, 0};
      ::poll(&p, 1, 10);
      const int64_t now = steady_ns();
      out.clear();
      if (p.revents != 0) {
        const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n > 0) {
          alive = s.on_bytes(buf.data(), static_cast<size_t>(n), now, out);
        } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
          alive = false;
        }
      }
      if (s.state() == soup::ClientState::Ended) alive = false;
      if (alive && !s.poll(now, out)) alive = false;
      if (alive && !out.empty()) alive = net::send_all(fd, out.data(), out.size(), 1000);
      next_expected_.store(s.next_expected(), std::memory_order_relaxed);
    }
    if (stop_.load(std::memory_order_relaxed) && s.state() == soup::ClientState::LoggedIn) {
      out.clear();
      s.logout(out);
      net::send_all(fd, out.data(), out.size(), 200);
    }
    ::close(fd);
    const soup::ClientState st = s.state();
    if (st == soup::ClientState::Ended || st == soup::ClientState::Rejected) break;
    if (stop_.load(std::memory_order_relaxed)) break;
    s.on_disconnect();
    if (!cfg_.reconnect || ++retries > cfg_.max_reconnects) break;
    sleep_unless(stop_, cfg_.reconnect_delay_ns);
  }
  next_expected_.store(s.next_expected(), std::memory_order_relaxed);
  finished_.store(true, std::memory_order_release);
}

std::vector<std::pair<std::string, uint64_t>> SoupTcpClient::counters() const {
  return {{"messages", c_.messages.get()},
          {"next_expected", next_expected_.load(std::memory_order_relaxed)},
          {"server_heartbeats", c_.server_heartbeats.get()},
          {"client_heartbeats", c_.client_heartbeats.get()},
          {"logins", c_.logins.get()},
          {"rejects", c_.rejects.get()},
          {"connects", connects_.get()},
          {"connect_failures", connect_failures_.get()},
          {"disconnects", c_.disconnects.get()},
          {"mid_message_disconnects", c_.mid_message_disconnects.get()},
          {"protocol_errors", c_.protocol_errors.get()},
          {"ended", c_.ended.get()},
          {"ring_full_waits", sink_.full_waits.get()}};
}

SoupTcpServer::SoupTcpServer(std::vector<uint8_t> data, SoupServerConfig cfg)
    : data_(std::move(data)), cfg_(std::move(cfg)) {
  if (!index_frames(data_.data(), data_.size(), frames_, index_error_)) frames_.clear();
}

SoupTcpServer::~SoupTcpServer() { stop(); }

std::string SoupTcpServer::start() {
  if (!index_error_.empty()) return index_error_;
  if (thread_.joinable()) return "server already started";
  std::string err;
  listen_fd_ = net::tcp_listen(cfg_.host, cfg_.port, err);
  if (listen_fd_ < 0) return err;
  port_ = net::local_port(listen_fd_);
  thread_ = std::thread([this] { run(); });
  return {};
}

void SoupTcpServer::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
}

void SoupTcpServer::run() {
  while (!stop_.load(std::memory_order_relaxed)) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) != 1) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) continue;
    connections_.add();
    serve(fd);
    ::close(fd);
  }
}

void SoupTcpServer::serve(int fd) {
  soup::Framer f;
  std::vector<uint8_t> buf(1 << 16), out;
  char type = 0;
  const uint8_t* payload = nullptr;
  size_t len = 0;
  bool got = false;
  for (int64_t end = steady_ns() + 5'000'000'000; !got && steady_ns() < end;) {
    if (stop_.load(std::memory_order_relaxed)) return;
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, 10);
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n == 0) return;
    if (n > 0) f.feed(buf.data(), static_cast<size_t>(n));
    got = f.next(type, payload, len);
  }
  soup::LoginRequest req;
  if (!got || type != 'L' || !soup::parse_login_request(payload, len, req)) return;
  if (req.user != cfg_.user || req.password != cfg_.password) {
    soup::append_login_rejected(out, 'A');
  } else if (!req.session.empty() && req.session != cfg_.session) {
    soup::append_login_rejected(out, 'S');
  }
  if (!out.empty()) {
    rejects_.add();
    net::send_all(fd, out.data(), out.size(), 1000);
    return;
  }
  const uint64_t n_msgs = frames_.size();
  uint64_t seq = req.seq == 0 ? 1 : std::min(req.seq, n_msgs + 1);
  soup::append_login_accepted(out, cfg_.session, seq);
  if (!net::send_all(fd, out.data(), out.size(), 1000)) return;
  logins_.add();
  int64_t now = steady_ns();
  Pacer pacer(cfg_.speed, now);
  int64_t last_send = now, last_recv = now, pause_until = 0;
  bool z_sent = false;
  int64_t z_deadline = 0;
  while (!stop_.load(std::memory_order_relaxed)) {
    now = steady_ns();
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n == 0) return;
    if (n > 0) {
      last_recv = now;
      f.feed(buf.data(), static_cast<size_t>(n));
      while (f.next(type, payload, len)) {
        if (type == 'R') client_heartbeats_.add();
        if (type == 'O') {
          logouts_.add();
          return;
        }
      }
      if (f.error()) return;
    }
    if (now - last_recv > cfg_.client_timeout_ns) return;
    if (now - last_send >= cfg_.heartbeat_ns) {
      out.clear();
      soup::append_packet(out, 'H', nullptr, 0);
      if (!net::send_all(fd, out.data(), out.size(), 1000)) return;
      server_heartbeats_.add();
      last_send = now;
    }
    const uint64_t sent = messages_.get();
    if (cfg_.pause_after != 0 && !pause_done_ && sent >= cfg_.pause_after) {
      pause_done_ = true;
      pause_until = now + cfg_.pause_ns;
    }
    const bool idle = now < pause_until || seq > n_msgs ||
                      (cfg_.speed > 0 && pacer.due(frames_[seq - 1].ts) > now);
    if (idle) {
      if (seq > n_msgs && cfg_.end_of_session && !z_sent) {
        out.clear();
        soup::append_packet(out, 'Z', nullptr, 0);
        net::send_all(fd, out.data(), out.size(), 1000);
        z_sent = true;
        z_deadline = now + 2'000'000'000;
      }
      if (z_sent && now > z_deadline) return;
      pollfd p{fd, POLLIN, 0};
      ::poll(&p, 1, 1);
      continue;
    }
    out.clear();
    for (int k = 0; k < 256 && seq <= n_msgs; ++k) {
      const Frame& fr = frames_[seq - 1];
      if (cfg_.speed > 0 && pacer.due(fr.ts) > now) break;
      const uint64_t total = messages_.get();
      if (cfg_.disconnect_after != 0 && !disconnect_done_ && total >= cfg_.disconnect_after) {
        disconnect_done_ = true;
        net::send_all(fd, out.data(), out.size(), 1000);
        return;
      }
      if (cfg_.cut_after != 0 && !cut_done_ && total >= cfg_.cut_after) {
        cut_done_ = true;
        const size_t whole = out.size();
        soup::append_packet(out, 'S', fr.msg, fr.len);
        net::send_all(fd, out.data(), whole + (out.size() - whole) / 2, 1000);
        return;
      }
      soup::append_packet(out, 'S', fr.msg, fr.len);
      messages_.add();
      ++seq;
    }
    if (!net::send_all(fd, out.data(), out.size(), 5000)) return;
    last_send = now;
  }
}

std::vector<std::pair<std::string, uint64_t>> SoupTcpServer::counters() const {
  return {{"connections", connections_.get()},
          {"logins", logins_.get()},
          {"rejects", rejects_.get()},
          {"messages", messages_.get()},
          {"server_heartbeats", server_heartbeats_.get()},
          {"client_heartbeats", client_heartbeats_.get()},
          {"logouts", logouts_.get()}};
}

}  // namespace minihft::live
