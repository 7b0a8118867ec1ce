// MoldUDP64 over real UDP sockets: a receiver thread feeding the ring, and the replay sender
// that also serves retransmission requests. Protocol logic lives in moldudp64.hpp.
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "minihft/live/channel.hpp"
#include "minihft/live/moldudp64.hpp"
#include "minihft/live/replay_data.hpp"

namespace minihft::live {

struct MoldReceiverConfig {
  std::string host = "127.0.0.1";  // unicast bind address, or the interface for multicast
  uint16_t port = 0;               // 0: pick one (see port())
  std::string group;               // multicast group, empty for unicast
  std::string rerequest_host = "127.0.0.1";
  uint16_t rerequest_port = 0;  // 0: no retransmission requests
  size_t ring_bytes = 1 << 24;
  int rcvbuf = 8 << 20;
  mold::SequencerConfig seq;
};

class MoldUdpReceiver {
 public:
  explicit MoldUdpReceiver(MoldReceiverConfig cfg);
  ~MoldUdpReceiver();
  // open() binds (so port() is known), start() opens if needed and runs the receive thread.
  // Both return empty on success, else why the sockets could not be set up.
  std::string open();
  std::string start();
  void stop();
  // Where retransmission requests go; only before start().
  void set_rerequest(const std::string& host, uint16_t port) {
    cfg_.rerequest_host = host;
    cfg_.rerequest_port = port;
  }
  uint16_t port() const { return port_; }
  size_t drain(size_t max_bytes, std::string& msgs, std::vector<LiveEvent>& evs) {
    return sink_.drain(max_bytes, msgs, evs);
  }
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  std::vector<std::pair<std::string, uint64_t>> counters() const;

 private:
  void run();

  MoldReceiverConfig cfg_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> finished_{false};
  RingSink sink_;
  mold::RecvCounters c_;
  Counter datagrams_;
  int data_fd_ = -1, req_fd_ = -1;
  bool opened_ = false;
  uint16_t port_ = 0;
  std::thread thread_;
};

struct MoldReplayConfig {
  std::string host = "127.0.0.1";  // destination (unicast) or multicast interface
  uint16_t port = 0;
  std::string group;
  std::string session = "MINIHFT";
  double speed = 0;  // <= 0: as fast as possible
  std::string rerequest_host = "127.0.0.1";
  uint16_t rerequest_port = 0;  // 0: pick one
  size_t history = 1 << 20;
  size_t max_packet = mold::kDefaultMaxPacket;
  uint32_t drop_every = 0;  // test hook: first transmission of every Nth packet is not sent
  uint32_t dup_every = 0;   // test hook: every Nth packet is sent twice
  int64_t heartbeat_ns = 1'000'000'000;
  int64_t linger_ns = 2'000'000'000;  // keep serving retransmissions after the end of session
  double max_rate = 0;                // messages per second cap in max-speed mode, 0: none
};

class MoldUdpReplayer {
 public:
  MoldUdpReplayer(std::vector<uint8_t> data, MoldReplayConfig cfg);
  ~MoldUdpReplayer();
  // Binds the sockets (so rerequest_port() is known before any data flows); start() calls it
  // when not done yet. Both return empty on success, else why.
  std::string open();
  std::string start();
  void stop();
  bool done() const { return done_.load(std::memory_order_acquire); }
  uint16_t rerequest_port() const { return rport_; }
  size_t message_count() const { return frames_.size(); }
  std::vector<std::pair<std::string, uint64_t>> counters() const;

 private:
  void run();
  void serve_requests();
  void flush();
  void send_control(uint16_t count);
  void queue_packet(const uint8_t* p, size_t len, const sockaddr_in* to);

  std::vector<uint8_t> data_;
  MoldReplayConfig cfg_;
  std::vector<Frame> frames_;
  std::string index_error_;
  mold::Session session_;
  mold::History history_;
  std::atomic<bool> stop_{false}, done_{false};
  int fd_ = -1, req_fd_ = -1;
  bool opened_ = false;
  uint16_t rport_ = 0;
  sockaddr_in dest_{};
  uint64_t next_seq_ = 1;
  int64_t last_send_ns_ = 0;
  // sendmmsg batch
  static constexpr int kBatch = 64;
  std::vector<uint8_t> slots_;
  std::vector<size_t> slot_len_;
  std::vector<sockaddr_in> slot_to_;
  int nslots_ = 0;
  Counter packets_, messages_, dropped_, duplicated_, retransmitted_, requests_, heartbeats_,
      send_errors_;
  std::thread thread_;
};

}  // namespace minihft::live
