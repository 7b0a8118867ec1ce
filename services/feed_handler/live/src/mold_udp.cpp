#include "minihft/live/mold_udp.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "minihft/live/net.hpp"

namespace minihft::live {

MoldUdpReceiver::MoldUdpReceiver(MoldReceiverConfig cfg)
    : cfg_(std::move(cfg)), sink_(cfg_.ring_bytes, stop_) {}

MoldUdpReceiver::~MoldUdpReceiver() { stop(); }

std::string MoldUdpReceiver::open() {
  if (opened_) return {};
  std::string err;
  const bool mcast = !cfg_.group.empty();
  data_fd_ = net::bind_udp(mcast ? cfg_.group : cfg_.host, cfg_.port, err);
  if (data_fd_ < 0) return err;
  if (mcast && !net::join_group(data_fd_, cfg_.group, cfg_.host, err)) return err;
  net::set_buffers(data_fd_, cfg_.rcvbuf, 0);
  port_ = net::local_port(data_fd_);
  // Retransmissions come back unicast to the requesting socket; a separate one works for both
  // unicast and multicast feeds (a socket bound to a group address sees no unicast).
  req_fd_ = net::bind_udp("127.0.0.1", 0, err);
  if (req_fd_ < 0) return err;
  net::set_buffers(req_fd_, cfg_.rcvbuf, 0);
  opened_ = true;
  return {};
}

std::string MoldUdpReceiver::start() {
  if (thread_.joinable()) return "receiver already started";
  if (std::string err = open(); !err.empty()) return err;
  if (cfg_.rerequest_port != 0) {
    sockaddr_in probe;
    std::string err;
    if (!net::resolve(cfg_.rerequest_host, cfg_.rerequest_port, probe, err)) return err;
  }
  thread_ = std::thread([this] { run(); });
  return {};
}

void MoldUdpReceiver::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  for (int* fd : {&data_fd_, &req_fd_})
    if (*fd >= 0) {
      ::close(*fd);
      *fd = -1;
    }
}

void MoldUdpReceiver::run() {
  mold::Sequencer seq(sink_, c_, cfg_.seq);
  constexpr int kB = 64;
  constexpr size_t kMax = 2048;  // larger than any packet we send; MSG_TRUNC ones fail decoding
  std::vector<uint8_t> bufs(kB * kMax);
  mmsghdr msgs[kB];
  iovec iov[kB];
  for (int i = 0; i < kB; ++i) {
    iov[i] = iovec{bufs.data() + i * kMax, kMax};
    std::memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  sockaddr_in rr{};
  std::string err;
  const bool can_request = cfg_.rerequest_port != 0;
  if (can_request) net::resolve(cfg_.rerequest_host, cfg_.rerequest_port, rr, err);
  std::vector<mold::Sequencer::Request> reqs;
  pollfd pfds[2] = {{data_fd_, POLLIN, 0}, {req_fd_, POLLIN, 0}};
  const nfds_t nfds = 2;
  uint8_t req[mold::kHeaderSize];
  while (!stop_.load(std::memory_order_relaxed)) {
    ::poll(pfds, nfds, 5);
    const int64_t now = steady_ns();
    for (nfds_t k = 0; k < nfds; ++k) {
      for (int rounds = 0; rounds < 16; ++rounds) {
        const int n = ::recvmmsg(pfds[k].fd, msgs, kB, MSG_DONTWAIT, nullptr);
        if (n <= 0) break;
        datagrams_.add(static_cast<uint64_t>(n));
        for (int i = 0; i < n; ++i) {
          const size_t len = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? 0 : msgs[i].msg_len;
          seq.on_packet(bufs.data() + i * kMax, len, now, reqs);
        }
        if (n < kB) break;
      }
    }
    seq.poll(now, reqs);
    for (const auto& r : reqs) {
      if (!can_request) break;
      mold::encode_header(req, mold::Header{seq.session(), r.seq, r.count});
      ::sendto(req_fd_, req, sizeof req, 0, reinterpret_cast<const sockaddr*>(&rr), sizeof rr);
    }
    reqs.clear();
    if (seq.finished()) finished_.store(true, std::memory_order_release);
  }
}

std::vector<std::pair<std::string, uint64_t>> MoldUdpReceiver::counters() const {
  return {{"datagrams", datagrams_.get()},
          {"packets", c_.packets.get()},
          {"messages", c_.messages.get()},
          {"duplicates", c_.duplicates.get()},
          {"gaps", c_.gaps.get()},
          {"missing", c_.missing.get()},
          {"retransmitted", c_.retransmitted.get()},
          {"requests", c_.requests.get()},
          {"lost", c_.abandoned.get()},
          {"heartbeats", c_.heartbeats.get()},
          {"session_mismatch", c_.session_mismatch.get()},
          {"malformed", c_.malformed.get()},
          {"ended", c_.ended.get()},
          {"ring_full_waits", sink_.full_waits.get()}};
}

MoldUdpReplayer::MoldUdpReplayer(std::vector<uint8_t> data, MoldReplayConfig cfg)
    : data_(std::move(data)),
      cfg_(std::move(cfg)),
      session_(mold::make_session(cfg_.session.c_str())),
      history_(cfg_.history),
      slots_(kBatch * std::max(cfg_.max_packet, mold::kHeaderSize + 2)),
      slot_len_(kBatch),
      slot_to_(kBatch) {
  if (!index_frames(data_.data(), data_.size(), frames_, index_error_)) frames_.clear();
}

MoldUdpReplayer::~MoldUdpReplayer() { stop(); }

std::string MoldUdpReplayer::open() {
  if (!index_error_.empty()) return index_error_;
  if (opened_) return {};
  std::string err;
  fd_ = net::udp_socket(err);
  if (fd_ < 0) return err;
  net::set_buffers(fd_, 0, 8 << 20);
  const bool mcast = !cfg_.group.empty();
  if (mcast && !net::multicast_sender(fd_, cfg_.host, err)) return err;
  if (!net::resolve(mcast ? cfg_.group : cfg_.host, cfg_.port, dest_, err)) return err;
  req_fd_ = net::bind_udp(cfg_.rerequest_host, cfg_.rerequest_port, err);
  if (req_fd_ < 0) return err;
  rport_ = net::local_port(req_fd_);
  opened_ = true;
  return {};
}

std::string MoldUdpReplayer::start() {
  if (thread_.joinable()) return "replayer already started";
  if (std::string err = open(); !err.empty()) return err;
  thread_ = std::thread([this] { run(); });
  return {};
}

void MoldUdpReplayer::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  for (int* fd : {&fd_, &req_fd_})
    if (*fd >= 0) {
      ::close(*fd);
      *fd = -1;
    }
}

void MoldUdpReplayer::queue_packet(const uint8_t* p, size_t len, const sockaddr_in* to) {
  if (nslots_ == kBatch) flush();
  const size_t stride = slots_.size() / kBatch;
  std::memcpy(&slots_[static_cast<size_t>(nslots_) * stride], p, len);
  slot_len_[nslots_] = len;
  slot_to_[nslots_] = to ? *to : dest_;
  ++nslots_;
}

void MoldUdpReplayer::flush() {
  if (nslots_ == 0) return;
  const size_t stride = slots_.size() / kBatch;
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  for (int i = 0; i < nslots_; ++i) {
    iov[i] = iovec{&slots_[static_cast<size_t>(i) * stride], slot_len_[i]};
    std::memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &slot_to_[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
  }
  int sent = 0;
  while (sent < nslots_) {
    const int n = ::sendmmsg(fd_, msgs + sent, static_cast<unsigned>(nslots_ - sent), 0);
    if (n <= 0) {
      send_errors_.add();
      break;
    }
    sent += n;
  }
  nslots_ = 0;
  last_send_ns_ = steady_ns();
}

void MoldUdpReplayer::send_control(uint16_t count) {
  uint8_t h[mold::kHeaderSize];
  mold::encode_header(h, mold::Header{session_, next_seq_, count});
  queue_packet(h, sizeof h, nullptr);
  flush();
  heartbeats_.add();
}

void MoldUdpReplayer::serve_requests() {
  uint8_t buf[256];
  mold::PacketBuilder rb(session_, cfg_.max_packet);
  for (int k = 0; k < 64; ++k) {
    sockaddr_in from{};
    socklen_t fl = sizeof from;
    const ssize_t n =
        ::recvfrom(req_fd_, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n <= 0) break;
    mold::Header h;
    if (!mold::decode_header(buf, static_cast<size_t>(n), h) || h.session != session_) continue;
    requests_.add();
    const uint64_t end = std::min(h.seq + h.count, next_seq_);
    rb.start(h.seq);
    for (uint64_t s = h.seq; s < end; ++s) {
      const uint8_t* m;
      uint16_t len;
      if (!history_.get(s, m, len)) {
        if (rb.count() > 0) queue_packet(rb.data(), rb.size(), &from);
        rb.start(s + 1);  // out of the window: the receiver gives up on it after its retries
        continue;
      }
      if (!rb.add(m, len)) {
        queue_packet(rb.data(), rb.size(), &from);
        rb.start(s);
        rb.add(m, len);
      }
      retransmitted_.add();
    }
    if (rb.count() > 0) queue_packet(rb.data(), rb.size(), &from);
  }
  flush();
}

void MoldUdpReplayer::run() {
  const int64_t t0 = steady_ns();
  Pacer pacer(cfg_.speed, t0);
  const bool timed = cfg_.speed > 0 || cfg_.max_rate > 0;
  mold::PacketBuilder b(session_, cfg_.max_packet);
  b.start(1);
  uint64_t pkt_index = 0;
  auto emit = [&] {
    ++pkt_index;
    if (cfg_.drop_every != 0 && pkt_index % cfg_.drop_every == 0) {
      dropped_.add();
    } else {
      queue_packet(b.data(), b.size(), nullptr);
      if (cfg_.dup_every != 0 && pkt_index % cfg_.dup_every == 0) {
        queue_packet(b.data(), b.size(), nullptr);
        duplicated_.add();
      }
    }
    packets_.add();
    messages_.add(b.count());
    next_seq_ = b.next_seq();
    if (nslots_ == kBatch) {
      flush();
      serve_requests();
    }
    b.start(next_seq_);
  };
  last_send_ns_ = t0;
  for (size_t i = 0; i < frames_.size() && !stop_.load(std::memory_order_relaxed); ++i) {
    const Frame& f = frames_[i];
    if (timed) {
      int64_t due = pacer.due(f.ts);
      if (cfg_.max_rate > 0)
        due =
            std::max(due, t0 + static_cast<int64_t>(static_cast<double>(i) * 1e9 / cfg_.max_rate));
      int64_t now = steady_ns();
      if (due > now && b.count() > 0) emit();
      if (due > now) flush();
      while (due > now && !stop_.load(std::memory_order_relaxed)) {
        serve_requests();
        if (now - last_send_ns_ >= cfg_.heartbeat_ns) send_control(mold::kHeartbeat);
        if (due - now > 2'000'000) {
          pollfd p{req_fd_, POLLIN, 0};
          ::poll(&p, 1, 1);
        } else if (due - now > 100'000) {
          std::this_thread::yield();
        }
        now = steady_ns();
      }
    }
    if (!b.add(f.msg, f.len)) {
      emit();
      b.add(f.msg, f.len);
    }
    history_.push(i + 1, f.msg, f.len);
  }
  if (b.count() > 0) emit();
  flush();
  send_control(mold::kEndOfSession);
  const int64_t end = steady_ns() + cfg_.linger_ns;
  int64_t now = steady_ns();
  while (!stop_.load(std::memory_order_relaxed) && now < end) {
    serve_requests();
    // End of session repeats like a heartbeat so a receiver that lost it still learns the end.
    if (now - last_send_ns_ >= std::min<int64_t>(cfg_.heartbeat_ns, 200'000'000))
      send_control(mold::kEndOfSession);
    pollfd p{req_fd_, POLLIN, 0};
    ::poll(&p, 1, 2);
    now = steady_ns();
  }
  done_.store(true, std::memory_order_release);
}

std::vector<std::pair<std::string, uint64_t>> MoldUdpReplayer::counters() const {
  return {{"packets", packets_.get()},
          {"messages", messages_.get()},
          {"dropped_packets", dropped_.get()},
          {"duplicated_packets", duplicated_.get()},
          {"retransmitted", retransmitted_.get()},
          {"requests", requests_.get()},
          {"control_packets", heartbeats_.get()},
          {"send_errors", send_errors_.get()}};
}

}  // namespace minihft::live
