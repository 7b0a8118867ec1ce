// ITCH 5.0 decoder. Frames are validated (known type, exact length) before any field is read, so
// a decode never touches bytes outside its frame.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "be.hpp"
#include "minihft/feed/itch.hpp"
#include "minihft/lob/book_builder.hpp"

namespace minihft::feed::itch {

namespace {

constexpr std::array<uint16_t, 256> make_lengths() {
  std::array<uint16_t, 256> t{};
  t['S'] = 12;
  t['R'] = 39;
  t['H'] = 25;
  t['Y'] = 20;
  t['L'] = 26;
  t['V'] = 35;
  t['W'] = 12;
  t['K'] = 28;
  t['J'] = 35;
  t['h'] = 21;
  t['A'] = 36;
  t['F'] = 40;
  t['E'] = 31;
  t['C'] = 36;
  t['X'] = 23;
  t['D'] = 19;
  t['U'] = 35;
  t['P'] = 44;
  t['Q'] = 40;
  t['B'] = 19;
  t['I'] = 50;
  t['N'] = 20;
  t['O'] = 48;
  return t;
}
constexpr std::array<uint16_t, 256> kLengths = make_lengths();

template <class R>
R head(const uint8_t* m, uint64_t seq) {
  R r{};
  r.ts = static_cast<int64_t>(be48(m + 5));
  r.seq = seq;
  r.locate = be16(m + 1);
  r.tracking = be16(m + 3);
  return r;
}

inline void sym(Symbol& s, const uint8_t* p) { std::memcpy(s.data(), p, 8); }

inline MdEvent md(const uint8_t* m, MdEventType type) {
  MdEvent e{};
  e.ts_event = static_cast<int64_t>(be48(m + 5));
  e.symbol_id = be16(m + 1);
  e.type = static_cast<uint8_t>(type);
  return e;
}

inline uint8_t side_of(uint8_t c) {
  return static_cast<uint8_t>(c == 'S' ? Side::Sell : Side::Buy);
}

// One validated reference message (type byte at m[0]); book events are decoded inline in
// decode(), this is the cold path.
[[gnu::noinline]] void decode_one(const uint8_t* m, uint64_t seq, Output& out, Counters& c) {
  switch (m[0]) {
    case 'S': {
      auto r = head<SystemEvent>(m, seq);
      r.event_code = static_cast<char>(m[11]);
      out.system_events.push_back(r);
      return;
    }
    case 'R': {
      auto r = head<StockDirectory>(m, seq);
      sym(r.stock, m + 11);
      r.market_category = static_cast<char>(m[19]);
      r.financial_status = static_cast<char>(m[20]);
      r.round_lot_size = be32(m + 21);
      r.round_lots_only = static_cast<char>(m[25]);
      r.issue_classification = static_cast<char>(m[26]);
      std::memcpy(r.issue_subtype, m + 27, 2);
      r.authenticity = static_cast<char>(m[29]);
      r.short_sale_threshold = static_cast<char>(m[30]);
      r.ipo_flag = static_cast<char>(m[31]);
      r.luld_tier = static_cast<char>(m[32]);
      r.etp_flag = static_cast<char>(m[33]);
      r.etp_leverage_factor = be32(m + 34);
      r.inverse = static_cast<char>(m[38]);
      out.stock_directory.push_back(r);
      return;
    }
    case 'H': {
      auto r = head<TradingAction>(m, seq);
      sym(r.stock, m + 11);
      r.trading_state = static_cast<char>(m[19]);
      r.reserved = static_cast<char>(m[20]);
      std::memcpy(r.reason, m + 21, 4);
      out.trading_actions.push_back(r);
      MdEvent e = md(m, MdEventType::TradingStatus);
      e.flags = trading_status_code(static_cast<char>(m[19]));
      out.events.push_back(e);
      ++c.md_events;
      return;
    }
    case 'Y': {
      auto r = head<RegSho>(m, seq);
      sym(r.stock, m + 11);
      r.action = static_cast<char>(m[19]);
      out.reg_sho.push_back(r);
      return;
    }
    case 'L': {
      auto r = head<ParticipantPosition>(m, seq);
      std::memcpy(r.mpid, m + 11, 4);
      sym(r.stock, m + 15);
      r.primary_market_maker = static_cast<char>(m[23]);
      r.market_maker_mode = static_cast<char>(m[24]);
      r.participant_state = static_cast<char>(m[25]);
      out.participant_positions.push_back(r);
      return;
    }
    case 'V': {
      auto r = head<MwcbDecline>(m, seq);
      r.level1 = be64(m + 11);
      r.level2 = be64(m + 19);
      r.level3 = be64(m + 27);
      out.mwcb_decline.push_back(r);
      return;
    }
    case 'W': {
      auto r = head<MwcbStatus>(m, seq);
      r.breached_level = static_cast<char>(m[11]);
      out.mwcb_status.push_back(r);
      return;
    }
    case 'K': {
      auto r = head<IpoQuoting>(m, seq);
      sym(r.stock, m + 11);
      r.release_time = be32(m + 19);
      r.release_qualifier = static_cast<char>(m[23]);
      r.ipo_price = be32(m + 24);
      out.ipo_quoting.push_back(r);
      return;
    }
    case 'J': {
      auto r = head<LuldCollar>(m, seq);
      sym(r.stock, m + 11);
      r.ref_price = be32(m + 19);
      r.upper_price = be32(m + 23);
      r.lower_price = be32(m + 27);
      r.extension = be32(m + 31);
      out.luld_collars.push_back(r);
      return;
    }
    case 'h': {
      auto r = head<OperationalHalt>(m, seq);
      sym(r.stock, m + 11);
      r.market_code = static_cast<char>(m[19]);
      r.action = static_cast<char>(m[20]);
      out.operational_halts.push_back(r);
      return;
    }
    case 'I': {
      auto r = head<Noii>(m, seq);
      r.paired_shares = be64(m + 11);
      r.imbalance_shares = be64(m + 19);
      r.direction = static_cast<char>(m[27]);
      sym(r.stock, m + 28);
      r.far_price = be32(m + 36);
      r.near_price = be32(m + 40);
      r.ref_price = be32(m + 44);
      r.cross_type = static_cast<char>(m[48]);
      r.price_variation = static_cast<char>(m[49]);
      out.noii.push_back(r);
      return;
    }
    case 'N': {
      auto r = head<Rpii>(m, seq);
      sym(r.stock, m + 11);
      r.interest_flag = static_cast<char>(m[19]);
      out.rpii.push_back(r);
      return;
    }
    case 'O': {
      auto r = head<DlcrPrice>(m, seq);
      sym(r.stock, m + 11);
      r.open_eligibility = static_cast<char>(m[19]);
      r.min_price = be32(m + 20);
      r.max_price = be32(m + 24);
      r.near_price = be32(m + 28);
      r.near_execution_time = be64(m + 32);
      r.lower_collar = be32(m + 40);
      r.upper_collar = be32(m + 44);
      out.dlcr_prices.push_back(r);
      return;
    }
    default:
      return;  // unreachable: the caller checked the type against kLengths
  }
}

}  // namespace

uint16_t message_length(uint8_t type) { return kLengths[type]; }

uint8_t cross_type_code(char t) {
  switch (t) {
    case 'O':
      return 1;
    case 'C':
      return 2;
    case 'H':
      return 3;
    case 'I':
      return 4;
    case 'A':
      return 5;
    default:
      return 0;
  }
}

char cross_type_char(uint8_t code) {
  constexpr char kChars[] = {' ', 'O', 'C', 'H', 'I', 'A', ' ', ' '};
  return kChars[code & 7];
}

uint8_t trading_status_code(char state) {
  switch (state) {
    case 'H':
      return kStatusHalted;
    case 'Q':
      return kStatusQuoting;
    case 'T':
      return kStatusTrading;
    case 'P':
      return kStatusPaused;
    default:
      return 0;
  }
}

char trading_status_char(uint8_t code) {
  constexpr char kChars[] = {' ', 'H', 'Q', 'T', 'P'};
  return code < sizeof(kChars) ? kChars[code] : ' ';
}

const char* to_string(Fault f) {
  switch (f) {
    case Fault::None:
      return "ok";
    case Fault::UnknownType:
      return "unknown message type";
    case Fault::BadLength:
      return "length prefix disagrees with the message type";
    case Fault::Truncated:
      return "truncated message at end of stream";
  }
  return "?";
}

void Output::clear() {
  events.clear();
  system_events.clear();
  stock_directory.clear();
  trading_actions.clear();
  reg_sho.clear();
  participant_positions.clear();
  mwcb_decline.clear();
  mwcb_status.clear();
  ipo_quoting.clear();
  luld_collars.clear();
  operational_halts.clear();
  noii.clear();
  rpii.clear();
  dlcr_prices.clear();
}

namespace {

template <MdEventType T>
using Tag = std::integral_constant<MdEventType, T>;

// The frame loop of decode and decode_apply: each book event goes to emit(Tag<type>, event), the
// tag telling a book sink the event type at compile time.
// Walks the whole, well-formed frames of buf ahead of the decode, for cache hints only: it stops
// (returns nullptr, stays put) at a partial, empty, unknown or mis-sized frame.
struct Lookahead {
  size_t pos = 0;
  const uint8_t* next(const uint8_t* buf, size_t n) {
    if (n - pos < 2) return nullptr;
    const size_t len = be16(buf + pos);
    if (n - pos - 2 < len || len == 0 || kLengths[buf[pos + 2]] != len) return nullptr;
    const uint8_t* m = buf + pos + 2;
    pos += 2 + len;
    return m;
  }
};

template <class Sink>
DecodeResult decode_frames(const uint8_t* buf, size_t n, uint64_t base_offset, OnError mode,
                           Output& out, Counters& c, Sink& emit) {
  size_t pos = 0;
  uint64_t msgs = c.messages;
  uint64_t md = 0;
  // Sinks with kAhead see each frame twice before it is decoded: kFar frames ahead (to request
  // a first line) and kFar - kNear frames later, kNear ahead (to request what that line points
  // to). One walker finds the frames; the kNear most recent wait in a ring for their second hint
  // (a second walker cost ~16 instructions per message).
  constexpr unsigned kFar = 16, kNear = 8, kWait = kFar - kNear;
  static_assert((kWait & (kWait - 1)) == 0);
  Lookahead far;
  const uint8_t* waiting[kWait] = {};
  unsigned seen = 0;  // frames the walker has handed out
  if constexpr (Sink::kAhead) {
    for (unsigned i = 0; i < kFar; ++i) {
      const uint8_t* a = far.next(buf, n);
      if (a == nullptr) break;
      emit.far(a);
      if (i < kWait) {
        emit.near(a);  // the first frames get both hints at once
      } else {
        waiting[seen % kWait] = a;
      }
      ++seen;
    }
    seen = seen > kWait ? seen : kWait;  // ring slots of the frames still to get their near hint
  }
  while (n - pos >= 2) {
    if constexpr (Sink::kAhead) {
      if (far.pos < pos) far.pos = pos;  // it stopped at a frame the decode has since passed
      const uint8_t* a = far.next(buf, n);
      if (a != nullptr) emit.far(a);
      const uint8_t* w = waiting[seen % kWait];
      waiting[seen % kWait] = a;
      ++seen;
      if (w != nullptr) emit.near(w);
    }
    const size_t len = be16(buf + pos);
    if (n - pos - 2 < len) break;  // partial frame: the caller carries it over
    const uint8_t* m = buf + pos + 2;
    if (len == 0) [[unlikely]] {
      ++c.empty_frames;
      pos += 2;
      continue;
    }
    const uint8_t t = m[0];
    const uint16_t want = kLengths[t];
    if (want != len) [[unlikely]] {
      const Fault f = want == 0 ? Fault::UnknownType : Fault::BadLength;
      if (mode == OnError::Stop) {
        c.bytes += pos;
        c.messages = msgs;
        c.md_events += md;
        return {pos, FaultInfo{f, base_offset + pos, static_cast<char>(t),
                               static_cast<uint16_t>(len), want}};
      }
      ++(f == Fault::UnknownType ? c.skipped_unknown : c.skipped_bad_length);
      pos += 2 + len;
      continue;
    }
    // Every frame is at least 12 bytes (S), so the 8-byte load at m + 3 stays inside it.
    const auto ts = static_cast<int64_t>(be64(m + 3) & 0xFFFF'FFFF'FFFFull);
    const uint32_t loc = be16(m + 1);
    switch (t) {
      case 'A':
        emit(Tag<MdEventType::Add>{},
             MdEvent{ts, 0, be64(m + 11), 0, be32(m + 32), be32(m + 20), loc,
                     static_cast<uint8_t>(MdEventType::Add), side_of(m[19]), 0, 0});
        ++md;
        break;
      case 'F':
        emit(Tag<MdEventType::Add>{},
             MdEvent{ts, 0, be64(m + 11), 0, be32(m + 32), be32(m + 20), loc,
                     static_cast<uint8_t>(MdEventType::Add), side_of(m[19]), kFlagAttributed, 0});
        ++md;
        break;
      case 'E':
        emit(Tag<MdEventType::Execute>{},
             MdEvent{ts, 0, be64(m + 11), be64(m + 23), 0, be32(m + 19), loc,
                     static_cast<uint8_t>(MdEventType::Execute), 0, 0, 0});
        ++md;
        break;
      case 'C':
        emit(Tag<MdEventType::ExecuteAtPrice>{},
             MdEvent{ts, 0, be64(m + 11), be64(m + 23), be32(m + 32), be32(m + 19), loc,
                     static_cast<uint8_t>(MdEventType::ExecuteAtPrice), 0,
                     static_cast<uint8_t>(m[31] == 'Y' ? kFlagPrintable : 0), 0});
        ++md;
        break;
      case 'X':
        emit(Tag<MdEventType::Cancel>{},
             MdEvent{ts, 0, be64(m + 11), 0, 0, be32(m + 19), loc,
                     static_cast<uint8_t>(MdEventType::Cancel), 0, 0, 0});
        ++md;
        break;
      case 'D':
        emit(Tag<MdEventType::Delete>{},
             MdEvent{ts, 0, be64(m + 11), 0, 0, 0, loc, static_cast<uint8_t>(MdEventType::Delete),
                     0, 0, 0});
        ++md;
        break;
      case 'U':
        emit(Tag<MdEventType::Replace>{},
             MdEvent{ts, 0, be64(m + 11), be64(m + 19), be32(m + 31), be32(m + 27), loc,
                     static_cast<uint8_t>(MdEventType::Replace), 0, 0, 0});
        ++md;
        break;
      case 'P':
        emit(Tag<MdEventType::HiddenTrade>{},
             MdEvent{ts, 0, be64(m + 11), be64(m + 36), be32(m + 32), be32(m + 20), loc,
                     static_cast<uint8_t>(MdEventType::HiddenTrade), side_of(m[19]), 0, 0});
        ++md;
        break;
      case 'Q':
        emit(Tag<MdEventType::HiddenTrade>{},
             MdEvent{ts, 0, 0, be64(m + 31), be32(m + 27), static_cast<int64_t>(be64(m + 11)), loc,
                     static_cast<uint8_t>(MdEventType::HiddenTrade), 0,
                     static_cast<uint8_t>(kFlagCross | (cross_type_code(static_cast<char>(m[39]))
                                                        << kCrossTypeShift)),
                     0});
        ++md;
        break;
      case 'B':
        emit(Tag<MdEventType::HiddenTrade>{},
             MdEvent{ts, 0, 0, be64(m + 11), 0, 0, loc,
                     static_cast<uint8_t>(MdEventType::HiddenTrade), 0, kFlagBroken, 0});
        ++md;
        break;
      default:
        decode_one(m, msgs, out, c);
        break;
    }
    ++msgs;
    ++c.by_type[t & 0x7f];
    pos += 2 + len;
  }
  c.messages = msgs;
  c.md_events += md;
  c.bytes += pos;
  return {pos, FaultInfo{}};
}

// decode's sink: book events into out.events.
struct VectorSink {
  static constexpr bool kAhead = false;
  std::vector<MdEvent>& ev;
  template <class Tag>
  void operator()(Tag, const MdEvent& e) {
    ev.push_back(e);
  }
  void far(const uint8_t*) {}
  void near(const uint8_t*) {}
};

// decode_apply's sink: book events straight into the BookBuilder, their type known at compile
// time. With Ahead, every frame 16 ahead gets its book and order table line requested, 8 ahead
// the touch of its book and its order (BookBuilder::hint_far/hint_near): that pays when books and
// orders are beyond the caches and costs more than it saves when they are not (see decode_apply).
template <bool Ahead>
struct BookSink {
  static constexpr bool kAhead = Ahead;
  BookBuilder& books;
  template <class Tag>
  void operator()(Tag, const MdEvent& e) {
    books.apply_as<Tag::value>(e);
  }
  // The locate is at m + 1 in every frame, the order reference at m + 11 in every book event
  // (A F E C X D U P); other frames give the hints whatever bytes are there. Only S and W are
  // shorter than the 19 bytes that reads.
  static OrderId ref_of(const uint8_t* m) { return kLengths[m[0]] >= 19 ? be64(m + 11) : 0; }
  void far(const uint8_t* m) { books.hint_far(be16(m + 1), ref_of(m)); }
  void near(const uint8_t* m) { books.hint_near(be16(m + 1), ref_of(m)); }
};

}  // namespace

DecodeResult decode(const uint8_t* buf, size_t n, uint64_t base_offset, OnError mode, Output& out,
                    Counters& c) {
  // The smallest book-event frame is 21 bytes (D, B), so this bounds the events of the slice:
  // push_back never reallocates inside the loop.
  std::vector<MdEvent>& ev = out.events;
  ev.reserve(ev.size() + n / 21 + 1);
  VectorSink sink{ev};
  return decode_frames(buf, n, base_offset, mode, out, c, sink);
}

DecodeResult decode_apply(const uint8_t* buf, size_t n, uint64_t base_offset, OnError mode,
                          Output& out, Counters& c, BookBuilder& books, size_t lookahead_from) {
  if (books.shared_live_orders() >= lookahead_from && books.hints_find_orders()) {
    BookSink<true> sink{books};
    return decode_frames(buf, n, base_offset, mode, out, c, sink);
  }
  BookSink<false> sink{books};
  return decode_frames(buf, n, base_offset, mode, out, c, sink);
}

FaultInfo StreamParser::feed(const uint8_t* data, size_t n) {
  if (fault_) return fault_;
  if (!carry_.empty()) {
    // Complete the frame split by the previous chunk edge, then continue in place.
    const size_t need_prefix = carry_.size() < 2 ? 2 - carry_.size() : 0;
    const size_t take_prefix = std::min(need_prefix, n);
    carry_.insert(carry_.end(), data, data + take_prefix);
    data += take_prefix;
    n -= take_prefix;
    if (carry_.size() < 2) return {};
    const size_t frame = 2 + static_cast<size_t>(be16(carry_.data()));
    const size_t take = std::min(frame - carry_.size(), n);
    carry_.insert(carry_.end(), data, data + take);
    data += take;
    n -= take;
    if (carry_.size() < frame) return {};
    const DecodeResult r =
        decode(carry_.data(), carry_.size(), counters_.bytes, mode_, out_, counters_);
    if (r.fault) {
      fault_ = r.fault;
      return fault_;
    }
    carry_.clear();
  }
  const DecodeResult r = decode(data, n, counters_.bytes, mode_, out_, counters_);
  if (r.fault) {
    fault_ = r.fault;
    return fault_;
  }
  carry_.assign(data + r.consumed, data + n);
  return {};
}

FaultInfo StreamParser::finish() {
  if (fault_ || carry_.empty()) return fault_;
  FaultInfo f{Fault::Truncated, counters_.bytes, 0, 0, 0};
  if (carry_.size() >= 2) f.length = be16(carry_.data());
  if (carry_.size() >= 3) {
    f.type = static_cast<char>(carry_[2]);
    f.expected = kLengths[carry_[2]];
  }
  ++counters_.truncated_frames;
  counters_.truncated_bytes += carry_.size();
  carry_.clear();
  if (mode_ == OnError::Skip) return {};
  fault_ = f;
  return f;
}

}  // namespace minihft::feed::itch
