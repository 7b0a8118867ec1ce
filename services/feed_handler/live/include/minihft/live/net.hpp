// Thin POSIX socket helpers for the live adapters (IPv4 only; tests stay on 127.0.0.1).
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>

namespace minihft::live::net {

// All return -1 and fill err on failure, naming the call and address.
bool resolve(const std::string& host, uint16_t port, sockaddr_in& out, std::string& err);
int udp_socket(std::string& err);
int bind_udp(const std::string& host, uint16_t port, std::string& err);
// Joins group on the interface whose address is iface (127.0.0.1 for loopback multicast).
bool join_group(int fd, const std::string& group, const std::string& iface, std::string& err);
bool multicast_sender(int fd, const std::string& iface, std::string& err);
void set_buffers(int fd, int rcvbuf, int sndbuf);  // best effort; FORCE first, then plain
int tcp_listen(const std::string& host, uint16_t port, std::string& err);
int tcp_connect(const std::string& host, uint16_t port, int timeout_ms, std::string& err);
uint16_t local_port(int fd);
bool set_nonblocking(int fd);
// Writes all of len bytes (poll on EAGAIN, at most timeout_ms in total); false on error.
bool send_all(int fd, const uint8_t* p, size_t len, int timeout_ms);

}  // namespace minihft::live::net
