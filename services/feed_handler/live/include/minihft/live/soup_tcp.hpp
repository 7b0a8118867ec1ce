// SoupBinTCP over real TCP sockets: a client thread feeding the ring (reconnecting with the next
// expected sequence number) and the replay server. Protocol logic lives in soupbintcp.hpp.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "minihft/live/channel.hpp"
#include "minihft/live/replay_data.hpp"
#include "minihft/live/soupbintcp.hpp"

namespace minihft::live {

struct SoupClientConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string user, password, session;  // blank session: the server's current one
  uint64_t first_seq = 1;
  bool reconnect = true;
  uint32_t max_reconnects = 20;
  int64_t reconnect_delay_ns = 50'000'000;
  int64_t heartbeat_ns = 1'000'000'000;
  int64_t server_timeout_ns = 5'000'000'000;
  size_t ring_bytes = 1 << 24;
};

class SoupTcpClient {
 public:
  explicit SoupTcpClient(SoupClientConfig cfg);
  ~SoupTcpClient();
  std::string start();
  void stop();  // sends a logout when logged in
  size_t drain(size_t max_bytes, std::string& msgs, std::vector<LiveEvent>& evs) {
    return sink_.drain(max_bytes, msgs, evs);
  }
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  std::vector<std::pair<std::string, uint64_t>> counters() const;

 private:
  void run();

  SoupClientConfig cfg_;
  std::atomic<bool> stop_{false}, finished_{false};
  RingSink sink_;
  soup::ClientCounters c_;
  Counter connects_, connect_failures_;
  std::atomic<uint64_t> next_expected_{0};
  std::thread thread_;
};

struct SoupServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: pick one
  std::string user, password, session = "MINIHFT";
  double speed = 0;
  int64_t heartbeat_ns = 1'000'000'000;
  int64_t client_timeout_ns = 15'000'000'000;
  bool end_of_session = true;  // send 'Z' after the last message
  // Test hooks, each applied once (first time the count is reached, on any connection):
  uint64_t disconnect_after = 0;  // close the socket after this many sequenced messages
  uint64_t cut_after = 0;         // after this many, send half of the next packet, then close
  uint64_t pause_after = 0;       // after this many, send nothing but heartbeats for pause_ns
  int64_t pause_ns = 0;
};

class SoupTcpServer {
 public:
  SoupTcpServer(std::vector<uint8_t> data, SoupServerConfig cfg);
  ~SoupTcpServer();
  std::string start();
  void stop();
  uint16_t port() const { return port_; }
  size_t message_count() const { return frames_.size(); }
  std::vector<std::pair<std::string, uint64_t>> counters() const;

 private:
  void run();
  void serve(int fd);

  std::vector<uint8_t> data_;
  SoupServerConfig cfg_;
  std::vector<Frame> frames_;
  std::string index_error_;
  std::atomic<bool> stop_{false};
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  bool disconnect_done_ = false, cut_done_ = false, pause_done_ = false;
  Counter connections_, logins_, rejects_, messages_, server_heartbeats_, client_heartbeats_,
      logouts_;
  std::thread thread_;
};

}  // namespace minihft::live
