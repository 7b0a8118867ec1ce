#include "minihft/live/net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace minihft::live::net {

namespace {
std::string sys_err(const std::string& what, const std::string& host, uint16_t port) {
  return what + " " + host + ":" + std::to_string(port) + ": " + std::strerror(errno);
}
}  // namespace

bool resolve(const std::string& host, uint16_t port, sockaddr_in& out, std::string& err) {
  std::memset(&out, 0, sizeof out);
  out.sin_family = AF_INET;
  out.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &out.sin_addr) != 1) {
    err = "not an IPv4 address: '" + host + "'";
    return false;
  }
  return true;
}

int udp_socket(std::string& err) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) err = std::string("socket(UDP): ") + std::strerror(errno);
  return fd;
}

int bind_udp(const std::string& host, uint16_t port, std::string& err) {
  sockaddr_in a;
  if (!resolve(host, port, a, err)) return -1;
  const int fd = udp_socket(err);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    err = sys_err("bind(UDP)", host, port);
    ::close(fd);
    return -1;
  }
  return fd;
}

bool join_group(int fd, const std::string& group, const std::string& iface, std::string& err) {
  ip_mreq m{};
  if (inet_pton(AF_INET, group.c_str(), &m.imr_multiaddr) != 1 ||
      inet_pton(AF_INET, iface.c_str(), &m.imr_interface) != 1) {
    err = "bad multicast group or interface: " + group + " on " + iface;
    return false;
  }
  if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0) {
    err = "IP_ADD_MEMBERSHIP " + group + " on " + iface + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

bool multicast_sender(int fd, const std::string& iface, std::string& err) {
  in_addr a{};
  if (inet_pton(AF_INET, iface.c_str(), &a) != 1) {
    err = "bad multicast interface: " + iface;
    return false;
  }
  const unsigned char loop = 1,
                      ttl = 0;  // ttl 0: never leaves the host, loop: local members see it
  if (::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &a, sizeof a) != 0 ||
      ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0 ||
      ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0) {
    err = "multicast sender options on " + iface + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

void set_buffers(int fd, int rcvbuf, int sndbuf) {
  if (rcvbuf > 0 && ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (sndbuf > 0 && ::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
}

int tcp_listen(const std::string& host, uint16_t port, std::string& err) {
  sockaddr_in a;
  if (!resolve(host, port, a, err)) return -1;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = std::string("socket(TCP): ") + std::strerror(errno);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0) {
    err = sys_err("bind/listen(TCP)", host, port);
    ::close(fd);
    return -1;
  }
  set_nonblocking(fd);
  return fd;
}

int tcp_connect(const std::string& host, uint16_t port, int timeout_ms, std::string& err) {
  sockaddr_in a;
  if (!resolve(host, port, a, err)) return -1;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = std::string("socket(TCP): ") + std::strerror(errno);
    return -1;
  }
  set_nonblocking(fd);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    rc = ::poll(&p, 1, timeout_ms) == 1 ? 0 : -1;
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (rc == 0 && (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0)) {
      errno = soerr;
      rc = -1;
    }
  }
  if (rc != 0) {
    err = sys_err("connect", host, port);
    ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

uint16_t local_port(int fd) {
  sockaddr_in a{};
  socklen_t l = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l) != 0) return 0;
  return ntohs(a.sin_port);
}

bool set_nonblocking(int fd) {
  const int fl = ::fcntl(fd, F_GETFL, 0);
  return fl >= 0 && ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

bool send_all(int fd, const uint8_t* p, size_t len, int timeout_ms) {
  int waited = 0;
  while (len > 0) {
    const ssize_t n = ::send(fd, p, len, MSG_NOSIGNAL);
    if (n > 0) {
      p += n;
      len -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (waited >= timeout_ms) return false;
      pollfd pf{fd, POLLOUT, 0};
      ::poll(&pf, 1, 10);
      waited += 10;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
  return true;
}

}  // namespace minihft::live::net
