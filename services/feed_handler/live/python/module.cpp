// minihft._live: live ITCH receivers and replay senders for Python. Each object runs its socket
// loop on its own C++ thread; Python only starts, drains (one call per batch) and stops.
#include <nanobind/nanobind.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <stdexcept>

#include "minihft/live/mold_udp.hpp"
#include "minihft/live/soup_tcp.hpp"

namespace nb = nanobind;
using namespace nb::literals;
using minihft::live::LiveEvent;

namespace {

using Counters = std::vector<std::pair<std::string, uint64_t>>;

std::vector<uint8_t> to_vec(const nb::bytes& b) {
  const auto* p = static_cast<const uint8_t*>(b.data());
  return std::vector<uint8_t>(p, p + b.size());
}

void check(const std::string& err) {
  if (!err.empty()) throw std::runtime_error(err);
}

// (framed messages, events as packed LiveEvent records, message count)
template <typename R>
nb::tuple drain(R& r, size_t max_bytes) {
  std::string msgs;
  std::vector<LiveEvent> evs;
  const size_t n = r.drain(max_bytes, msgs, evs);
  return nb::make_tuple(
      nb::bytes(msgs.data(), msgs.size()),
      nb::bytes(reinterpret_cast<const char*>(evs.data()), evs.size() * sizeof(LiveEvent)), n);
}

constexpr int64_t kMs = 1'000'000;

}  // namespace

NB_MODULE(_live, m) {
  m.doc() = "minihft live ITCH sources: MoldUDP64/UDP and SoupBinTCP/TCP receivers and replayers";
  m.attr("EVENT_SIZE") = sizeof(LiveEvent);
  using minihft::live::MoldUdpReceiver;
  using minihft::live::MoldUdpReplayer;
  using minihft::live::SoupTcpClient;
  using minihft::live::SoupTcpServer;

  nb::class_<MoldUdpReceiver>(m, "MoldReceiver")
      .def(
          "__init__",
          [](MoldUdpReceiver* self, uint16_t port, const std::string& host,
             const std::string& group, const std::string& rerequest_host, uint16_t rerequest_port,
             size_t ring_bytes, int rcvbuf, uint64_t first_seq, int64_t request_timeout_ms,
             uint32_t max_requests) {
            minihft::live::MoldReceiverConfig c;
            c.port = port;
            c.host = host;
            c.group = group;
            c.rerequest_host = rerequest_host;
            c.rerequest_port = rerequest_port;
            c.ring_bytes = ring_bytes;
            c.rcvbuf = rcvbuf;
            c.seq.first_seq = first_seq;
            c.seq.request_timeout_ns = request_timeout_ms * kMs;
            c.seq.max_requests = max_requests;
            new (self) MoldUdpReceiver(c);
          },
          "port"_a = 0, "host"_a = "127.0.0.1", "group"_a = "", "rerequest_host"_a = "127.0.0.1",
          "rerequest_port"_a = 0, "ring_bytes"_a = size_t{1} << 24, "rcvbuf"_a = 8 << 20,
          "first_seq"_a = 1, "request_timeout_ms"_a = 50, "max_requests"_a = 100)
      .def("open", [](MoldUdpReceiver& r) { check(r.open()); })
      .def("set_rerequest", &MoldUdpReceiver::set_rerequest, "host"_a, "port"_a)
      .def("start", [](MoldUdpReceiver& r) { check(r.start()); })
      .def("stop", &MoldUdpReceiver::stop, nb::call_guard<nb::gil_scoped_release>())
      .def_prop_ro("port", &MoldUdpReceiver::port)
      .def_prop_ro("finished", &MoldUdpReceiver::finished)
      .def("drain", &drain<MoldUdpReceiver>, "max_bytes"_a = 1 << 20,
           nb::sig("def drain(self, max_bytes: int = 1048576) -> tuple[bytes, bytes, int]"))
      .def("counters", &MoldUdpReceiver::counters);

  nb::class_<MoldUdpReplayer>(m, "MoldReplayer")
      .def(
          "__init__",
          [](MoldUdpReplayer* self, const nb::bytes& data, uint16_t port, const std::string& host,
             const std::string& group, const std::string& session, double speed,
             uint16_t rerequest_port, size_t history, size_t max_packet, uint32_t drop_every,
             uint32_t dup_every, int64_t heartbeat_ms, int64_t linger_ms, double max_rate) {
            minihft::live::MoldReplayConfig c;
            c.port = port;
            c.host = host;
            c.group = group;
            c.session = session;
            c.speed = speed;
            c.rerequest_port = rerequest_port;
            c.history = history;
            c.max_packet = max_packet;
            c.drop_every = drop_every;
            c.dup_every = dup_every;
            c.heartbeat_ns = heartbeat_ms * kMs;
            c.linger_ns = linger_ms * kMs;
            c.max_rate = max_rate;
            new (self) MoldUdpReplayer(to_vec(data), c);
          },
          "data"_a, "port"_a, "host"_a = "127.0.0.1", "group"_a = "", "session"_a = "MINIHFT",
          "speed"_a = 0.0, "rerequest_port"_a = 0, "history"_a = size_t{1} << 20,
          "max_packet"_a = 1400, "drop_every"_a = 0, "dup_every"_a = 0, "heartbeat_ms"_a = 1000,
          "linger_ms"_a = 2000, "max_rate"_a = 0.0)
      .def("open", [](MoldUdpReplayer& r) { check(r.open()); })
      .def("start", [](MoldUdpReplayer& r) { check(r.start()); })
      .def("stop", &MoldUdpReplayer::stop, nb::call_guard<nb::gil_scoped_release>())
      .def_prop_ro("done", &MoldUdpReplayer::done)
      .def_prop_ro("rerequest_port", &MoldUdpReplayer::rerequest_port)
      .def_prop_ro("message_count", &MoldUdpReplayer::message_count)
      .def("counters", &MoldUdpReplayer::counters);

  nb::class_<SoupTcpClient>(m, "SoupClient")
      .def(
          "__init__",
          [](SoupTcpClient* self, uint16_t port, const std::string& host, const std::string& user,
             const std::string& password, const std::string& session, uint64_t first_seq,
             bool reconnect, uint32_t max_reconnects, int64_t reconnect_delay_ms,
             int64_t heartbeat_ms, int64_t server_timeout_ms, size_t ring_bytes) {
            minihft::live::SoupClientConfig c;
            c.port = port;
            c.host = host;
            c.user = user;
            c.password = password;
            c.session = session;
            c.first_seq = first_seq;
            c.reconnect = reconnect;
            c.max_reconnects = max_reconnects;
            c.reconnect_delay_ns = reconnect_delay_ms * kMs;
            c.heartbeat_ns = heartbeat_ms * kMs;
            c.server_timeout_ns = server_timeout_ms * kMs;
            c.ring_bytes = ring_bytes;
            new (self) SoupTcpClient(c);
          },
          "port"_a, "host"_a = "127.0.0.1", "user"_a = "", "password"_a = "", "session"_a = "",
          "first_seq"_a = 1, "reconnect"_a = true, "max_reconnects"_a = 20,
          "reconnect_delay_ms"_a = 50, "heartbeat_ms"_a = 1000, "server_timeout_ms"_a = 5000,
          "ring_bytes"_a = size_t{1} << 24)
      .def("start", [](SoupTcpClient& r) { check(r.start()); })
      .def("stop", &SoupTcpClient::stop, nb::call_guard<nb::gil_scoped_release>())
      .def_prop_ro("finished", &SoupTcpClient::finished)
      .def("drain", &drain<SoupTcpClient>, "max_bytes"_a = 1 << 20,
           nb::sig("def drain(self, max_bytes: int = 1048576) -> tuple[bytes, bytes, int]"))
      .def("counters", &SoupTcpClient::counters);

  nb::class_<SoupTcpServer>(m, "SoupServer")
      .def(
          "__init__",
          [](SoupTcpServer* self, const nb::bytes& data, uint16_t port, const std::string& host,
             const std::string& user, const std::string& password, const std::string& session,
             double speed, int64_t heartbeat_ms, bool end_of_session, uint64_t disconnect_after,
             uint64_t cut_after, uint64_t pause_after, int64_t pause_ms) {
            minihft::live::SoupServerConfig c;
            c.port = port;
            c.host = host;
            c.user = user;
            c.password = password;
            c.session = session;
            c.speed = speed;
            c.heartbeat_ns = heartbeat_ms * kMs;
            c.end_of_session = end_of_session;
            c.disconnect_after = disconnect_after;
            c.cut_after = cut_after;
            c.pause_after = pause_after;
            c.pause_ns = pause_ms * kMs;
            new (self) SoupTcpServer(to_vec(data), c);
          },
          "data"_a, "port"_a = 0, "host"_a = "127.0.0.1", "user"_a = "", "password"_a = "",
          "session"_a = "MINIHFT", "speed"_a = 0.0, "heartbeat_ms"_a = 1000,
          "end_of_session"_a = true, "disconnect_after"_a = 0, "cut_after"_a = 0,
          "pause_after"_a = 0, "pause_ms"_a = 0)
      .def("start", [](SoupTcpServer& r) { check(r.start()); })
      .def("stop", &SoupTcpServer::stop, nb::call_guard<nb::gil_scoped_release>())
      .def_prop_ro("port", &SoupTcpServer::port)
      .def_prop_ro("message_count", &SoupTcpServer::message_count)
      .def("counters", &SoupTcpServer::counters);
}
