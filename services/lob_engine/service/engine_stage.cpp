#include "engine_stage.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <tuple>

namespace minihft::service {
namespace {

constexpr size_t kBacklogMax = 1 << 16;  // items; past this the engine stops taking input
constexpr size_t kPopBatch = 64;

bool changes_book(uint8_t type) {
  auto t = static_cast<MdEventType>(type);
  return t != MdEventType::HiddenTrade && t != MdEventType::TradingStatus;
}

bool same_levels(const BookUpdate& a, const BookUpdate& b) {
  return a.n_bids == b.n_bids && a.n_asks == b.n_asks &&
         std::memcmp(a.bids, b.bids, sizeof a.bids) == 0 &&
         std::memcmp(a.asks, b.asks, sizeof a.asks) == 0;
}

}  // namespace

EngineStage::EngineStage(const Config& cfg, const Clock& clock, Metrics& metrics,
                         SpscRing<InMsg>& in, SpscRing<OutItem>& out,
                         const std::atomic<bool>& producer_lagging,
                         const std::atomic<bool>& replay_reached, Parker& self, Parker& producer)
    : cfg_(cfg),
      clock_(clock),
      m_(metrics),
      in_(in),
      out_(out),
      producer_lagging_(producer_lagging),
      replay_reached_(replay_reached),
      self_(self),
      producer_(producer),
      emit_replayed_(!cfg.transactional()),
      matcher_(static_cast<uint32_t>(cfg.max_symbols), 1 << 12),
      syms_(static_cast<size_t>(cfg.max_symbols) + 1) {}

EngineStage::SymState& EngineStage::state(SymbolId sym) {
  const size_t i = std::min<size_t>(sym, static_cast<size_t>(cfg_.max_symbols));
  auto& p = syms_[i];
  if (!p) p = std::make_unique<SymState>();
  return *p;
}

template <typename Hops>
OutBegin EngineStage::make_begin(OutTopic topic, const Hops* hops, int64_t recv_ts) const {
  OutBegin b{};
  b.topic = topic;
  const size_t n = hops ? hops->size() : 0;
  // Keep the newest stamps; room for our Receive here and our Publish at the producer.
  const size_t keep = std::min(n, kMaxHops - 2);
  if (keep) std::memcpy(b.hops, hops->Data() + (n - keep) * sizeof(Hop), keep * sizeof(Hop));
  b.hops[keep] =
      Hop{recv_ts, kStageLobEngine, kHopReceive, static_cast<uint16_t>(cfg_.instance), 0};
  b.n_hops = static_cast<uint8_t>(keep + 1);
  return b;
}

void EngineStage::run(const std::atomic<bool>& input_done) {
  InMsg buf[kPopBatch];
  Backoff backoff;
  auto last_gauges = std::chrono::steady_clock::now();
  while (true) {
    flush(false);
    size_t n = 0;
    if (backlog_.size() < kBacklogMax) n = in_.pop_n(buf, kPopBatch);
    for (size_t i = 0; i < n; ++i) handle(buf[i]);
    if (n != 0) flush(false);
    if (pushed_) {
      producer_.wake();
      pushed_ = false;
    }
    if (!m_.rebuilt.load(std::memory_order_relaxed) &&
        replay_reached_.load(std::memory_order_acquire) &&
        replayed_ == m_.replay_pushed.load(std::memory_order_acquire)) {
      m_.rebuilt.store(true);
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_gauges > std::chrono::milliseconds(200)) {
      update_gauges();
      last_gauges = now;
    }
    if (n != 0) {
      backoff.reset();
      continue;
    }
    if (input_done.load(std::memory_order_acquire) && in_.empty()) {
      while (!flush(true)) {
        producer_.wake();
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
      producer_.wake();
      update_gauges();
      return;
    }
    // Held-back output waits for ring space or the producer to catch up: look again soon.
    const bool waiting = !backlog_.empty() || !pending_syms_.empty();
    backoff.idle(self_, [this] { return !in_.empty(); }, waiting ? 50 : 1000);
  }
}

void EngineStage::handle(const InMsg& m) {
  const bool live = !m.replay;
  const bool emit = live || emit_replayed_;
  counting_ = live;
  rd_kafka_message_t* msg = m.msg;
  const size_t src = static_cast<size_t>(m.source);
  // Read before a dead letter changes hands: the producer may destroy it at once.
  const auto part = static_cast<size_t>(msg->partition);
  const int64_t next_offset = msg->offset + 1;
  prov_ = Prov{static_cast<uint8_t>(src), {}, msg->partition, msg->offset, 0, 0};
  if (m.cause != DeadCause::None) {
    if (live) inc(m_.dead_letters[src][static_cast<size_t>(m.cause)]);
    bool held = false;
    if (emit && written_.partitions[2] != 0) {
      const int32_t p = written_.partition_of(2, msg->key ? msg->key : "", msg->key_len);
      held = written_.holds(2, p, prov_);
      if (held) inc(m_.dedup_skipped);
    }
    if (emit && !held) {
      OutItem it;
      it.kind = OutKind::Dead;
      it.dead = OutDead{msg, m.source, m.cause};
      push(it);
      msg = nullptr;  // the producer owns it now
    }
  } else if (m.source == Source::MdEvents) {
    if (!is_reference(m.data, msg->len)) process_md(m, emit);
  } else {
    process_orders(m, emit);
  }
  if (live) {
    auto& marks = offsets_[src];
    if (marks.size() <= part) marks.resize(part + 1);
    marks[part] = OffsetMark{next_offset, true};
  } else {
    ++replayed_;
    inc(m_.replayed_messages);
  }
  std::free(m.copy);
  inc(m_.processed[src]);
  if (msg) rd_kafka_message_destroy(msg);
}

bool EngineStage::snapshot(SymbolId sym, const MdEvent& e, uint64_t seq, BookUpdate& u) const {
  u = BookUpdate{};
  u.ts_event = e.ts_event;
  u.ts_recv = e.ts_recv;
  u.seq = seq;
  u.symbol_id = sym;
  const auto depth = static_cast<size_t>(cfg_.depth);
  u.n_bids = static_cast<uint8_t>(builder_.depth(sym, Side::Buy, depth, u.bids));
  u.n_asks = static_cast<uint8_t>(builder_.depth(sym, Side::Sell, depth, u.asks));
  return true;
}

void EngineStage::process_md(const InMsg& m, bool emit) {
  const auto* batch = schema::GetMdEventBatch(m.data);
  const auto* ev = batch->events();
  const size_t n = ev ? ev->size() : 0;
  // The payload sits at any alignment inside librdkafka's fetch buffer: copy each struct out.
  const uint8_t* data = n ? ev->Data() : nullptr;
  OutBegin begin = make_begin(OutTopic::MdBook, batch->hops(), m.recv_ts);
  updates_.clear();
  SymbolId cur = 0;
  for (size_t i = 0; i < n; ++i) {
    MdEvent e;
    std::memcpy(&e, data + i * sizeof(MdEvent), sizeof e);
    const bool had_book = builder_.book(e.symbol_id) != nullptr;
    const ErrorCode st = builder_.apply(e);
    if (!had_book && builder_.book(e.symbol_id) != nullptr) book_symbols_.push_back(e.symbol_id);
    if (counting_) {
      inc(m_.md_events[e.type < kMdTypes ? e.type : 0]);
      inc(m_.md_event_status[static_cast<size_t>(st)]);
      if (st == ErrorCode::UnknownOrder) inc(m_.unknown_order_events);
    }
    if (e.symbol_id >= static_cast<SymbolId>(cfg_.max_symbols)) continue;
    SymState& s = state(e.symbol_id);
    const uint64_t seq = s.events++;
    if (st != ErrorCode::Ok || !changes_book(e.type)) continue;
    BookUpdate u;
    snapshot(e.symbol_id, e, seq, u);
    if (same_levels(u, s.last)) continue;
    s.last = u;
    if (!updates_.empty() && cur != e.symbol_id) {
      emit_books(cur, begin, emit);
      updates_.clear();
    }
    cur = e.symbol_id;
    updates_.push_back(u);
  }
  if (!updates_.empty()) emit_books(cur, begin, emit);
  if (counting_) m_.update_latency.observe(clock_.now_ns() - m.recv_ts);
}

size_t EngineStage::first_unwritten(size_t out, SymbolId sym, uint32_t first, size_t chunks) const {
  if (written_.partitions[out] == 0) return 0;
  char key[16];
  const auto len = static_cast<size_t>(std::snprintf(key, sizeof key, "%u", sym));
  const int32_t part = written_.partition_of(out, key, len);
  Prov p = prov_;
  size_t c = 0;
  for (; c < chunks; ++c) {
    p.sub = first + static_cast<uint32_t>(c);
    if (!written_.holds(out, part, p)) break;
  }
  return c;
}

void EngineStage::emit_books(SymbolId sym, const OutBegin& begin_in, bool emit) {
  SymState& s = state(sym);
  // Counted whether emitted or not, so a replay numbers batches and provenance as the first run.
  const size_t n = updates_.size();
  const size_t chunks = (n + kMaxOutRecords - 1) / kMaxOutRecords;
  const uint64_t first_seq = s.book_batches + 1;
  const uint32_t first_sub = prov_.sub;
  s.book_batches += chunks;
  prov_.sub += static_cast<uint32_t>(chunks);
  if (!emit) return;
  const size_t c0 = first_unwritten(0, sym, first_sub, chunks);
  inc(m_.dedup_skipped, c0);
  if (c0 == chunks) return;
  OutBegin begin = begin_in;
  begin.symbol_id = sym;
  begin.prov = prov_;
  if (counting_) inc(m_.book_updates, n);
  // Any symbol pending holds back every symbol's books, so that per input partition the books
  // reach an output partition in provenance order (what the idempotent restart relies on).
  const bool congested = cfg_.conflate && (!pending_syms_.empty() || !backlog_.empty() ||
                                           producer_lagging_.load(std::memory_order_relaxed) ||
                                           out_.free_space() < n + 2 * chunks);
  if (congested) {
    if (counting_) inc(m_.conflated_updates, n - 1 + (s.has_pending ? 1 : 0));
    s.pending_begin = begin;
    s.pending_begin.batch_seq = first_seq + chunks - 1;
    s.pending_begin.prov.sub = first_sub + static_cast<uint32_t>(chunks) - 1;
    s.pending = updates_.back();
    if (!s.has_pending) {
      s.has_pending = true;
      pending_syms_.push_back(sym);
    }
    return;
  }
  OutItem it;
  for (size_t c = c0; c < chunks; ++c) {
    it.kind = OutKind::Begin;
    it.begin = begin;
    it.begin.batch_seq = first_seq + c;
    it.begin.prov.sub = first_sub + static_cast<uint32_t>(c);
    push(it);
    it.kind = OutKind::Book;
    const size_t end = std::min(n, (c + 1) * kMaxOutRecords);
    for (size_t i = c * kMaxOutRecords; i < end; ++i) {
      it.book = updates_[i];
      push(it);
    }
    it.kind = OutKind::End;
    push(it);
  }
}

void EngineStage::process_orders(const InMsg& m, bool emit) {
  const auto* batch = schema::GetOrderCommandBatch(m.data);
  const auto* cmds = batch->commands();
  const size_t n = cmds ? cmds->size() : 0;
  const uint8_t* data = n ? cmds->Data() : nullptr;
  OutBegin begin = make_begin(OutTopic::ExecReports, batch->hops(), m.recv_ts);
  reports_.clear();
  SymbolId cur = 0;
  auto sink = [this](const ExecReport& r) { reports_.push_back(r); };
  for (size_t i = 0; i < n; ++i) {
    OrderCommand c;
    std::memcpy(&c, data + i * sizeof(OrderCommand), sizeof c);
    if (counting_) inc(m_.commands[c.type < kCmdTypes ? c.type : 0]);
    if (!reports_.empty() && cur != c.symbol_id) {
      emit_execs(cur, begin, emit);
      reports_.clear();
    }
    cur = c.symbol_id;
    const bool submit = c.type == static_cast<uint8_t>(CommandType::SubmitOrder);
    const bool in_range = c.symbol_id < static_cast<SymbolId>(cfg_.max_symbols);
    SymState& s = state(c.symbol_id);
    if (submit && in_range && s.accepted_ids.count(c.order_id) != 0) {
      if (counting_) inc(m_.reused_order_ids);
      reports_.push_back(ExecReport{c.ts, c.order_id, 0, c.price, c.qty, 0, c.account, c.symbol_id,
                                    static_cast<uint8_t>(ExecType::OrderRejected), c.side,
                                    static_cast<uint8_t>(ErrorCode::DuplicateOrderId),
                                    static_cast<uint8_t>(Liquidity::None)});
      continue;
    }
    const size_t before = reports_.size();
    matcher_.process(c, sink);
    if (submit && in_range && reports_.size() > before &&
        reports_[before].type == static_cast<uint8_t>(ExecType::OrderAccepted)) {
      s.accepted_ids.insert(c.order_id);
    }
  }
  if (!reports_.empty()) emit_execs(cur, begin, emit);
}

void EngineStage::emit_execs(SymbolId sym, const OutBegin& begin_in, bool emit) {
  SymState& s = state(sym);
  const size_t n = reports_.size();
  const size_t chunks = (n + kMaxOutRecords - 1) / kMaxOutRecords;
  const uint64_t first_seq = s.exec_batches + 1;
  const uint32_t first_sub = prov_.sub;
  s.exec_batches += chunks;
  prov_.sub += static_cast<uint32_t>(chunks);
  if (!emit) return;
  const size_t c0 = first_unwritten(1, sym, first_sub, chunks);
  inc(m_.dedup_skipped, c0);
  OutItem it;
  for (size_t c = c0; c < chunks; ++c) {
    it.kind = OutKind::Begin;
    it.begin = begin_in;
    it.begin.symbol_id = sym;
    it.begin.batch_seq = first_seq + c;
    it.begin.prov = prov_;
    it.begin.prov.sub = first_sub + static_cast<uint32_t>(c);
    push(it);
    it.kind = OutKind::Exec;
    const size_t end = std::min(n, (c + 1) * kMaxOutRecords);
    for (size_t i = c * kMaxOutRecords; i < end; ++i) {
      const ExecReport& r = reports_[i];
      if (counting_) inc(m_.exec_reports[r.type < kExecTypes ? r.type : 0]);
      it.exec = r;
      push(it);
    }
    it.kind = OutKind::End;
    push(it);
  }
}

void EngineStage::push(const OutItem& item) {
  pushed_ = true;
  if (backlog_.empty() && out_.try_push(item)) return;
  backlog_.push_back(item);
}

// Backlog first (order matters within it), then conflated books, then offsets: an offset goes
// out only once every output of the messages before it is queued ahead of it.
bool EngineStage::flush(bool force) {
  while (!backlog_.empty() && out_.try_push(backlog_.front())) backlog_.pop_front();
  set(m_.out_backlog, static_cast<int64_t>(backlog_.size()));
  if (!backlog_.empty()) return false;
  if (!pending_syms_.empty()) {
    if (!force && producer_lagging_.load(std::memory_order_relaxed)) return false;
    // Oldest provenance first (popped from the back).
    std::sort(pending_syms_.begin(), pending_syms_.end(), [this](SymbolId a, SymbolId b) {
      const Prov& x = state(a).pending_begin.prov;
      const Prov& y = state(b).pending_begin.prov;
      return std::tie(x.source, x.partition, x.offset, x.sub) >
             std::tie(y.source, y.partition, y.offset, y.sub);
    });
    pushed_ = true;
    while (!pending_syms_.empty()) {
      if (out_.free_space() < 3) return false;
      SymState& s = state(pending_syms_.back());
      OutItem it;
      it.kind = OutKind::Begin;
      it.begin = s.pending_begin;
      out_.try_push(it);
      it.kind = OutKind::Book;
      it.book = s.pending;
      out_.try_push(it);
      it.kind = OutKind::End;
      out_.try_push(it);
      s.has_pending = false;
      pending_syms_.pop_back();
    }
  }
  offset_group_.clear();
  for (size_t src = 0; src < kSources; ++src) {
    for (size_t p = 0; p < offsets_[src].size(); ++p) {
      const OffsetMark& mark = offsets_[src][p];
      if (!mark.dirty) continue;
      OutItem it;
      it.kind = OutKind::Offset;
      it.offset = OutOffset{static_cast<Source>(src), false, static_cast<int32_t>(p), mark.next};
      offset_group_.push_back(it);
    }
  }
  if (offset_group_.empty()) return true;
  offset_group_.back().offset.last = true;
  if (!out_.push_all(offset_group_.data(), offset_group_.size())) return false;
  pushed_ = true;
  for (auto& marks : offsets_) {
    for (OffsetMark& mark : marks) mark.dirty = false;
  }
  return true;
}

void EngineStage::update_gauges() {
  int64_t bids = 0, asks = 0;
  for (SymbolId s : book_symbols_) {
    const OrderBook* b = builder_.book(s);
    bids += static_cast<int64_t>(b->level_count(Side::Buy));
    asks += static_cast<int64_t>(b->level_count(Side::Sell));
  }
  set(m_.books, static_cast<int64_t>(book_symbols_.size()));
  set(m_.bid_levels, bids);
  set(m_.ask_levels, asks);
}

}  // namespace minihft::service
