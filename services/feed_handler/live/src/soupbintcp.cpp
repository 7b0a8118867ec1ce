#include "minihft/live/soupbintcp.hpp"

#include <algorithm>
#include <cstring>

namespace minihft::live::soup {

namespace {

void put_padded(std::vector<uint8_t>& out, const std::string& s, size_t width, bool left_pad) {
  const size_t n = std::min(s.size(), width);
  if (left_pad) out.insert(out.end(), width - n, ' ');
  out.insert(out.end(), s.begin(), s.begin() + static_cast<std::ptrdiff_t>(n));
  if (!left_pad) out.insert(out.end(), width - n, ' ');
}

std::string trimmed(const uint8_t* p, size_t len) {
  size_t a = 0, b = len;
  while (a < b && p[a] == ' ') ++a;
  while (b > a && p[b - 1] == ' ') --b;
  return std::string(reinterpret_cast<const char*>(p + a), b - a);
}

// Numeric field, space padded on either side; all blank means 0.
bool parse_number(const uint8_t* p, size_t len, uint64_t& out) {
  const std::string s = trimmed(p, len);
  out = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
    out = out * 10 + static_cast<uint64_t>(ch - '0');
  }
  return true;
}

void begin_packet(std::vector<uint8_t>& out, char type, size_t payload_len) {
  const size_t n = payload_len + 1;
  out.push_back(static_cast<uint8_t>(n >> 8));
  out.push_back(static_cast<uint8_t>(n));
  out.push_back(static_cast<uint8_t>(type));
}

}  // namespace

void append_packet(std::vector<uint8_t>& out, char type, const uint8_t* payload, size_t len) {
  begin_packet(out, type, len);
  out.insert(out.end(), payload, payload + len);
}

void append_login_request(std::vector<uint8_t>& out, const std::string& user,
                          const std::string& password, const std::string& session, uint64_t seq) {
  begin_packet(out, 'L', kLoginRequestPayload);
  put_padded(out, user, 6, false);
  put_padded(out, password, 10, false);
  put_padded(out, session, 10, true);
  put_padded(out, std::to_string(seq), 20, true);
}

void append_login_accepted(std::vector<uint8_t>& out, const std::string& session, uint64_t seq) {
  begin_packet(out, 'A', kLoginAcceptedPayload);
  put_padded(out, session, 10, true);
  put_padded(out, std::to_string(seq), 20, true);
}

void append_login_rejected(std::vector<uint8_t>& out, char reason) {
  const auto r = static_cast<uint8_t>(reason);
  append_packet(out, 'J', &r, 1);
}

bool parse_login_request(const uint8_t* p, size_t len, LoginRequest& out) {
  if (len != kLoginRequestPayload) return false;
  out.user = trimmed(p, 6);
  out.password = trimmed(p + 6, 10);
  out.session = trimmed(p + 16, 10);
  return parse_number(p + 26, 20, out.seq);
}

bool parse_login_accepted(const uint8_t* p, size_t len, std::string& session, uint64_t& seq) {
  if (len != kLoginAcceptedPayload) return false;
  session = trimmed(p, 10);
  return parse_number(p + 10, 20, seq);
}

void Framer::feed(const uint8_t* p, size_t len) {
  if (off_ > 0 && off_ == buf_.size()) {
    buf_.clear();
    off_ = 0;
  } else if (off_ > 65536) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(off_));
    off_ = 0;
  }
  buf_.insert(buf_.end(), p, p + len);
}

bool Framer::next(char& type, const uint8_t*& payload, size_t& len) {
  if (error_ || buf_.size() - off_ < 2) return false;
  const size_t n = (size_t{buf_[off_]} << 8) | buf_[off_ + 1];
  if (n == 0) {
    error_ = true;
    return false;
  }
  if (buf_.size() - off_ < 2 + n) return false;
  type = static_cast<char>(buf_[off_ + 2]);
  payload = buf_.data() + off_ + 3;
  len = n - 1;
  off_ += 2 + n;
  return true;
}

void Framer::reset() {
  buf_.clear();
  off_ = 0;
  error_ = false;
}

ClientSession::ClientSession(Sink& sink, ClientCounters& c, std::string user, std::string password,
                             std::string session, uint64_t first_seq, int64_t heartbeat_ns,
                             int64_t server_timeout_ns)
    : sink_(sink),
      c_(c),
      user_(std::move(user)),
      password_(std::move(password)),
      session_(std::move(session)),
      next_seq_(first_seq),
      heartbeat_ns_(heartbeat_ns),
      server_timeout_ns_(server_timeout_ns) {}

void ClientSession::event(EventKind k, uint64_t seq, uint64_t count, uint32_t aux) {
  sink_.on_event(LiveEvent{static_cast<uint32_t>(k), aux, seq, count, 0});
}

void ClientSession::on_connect(int64_t now, std::vector<uint8_t>& out) {
  framer_.reset();
  append_login_request(out, user_, password_, session_, next_seq_);
  state_ = ClientState::LoginSent;
  last_sent_ = now;
  last_recv_ = now;
}

bool ClientSession::on_bytes(const uint8_t* p, size_t len, int64_t now, std::vector<uint8_t>&) {
  last_recv_ = now;
  framer_.feed(p, len);
  char type;
  const uint8_t* payload;
  size_t n;
  while (framer_.next(type, payload, n)) handle(type, payload, n);
  if (framer_.error()) {
    c_.protocol_errors.add();
    event(EventKind::ProtocolError, next_seq_, 0, 0);
    return false;
  }
  return state_ != ClientState::Rejected;
}

void ClientSession::handle(char type, const uint8_t* p, size_t len) {
  switch (type) {
    case 'S':
      if (state_ != ClientState::LoggedIn) break;
      if (len > 0xFFFF) break;
      sink_.on_message(next_seq_, p, static_cast<uint16_t>(len));
      c_.messages.add();
      ++next_seq_;
      break;
    case 'H':
      c_.server_heartbeats.add();
      break;
    case 'A': {
      std::string session;
      uint64_t seq = 0;
      if (!parse_login_accepted(p, len, session, seq)) {
        c_.protocol_errors.add();
        event(EventKind::ProtocolError, next_seq_, len, 'A');
        break;
      }
      session_ = session;  // a blank request means "current": remember which one we got
      // Servers may answer a request for 0 or past the end with their own number.
      next_seq_ = seq;
      state_ = ClientState::LoggedIn;
      c_.logins.add();
      event(EventKind::LoginAccepted, seq, 0);
      break;
    }
    case 'J':
      state_ = ClientState::Rejected;
      c_.rejects.add();
      event(EventKind::LoginRejected, next_seq_, 0, len > 0 ? p[0] : 0);
      break;
    case 'Z':
      state_ = ClientState::Ended;
      c_.ended.set(1);
      event(EventKind::SessionEnd, next_seq_, 0);
      break;
    default:  // '+' debug and anything newer: ignored, as the spec asks of clients
      break;
  }
}

bool ClientSession::poll(int64_t now, std::vector<uint8_t>& out) {
  if (state_ != ClientState::LoggedIn && state_ != ClientState::LoginSent) return true;
  if (now - last_sent_ >= heartbeat_ns_) {
    append_packet(out, 'R', nullptr, 0);
    c_.client_heartbeats.add();
    last_sent_ = now;
  }
  if (now - last_recv_ >= server_timeout_ns_) {
    event(EventKind::HeartbeatTimeout, next_seq_, 0);
    return false;
  }
  return true;
}

void ClientSession::on_disconnect() {
  const size_t partial = framer_.partial_bytes();
  c_.disconnects.add();
  if (partial > 0) c_.mid_message_disconnects.add();
  // The message being cut off is the next expected one: that is the number the error names.
  event(EventKind::Disconnected, next_seq_, partial, partial > 0 ? 1 : 0);
  framer_.reset();
  if (state_ == ClientState::LoggedIn || state_ == ClientState::LoginSent)
    state_ = ClientState::Disconnected;
}

void ClientSession::logout(std::vector<uint8_t>& out) {
  append_packet(out, 'O', nullptr, 0);
  state_ = ClientState::Ended;
}

}  // namespace minihft::live::soup
