// SoupBinTCP 3.0: stream framing, packet encoders, and the client session state machine. No I/O.
//
// Packet: u16 BE length (of what follows) | type | payload. Server to client: '+' debug,
// 'A' login accepted (session 10, sequence number 20 ASCII), 'J' login rejected (reason),
// 'S' sequenced data, 'H' server heartbeat, 'Z' end of session. Client to server: 'L' login
// request (username 6, password 10, session 10, sequence number 20 ASCII), 'U' unsequenced
// data, 'R' client heartbeat, 'O' logout request. Sequenced data carries no number: the first
// 'S' after 'A' has the number the server accepted with, each next one is one more.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "minihft/live/events.hpp"

namespace minihft::live::soup {

constexpr size_t kLoginRequestPayload = 6 + 10 + 10 + 20;
constexpr size_t kLoginAcceptedPayload = 10 + 20;

// Appends one packet (length, type, payload) to out.
void append_packet(std::vector<uint8_t>& out, char type, const uint8_t* payload, size_t len);
void append_login_request(std::vector<uint8_t>& out, const std::string& user,
                          const std::string& password, const std::string& session, uint64_t seq);
void append_login_accepted(std::vector<uint8_t>& out, const std::string& session, uint64_t seq);
void append_login_rejected(std::vector<uint8_t>& out, char reason);

struct LoginRequest {
  std::string user, password, session;  // trimmed of padding
  uint64_t seq = 0;
};
// False when the payload has the wrong size or the sequence number is not numeric.
bool parse_login_request(const uint8_t* p, size_t len, LoginRequest& out);
bool parse_login_accepted(const uint8_t* p, size_t len, std::string& session, uint64_t& seq);

// Reassembles packets from a byte stream that arrives in arbitrary pieces.
class Framer {
 public:
  void feed(const uint8_t* p, size_t len);
  // Next whole packet, or false. A zero length field is a protocol error (error() turns true).
  bool next(char& type, const uint8_t*& payload, size_t& len);
  size_t partial_bytes() const { return buf_.size() - off_; }  // of an incomplete packet
  bool error() const { return error_; }
  void reset();

 private:
  std::vector<uint8_t> buf_;
  size_t off_ = 0;
  bool error_ = false;
};

struct ClientCounters {
  Counter messages, server_heartbeats, client_heartbeats, logins, rejects, disconnects,
      mid_message_disconnects, protocol_errors, ended;
};

enum class ClientState { Disconnected, LoginSent, LoggedIn, Rejected, Ended };

// Client session across connections: the next expected sequence number survives reconnects so
// a new login asks for exactly what was not yet delivered.
class ClientSession {
 public:
  ClientSession(Sink& sink, ClientCounters& c, std::string user, std::string password,
                std::string session, uint64_t first_seq, int64_t heartbeat_ns = 1'000'000'000,
                int64_t server_timeout_ns = 5'000'000'000);

  // A connection is up: bytes to send (the login request) are appended to out.
  void on_connect(int64_t now, std::vector<uint8_t>& out);
  // Bytes from the server; replies (none today) would go to out. Returns false on a protocol
  // error, after which the adapter drops the connection.
  bool on_bytes(const uint8_t* p, size_t len, int64_t now, std::vector<uint8_t>& out);
  // Timers: appends a client heartbeat when one is due; false when the server went silent.
  bool poll(int64_t now, std::vector<uint8_t>& out);
  // The connection is gone (EOF or error). Reports whether it cut a packet in half.
  void on_disconnect();
  void logout(std::vector<uint8_t>& out);

  ClientState state() const { return state_; }
  uint64_t next_expected() const { return next_seq_; }
  const std::string& session() const { return session_; }

 private:
  void handle(char type, const uint8_t* p, size_t len);
  void event(EventKind k, uint64_t seq, uint64_t count, uint32_t aux = 0);

  Sink& sink_;
  ClientCounters& c_;
  std::string user_, password_, session_;
  uint64_t next_seq_;
  int64_t heartbeat_ns_, server_timeout_ns_;
  int64_t last_sent_ = 0, last_recv_ = 0;
  ClientState state_ = ClientState::Disconnected;
  Framer framer_;
};

}  // namespace minihft::live::soup
