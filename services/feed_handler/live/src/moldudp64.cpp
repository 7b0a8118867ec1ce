#include "minihft/live/moldudp64.hpp"

#include <algorithm>
#include <cstring>

namespace minihft::live::mold {

Session make_session(const char* name) {
  Session s;
  s.fill(' ');
  for (size_t i = 0; i < s.size() && name[i] != '\0'; ++i) s[i] = name[i];
  return s;
}

void encode_header(uint8_t* out, const Header& h) {
  std::memcpy(out, h.session.data(), 10);
  for (int i = 0; i < 8; ++i) out[10 + i] = static_cast<uint8_t>(h.seq >> (56 - 8 * i));
  out[18] = static_cast<uint8_t>(h.count >> 8);
  out[19] = static_cast<uint8_t>(h.count);
}

bool decode_header(const uint8_t* p, size_t len, Header& h) {
  if (len < kHeaderSize) return false;
  std::memcpy(h.session.data(), p, 10);
  h.seq = 0;
  for (int i = 0; i < 8; ++i) h.seq = (h.seq << 8) | p[10 + i];
  h.count = static_cast<uint16_t>((p[18] << 8) | p[19]);
  return true;
}

PacketBuilder::PacketBuilder(const Session& session, size_t max_packet)
    : session_(session), buf_(std::max(max_packet, kHeaderSize + 2)) {
  start(1);
}

void PacketBuilder::start(uint64_t first_seq) {
  seq_ = first_seq;
  count_ = 0;
  len_ = kHeaderSize;
}

bool PacketBuilder::add(const uint8_t* msg, uint16_t len) {
  if (len_ + 2 + len > buf_.size() || count_ == kEndOfSession - 1) return false;
  buf_[len_] = static_cast<uint8_t>(len >> 8);
  buf_[len_ + 1] = static_cast<uint8_t>(len);
  std::memcpy(&buf_[len_ + 2], msg, len);
  len_ += 2 + size_t{len};
  ++count_;
  return true;
}

const uint8_t* PacketBuilder::data() {
  encode_header(buf_.data(), Header{session_, seq_, count_});
  return buf_.data();
}

Sequencer::Sequencer(Sink& sink, RecvCounters& c, SequencerConfig cfg)
    : sink_(sink), c_(c), cfg_(cfg), expected_(cfg.first_seq), high_(cfg.first_seq) {}

void Sequencer::event(EventKind k, uint64_t seq, uint64_t count, uint32_t aux) {
  sink_.on_event(LiveEvent{static_cast<uint32_t>(k), aux, seq, count, 0});
}

void Sequencer::on_packet(const uint8_t* p, size_t len, int64_t now,
                          std::vector<Request>& requests) {
  Header h;
  if (!decode_header(p, len, h)) {
    c_.malformed.add();
    event(EventKind::ProtocolError, expected_, len, 0);
    return;
  }
  if (!have_session_) {
    session_ = h.session;
    have_session_ = true;
  } else if (h.session != session_) {
    c_.session_mismatch.add();
    return;
  }
  // Validate the whole packet first so a truncated one is dropped rather than half applied.
  size_t bad = 0;
  if (!for_each_message(p, len, h, [](uint64_t, const uint8_t*, uint16_t) {}, &bad)) {
    c_.malformed.add();
    event(EventKind::ProtocolError, h.seq, bad, 1);
    return;
  }
  c_.packets.add();
  if (h.count == kHeartbeat || h.count == kEndOfSession) {
    if (h.count == kHeartbeat) {
      c_.heartbeats.add();
    } else {
      ended_ = true;
      end_seq_ = std::max(end_seq_, h.seq);
    }
    see_next(h.seq);
  } else {
    for_each_message(
        p, len, h, [this](uint64_t s, const uint8_t* m, uint16_t n) { accept(s, m, n); }, nullptr);
  }
  maybe_request(now, requests);
  if (ended_ && !end_reported_ && expected_ >= end_seq_ && gaps_.empty()) {
    end_reported_ = true;
    c_.ended.set(1);
    event(EventKind::SessionEnd, expected_, 0);
  }
}

void Sequencer::poll(int64_t now, std::vector<Request>& requests) {
  maybe_request(now, requests);
  if (ended_ && !end_reported_ && expected_ >= end_seq_ && gaps_.empty()) {
    end_reported_ = true;
    c_.ended.set(1);
    event(EventKind::SessionEnd, expected_, 0);
  }
}

void Sequencer::see_next(uint64_t next_seq) {
  if (next_seq <= high_) return;
  gaps_.push_back(Gap{high_, next_seq, false});
  c_.gaps.add();
  c_.missing.add(next_seq - high_);
  event(EventKind::GapDetected, high_, next_seq - high_);
  high_ = next_seq;
}

void Sequencer::deliver(uint64_t seq, const uint8_t* msg, uint16_t len) {
  if (!gaps_.empty() && seq >= gaps_.front().first) c_.retransmitted.add();
  sink_.on_message(seq, msg, len);
  c_.messages.add();
  expected_ = seq + 1;
  settle_gaps();
}

void Sequencer::accept(uint64_t seq, const uint8_t* msg, uint16_t len) {
  if (seq < expected_) {
    c_.duplicates.add();
    return;
  }
  if (seq == expected_) {
    if (seq >= high_) high_ = seq + 1;
    deliver(seq, msg, len);
    if (!pending_.empty()) deliver_pending();
    return;
  }
  if (seq >= high_) {
    see_next(seq);
    high_ = seq + 1;
  }
  auto [it, inserted] = pending_.try_emplace(seq);
  if (!inserted) {
    c_.duplicates.add();
    return;
  }
  it->second.assign(msg, msg + len);
  if (pending_.size() > cfg_.max_pending) abandon_front();
}

void Sequencer::deliver_pending() {
  while (!pending_.empty() && pending_.begin()->first <= expected_) {
    auto node = pending_.extract(pending_.begin());
    if (node.key() == expected_)
      deliver(node.key(), node.mapped().data(), static_cast<uint16_t>(node.mapped().size()));
  }
}

void Sequencer::settle_gaps() {
  while (!gaps_.empty() && gaps_.front().end <= expected_) {
    const Gap g = gaps_.front();
    gaps_.pop_front();
    if (!g.lossy) event(EventKind::GapRecovered, g.first, g.end - g.first);
  }
}

void Sequencer::maybe_request(int64_t now, std::vector<Request>& requests) {
  if (gaps_.empty()) return;
  const uint64_t first = expected_;
  const uint64_t hole_end = pending_.empty() ? high_ : std::min(high_, pending_.begin()->first);
  const bool covered = first >= last_req_seq_ && first < last_req_end_;
  if (covered && now - last_req_ns_ < cfg_.request_timeout_ns) return;
  if (covered && first == last_req_seq_) {
    if (++req_tries_ > cfg_.max_requests) {
      abandon_front();
      return;
    }
  } else {
    req_tries_ = 1;
  }
  const auto count =
      static_cast<uint16_t>(std::min<uint64_t>(hole_end - first, cfg_.max_request_count));
  requests.push_back(Request{first, count});
  c_.requests.add();
  last_req_seq_ = first;
  last_req_end_ = first + count;
  last_req_ns_ = now;
}

void Sequencer::abandon_front() {
  if (gaps_.empty()) return;
  const uint64_t hole_end = pending_.empty() ? high_ : std::min(high_, pending_.begin()->first);
  for (Gap& g : gaps_)
    if (g.first < hole_end && g.end > expected_) g.lossy = true;
  event(EventKind::GapAbandoned, expected_, hole_end - expected_);
  c_.abandoned.add(hole_end - expected_);
  expected_ = hole_end;
  req_tries_ = 0;
  settle_gaps();
  deliver_pending();
}

void History::push(uint64_t seq, const uint8_t* msg, uint16_t len) {
  if (items_.empty()) first_ = seq;
  items_.push_back(Item{msg, len});
  if (items_.size() > cap_) {
    items_.pop_front();
    ++first_;
  }
}

bool History::get(uint64_t seq, const uint8_t*& msg, uint16_t& len) const {
  if (seq < first_ || seq >= end_seq()) return false;
  const Item& it = items_[static_cast<size_t>(seq - first_)];
  msg = it.p;
  len = it.len;
  return true;
}

}  // namespace minihft::live::mold
