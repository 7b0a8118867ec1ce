// minihft._feed: the native ITCH 5.0 decoder/encoder for Python. Record vectors leave as owned
// uint8 numpy buffers that Python views with the dtypes of minihft.marketdata.itch_records.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "minihft/feed/itch.hpp"
#include "minihft/feed/synth.hpp"
#include "minihft/lob/book_builder.hpp"

namespace nb = nanobind;
using namespace nb::literals;
namespace itch = minihft::feed::itch;

namespace {

using Bytes = nb::ndarray<nb::numpy, uint8_t, nb::ndim<1>>;
using InBytes = nb::ndarray<const uint8_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

template <class T>
Bytes to_numpy(std::vector<T>&& v) {
  auto* heap = new std::vector<T>(std::move(v));
  nb::capsule owner(heap, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  const size_t n = heap->size() * sizeof(T);
  return Bytes(reinterpret_cast<uint8_t*>(heap->data()), {n}, owner);
}

template <class T>
std::vector<T> from_numpy(const InBytes& a, const char* name) {
  if (a.size() % sizeof(T) != 0)
    throw nb::value_error(
        (std::string(name) + ": byte size is not a multiple of the record size").c_str());
  std::vector<T> v(a.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), a.data(), a.size());
  return v;
}

nb::object fault_dict(const itch::FaultInfo& f) {
  if (!f) return nb::none();
  nb::dict d;
  d["kind"] = std::string(f.fault == itch::Fault::UnknownType ? "unknown_type"
                          : f.fault == itch::Fault::BadLength ? "bad_length"
                                                              : "truncated");
  d["offset"] = f.offset;
  d["type"] = f.type == 0 ? std::string() : std::string(1, f.type);
  d["length"] = f.length;
  d["expected"] = f.expected;
  d["message"] = std::string(itch::to_string(f.fault));
  return d;
}

nb::dict counters_dict(const itch::Counters& c) {
  nb::dict d;
  d["messages"] = c.messages;
  d["bytes"] = c.bytes;
  d["md_events"] = c.md_events;
  d["empty_frames"] = c.empty_frames;
  d["skipped_unknown"] = c.skipped_unknown;
  d["skipped_bad_length"] = c.skipped_bad_length;
  d["truncated_frames"] = c.truncated_frames;
  d["truncated_bytes"] = c.truncated_bytes;
  nb::dict by_type;
  for (size_t t = 0; t < c.by_type.size(); ++t)
    if (c.by_type[t] != 0) by_type[std::string(1, static_cast<char>(t)).c_str()] = c.by_type[t];
  d["by_type"] = by_type;
  return d;
}

nb::dict take(itch::Output& o) {
  nb::dict d;
  d["events"] = to_numpy(std::move(o.events));
  d["system_events"] = to_numpy(std::move(o.system_events));
  d["stock_directory"] = to_numpy(std::move(o.stock_directory));
  d["trading_actions"] = to_numpy(std::move(o.trading_actions));
  d["reg_sho"] = to_numpy(std::move(o.reg_sho));
  d["participant_positions"] = to_numpy(std::move(o.participant_positions));
  d["mwcb_decline"] = to_numpy(std::move(o.mwcb_decline));
  d["mwcb_status"] = to_numpy(std::move(o.mwcb_status));
  d["ipo_quoting"] = to_numpy(std::move(o.ipo_quoting));
  d["luld_collars"] = to_numpy(std::move(o.luld_collars));
  d["operational_halts"] = to_numpy(std::move(o.operational_halts));
  d["noii"] = to_numpy(std::move(o.noii));
  d["rpii"] = to_numpy(std::move(o.rpii));
  d["dlcr_prices"] = to_numpy(std::move(o.dlcr_prices));
  o.clear();
  return d;
}

// Layout table for the Python dtype check: struct -> (size, {field: offset}).
#define F(S, f) fields[#f] = offsetof(S, f)
nb::dict layouts() {
  nb::dict all;
  auto add = [&](const char* name, size_t size, nb::dict fields) {
    all[name] = nb::make_tuple(size, fields);
  };
  auto head = [](nb::dict& fields, size_t ts, size_t seq, size_t loc, size_t trk) {
    fields["ts"] = ts;
    fields["seq"] = seq;
    fields["locate"] = loc;
    fields["tracking"] = trk;
  };
#define HEAD(S) \
  head(fields, offsetof(S, ts), offsetof(S, seq), offsetof(S, locate), offsetof(S, tracking))
  {
    using S = itch::SystemEvent;
    nb::dict fields;
    HEAD(S);
    F(S, event_code);
    add("system_events", sizeof(S), fields);
  }
  {
    using S = itch::StockDirectory;
    nb::dict fields;
    HEAD(S);
    F(S, round_lot_size), F(S, etp_leverage_factor), F(S, stock), F(S, market_category);
    F(S, financial_status), F(S, round_lots_only), F(S, issue_classification);
    F(S, issue_subtype), F(S, authenticity), F(S, short_sale_threshold), F(S, ipo_flag);
    F(S, luld_tier), F(S, etp_flag), F(S, inverse);
    add("stock_directory", sizeof(S), fields);
  }
  {
    using S = itch::TradingAction;
    nb::dict fields;
    HEAD(S);
    F(S, stock), F(S, trading_state), F(S, reserved), F(S, reason);
    add("trading_actions", sizeof(S), fields);
  }
  {
    using S = itch::RegSho;
    nb::dict fields;
    HEAD(S);
    F(S, stock), F(S, action);
    add("reg_sho", sizeof(S), fields);
  }
  {
    using S = itch::ParticipantPosition;
    nb::dict fields;
    HEAD(S);
    F(S, mpid), F(S, stock), F(S, primary_market_maker), F(S, market_maker_mode);
    F(S, participant_state);
    add("participant_positions", sizeof(S), fields);
  }
  {
    using S = itch::MwcbDecline;
    nb::dict fields;
    HEAD(S);
    F(S, level1), F(S, level2), F(S, level3);
    add("mwcb_decline", sizeof(S), fields);
  }
  {
    using S = itch::MwcbStatus;
    nb::dict fields;
    HEAD(S);
    F(S, breached_level);
    add("mwcb_status", sizeof(S), fields);
  }
  {
    using S = itch::IpoQuoting;
    nb::dict fields;
    HEAD(S);
    F(S, release_time), F(S, ipo_price), F(S, stock), F(S, release_qualifier);
    add("ipo_quoting", sizeof(S), fields);
  }
  {
    using S = itch::LuldCollar;
    nb::dict fields;
    HEAD(S);
    F(S, ref_price), F(S, upper_price), F(S, lower_price), F(S, extension), F(S, stock);
    add("luld_collars", sizeof(S), fields);
  }
  {
    using S = itch::OperationalHalt;
    nb::dict fields;
    HEAD(S);
    F(S, stock), F(S, market_code), F(S, action);
    add("operational_halts", sizeof(S), fields);
  }
  {
    using S = itch::Noii;
    nb::dict fields;
    HEAD(S);
    F(S, far_price), F(S, paired_shares), F(S, imbalance_shares), F(S, near_price);
    F(S, ref_price), F(S, stock), F(S, direction), F(S, cross_type), F(S, price_variation);
    add("noii", sizeof(S), fields);
  }
  {
    using S = itch::Rpii;
    nb::dict fields;
    HEAD(S);
    F(S, stock), F(S, interest_flag);
    add("rpii", sizeof(S), fields);
  }
  {
    using S = itch::DlcrPrice;
    nb::dict fields;
    HEAD(S);
    F(S, min_price), F(S, near_execution_time), F(S, max_price), F(S, near_price);
    F(S, lower_collar), F(S, upper_collar), F(S, stock), F(S, open_eligibility);
    add("dlcr_prices", sizeof(S), fields);
  }
#undef HEAD
  return all;
}
#undef F

template <class T>
void encode_all(std::vector<uint8_t>& out, const InBytes& a, const char* name,
                void (*put)(std::vector<uint8_t>&, const T&)) {
  for (const T& r : from_numpy<T>(a, name)) put(out, r);
}

nb::bytes encode_reference(const std::string& table, const InBytes& a) {
  std::vector<uint8_t> out;
  const char* n = table.c_str();
  if (table == "system_events")
    encode_all(out, a, n, &itch::put_system_event);
  else if (table == "stock_directory")
    encode_all(out, a, n, &itch::put_stock_directory);
  else if (table == "trading_actions")
    encode_all(out, a, n, &itch::put_trading_action);
  else if (table == "reg_sho")
    encode_all(out, a, n, &itch::put_reg_sho);
  else if (table == "participant_positions")
    encode_all(out, a, n, &itch::put_participant_position);
  else if (table == "mwcb_decline")
    encode_all(out, a, n, &itch::put_mwcb_decline);
  else if (table == "mwcb_status")
    encode_all(out, a, n, &itch::put_mwcb_status);
  else if (table == "ipo_quoting")
    encode_all(out, a, n, &itch::put_ipo_quoting);
  else if (table == "luld_collars")
    encode_all(out, a, n, &itch::put_luld_collar);
  else if (table == "operational_halts")
    encode_all(out, a, n, &itch::put_operational_halt);
  else if (table == "noii")
    encode_all(out, a, n, &itch::put_noii);
  else if (table == "rpii")
    encode_all(out, a, n, &itch::put_rpii);
  else if (table == "dlcr_prices")
    encode_all(out, a, n, &itch::put_dlcr_price);
  else
    throw nb::value_error(("unknown reference table " + table).c_str());
  return nb::bytes(reinterpret_cast<const char*>(out.data()), out.size());
}

// Encodes MD_EVENT records; raises ValueError naming the first event ITCH cannot carry.
nb::tuple encode_events(const InBytes& events, const std::vector<std::string>& symbols,
                        uint64_t next_match) {
  const auto ev = from_numpy<minihft::MdEvent>(events, "events");
  std::vector<itch::Symbol> table(symbols.size());
  for (size_t i = 0; i < symbols.size(); ++i) {
    table[i].fill(' ');
    std::memcpy(table[i].data(), symbols[i].data(), std::min<size_t>(8, symbols[i].size()));
  }
  std::vector<uint8_t> out;
  itch::WriteResult r;
  {
    nb::gil_scoped_release unlocked;
    out.reserve(ev.size() * 40);
    r = itch::put_events(out, ev.data(), ev.size(), table, next_match);
  }
  if (!r.ok()) throw nb::value_error(("event " + std::to_string(r.index) + ": " + r.what).c_str());
  return nb::make_tuple(nb::bytes(reinterpret_cast<const char*>(out.data()), out.size()),
                        next_match);
}

// Parse-only throughput over a buffer already in memory, timed here so that Python overhead stays
// outside the loop. The buffer is decoded in slices whose output is dropped after each, as a
// streaming consumer would take batches, so the output stays cache-sized instead of growing to
// gigabytes for a large file.
nb::dict bench_parse(const InBytes& data, int runs, size_t slice_bytes) {
  std::vector<double> seconds;
  itch::Counters c;
  {
    nb::gil_scoped_release unlocked;
    itch::Output out;
    for (int i = 0; i < runs; ++i) {
      c = itch::Counters{};
      const auto t0 = std::chrono::steady_clock::now();
      size_t pos = 0;
      while (pos < data.size()) {
        const size_t n = std::min(slice_bytes, data.size() - pos);
        const auto r = itch::decode(data.data() + pos, n, pos, itch::OnError::Stop, out, c);
        out.clear();
        if (r.fault || r.consumed == 0) break;
        pos += r.consumed;
      }
      const auto t1 = std::chrono::steady_clock::now();
      seconds.push_back(std::chrono::duration<double>(t1 - t0).count());
    }
  }
  nb::dict d;
  d["seconds"] = seconds;
  d["messages"] = c.messages;
  d["bytes"] = c.bytes;
  d["md_events"] = c.md_events;
  return d;
}

// Parse and build every symbol's L3 book in one native pass: each slice's frames are decoded with
// every book event applied to the BookBuilder at once (itch::decode_apply).
// group: collect each slice's events and apply them grouped by symbol, a replay-throughput mode.
nb::dict bench_book(const InBytes& data, int runs, size_t slice_bytes, size_t expected_orders,
                    bool group) {
  std::vector<double> seconds;
  itch::Counters c;
  std::vector<int64_t> top;  // per locate: bid_px, bid_qty, ask_px, ask_qty
  std::array<uint64_t, minihft::BookBuilder::kCounterSlots> by_status{};
  uint64_t crossed = 0, live = 0;
  size_t slots = 0;
  {
    nb::gil_scoped_release unlocked;
    itch::Output out;
    std::vector<uint32_t> start(65537);
    std::vector<minihft::MdEvent> grouped;
    for (int i = 0; i < runs; ++i) {
      c = itch::Counters{};
      minihft::BookBuilder books(expected_orders);
      const auto t0 = std::chrono::steady_clock::now();
      size_t pos = 0;
      while (pos < data.size()) {
        const size_t n = std::min(slice_bytes, data.size() - pos);
        // Arrival order: books are built as the frames are decoded (decode_apply). Grouped: the
        // slice's events are collected first, then applied symbol by symbol.
        const auto r = group ? itch::decode(data.data() + pos, n, pos, itch::OnError::Stop, out, c)
                             : itch::decode_apply(data.data() + pos, n, pos, itch::OnError::Stop,
                                                  out, c, books);
        if (group) {
          // Counting sort by locate: each symbol's events keep their order, so every final book
          // is the same as in arrival order; only the interleaving across symbols changes.
          std::fill(start.begin(), start.end(), 0);
          for (const minihft::MdEvent& e : out.events) ++start[(e.symbol_id & 0xFFFF) + 1];
          for (size_t k = 1; k < start.size(); ++k) start[k] += start[k - 1];
          grouped.resize(out.events.size());
          for (const minihft::MdEvent& e : out.events) grouped[start[e.symbol_id & 0xFFFF]++] = e;
          books.apply(grouped.data(), grouped.size());
        }
        out.clear();
        if (r.fault || r.consumed == 0) break;
        pos += r.consumed;
      }
      const auto t1 = std::chrono::steady_clock::now();
      seconds.push_back(std::chrono::duration<double>(t1 - t0).count());
      if (i + 1 == runs) {
        by_status = books.stats().by_status;
        slots = books.symbol_slots();
        top.assign(slots * 4, 0);
        crossed = live = 0;
        for (size_t s = 0; s < slots; ++s) {
          const minihft::OrderBook* b = books.book(static_cast<minihft::SymbolId>(s));
          if (b == nullptr) continue;
          live += b->order_count();
          const auto* bid = b->best(minihft::Side::Buy);
          const auto* ask = b->best(minihft::Side::Sell);
          if (bid) top[s * 4] = bid->price, top[s * 4 + 1] = bid->qty;
          if (ask) top[s * 4 + 2] = ask->price, top[s * 4 + 3] = ask->qty;
          crossed += bid && ask && bid->price >= ask->price;
        }
      }
    }
  }
  nb::dict d;
  d["seconds"] = seconds;
  d["messages"] = c.messages;
  d["bytes"] = c.bytes;
  d["md_events"] = c.md_events;
  std::vector<uint64_t> st(by_status.begin(), by_status.end());
  d["by_status"] = st;
  d["crossed_books"] = crossed;
  d["live_orders"] = live;
  d["top"] = to_numpy(std::move(top));
  return d;
}

template <class T>
std::vector<T> vec(const nb::dict& d, const char* key) {
  return nb::cast<std::vector<T>>(d[key]);
}

itch::SynthParams synth_params(const nb::dict& d) {
  itch::SynthParams p;
  p.seed = nb::cast<uint64_t>(d["seed"]);
  p.messages = nb::cast<uint64_t>(d["messages"]);
  p.start_ns = nb::cast<int64_t>(d["start_ns"]);
  p.tick = nb::cast<int64_t>(d["tick"]);
  p.p_buy = nb::cast<double>(d["p_buy"]);
  p.p_attributed = nb::cast<double>(d["p_attributed"]);
  p.p_hidden = nb::cast<double>(d["p_hidden"]);
  const auto fates = nb::cast<std::vector<nb::dict>>(d["fate"]);
  if (fates.size() != p.fate.size()) throw nb::value_error("fate: one dict per offset class (3)");
  for (size_t k = 0; k < fates.size(); ++k) {
    p.fate[k].p_delete = nb::cast<double>(fates[k]["p_delete"]);
    p.fate[k].p_execute = nb::cast<double>(fates[k]["p_execute"]);
    p.fate[k].life_delete_ns = vec<double>(fates[k], "life_delete_ns");
    p.fate[k].life_execute_ns = vec<double>(fates[k], "life_execute_ns");
  }
  p.p_replace = nb::cast<double>(d["p_replace"]);
  p.p_partial_cancel = nb::cast<double>(d["p_partial_cancel"]);
  p.p_exec_at_price = nb::cast<double>(d["p_exec_at_price"]);
  p.exec_count_cdf = vec<double>(d, "exec_count_cdf");
  p.arrival_ns = vec<double>(d, "arrival_ns");
  p.offset_ticks = vec<int64_t>(d, "offset_ticks");
  p.sizes = vec<int64_t>(d, "sizes");
  p.spread_ticks = vec<int64_t>(d, "spread_ticks");
  p.scale = vec<double>(d, "scale");
  p.base_price = vec<int64_t>(d, "base_price");
  for (const std::string& s : vec<std::string>(d, "symbols")) {
    itch::Symbol sym;
    sym.fill(' ');
    std::memcpy(sym.data(), s.data(), std::min<size_t>(8, s.size()));
    p.symbols.push_back(sym);
  }
  if (p.symbols.empty() || p.symbols.size() > 65535)
    throw nb::value_error("symbols: between 1 and 65535 expected");
  if (p.messages < p.symbols.size() + 2)
    throw nb::value_error("messages: fewer than the S, R directory and S tail need");
  if (p.arrival_ns.empty() || p.sizes.empty() || p.offset_ticks.empty())
    throw nb::value_error("arrival_ns, sizes and offset_ticks must not be empty");
  return p;
}

}  // namespace

NB_MODULE(_feed, m) {
  m.doc() = "minihft native feed decoders: NASDAQ TotalView-ITCH 5.0";

  nb::class_<itch::StreamParser>(m, "Parser")
      .def(
          "__init__",
          [](itch::StreamParser* self, const std::string& on_error) {
            if (on_error != "stop" && on_error != "skip")
              throw nb::value_error("on_error must be 'stop' or 'skip'");
            new (self)
                itch::StreamParser(on_error == "stop" ? itch::OnError::Stop : itch::OnError::Skip);
          },
          "on_error"_a = "stop")
      .def("feed",
           [](itch::StreamParser& p, const InBytes& chunk) {
             itch::FaultInfo f;
             {
               nb::gil_scoped_release unlocked;
               f = p.feed(chunk.data(), chunk.size());
             }
             return fault_dict(f);
           })
      .def("finish", [](itch::StreamParser& p) { return fault_dict(p.finish()); })
      .def("take", [](itch::StreamParser& p) { return take(p.output()); })
      .def("pending_events", [](itch::StreamParser& p) { return p.output().events.size(); })
      .def("counters", [](const itch::StreamParser& p) { return counters_dict(p.counters()); })
      .def_prop_ro("offset", &itch::StreamParser::offset);

  m.def("message_length", [](const std::string& t) {
    if (t.size() != 1) throw nb::value_error("one type byte expected");
    return itch::message_length(static_cast<uint8_t>(t[0]));
  });
  m.def("encode_events", &encode_events, "events"_a, "symbols"_a, "next_match"_a = 0);
  m.def("encode_reference", &encode_reference, "table"_a, "records"_a);
  m.def("bench_parse", &bench_parse, "data"_a, "runs"_a = 3, "slice_bytes"_a = 1 << 18);
  m.def("bench_book", &bench_book, "data"_a, "runs"_a = 3, "slice_bytes"_a = 1 << 18,
        "expected_orders"_a = 1024, "group"_a = false);
  nb::class_<itch::SynthGenerator>(m, "SynthGenerator")
      .def("__init__",
           [](itch::SynthGenerator* self, const nb::dict& params) {
             new (self) itch::SynthGenerator(synth_params(params));
           })
      .def("next",
           [](itch::SynthGenerator& g, size_t max_bytes) {
             std::vector<uint8_t> out;
             {
               nb::gil_scoped_release unlocked;
               out.reserve(max_bytes + 4096);
               g.next(out, max_bytes);
             }
             return nb::bytes(reinterpret_cast<const char*>(out.data()), out.size());
           })
      .def_prop_ro("done", &itch::SynthGenerator::done)
      .def_prop_ro("written", &itch::SynthGenerator::written)
      .def_prop_ro("now", &itch::SynthGenerator::now);
  m.attr("LAYOUTS") = layouts();
  m.attr("FLAG_CROSS") = itch::kFlagCross;
  m.attr("FLAG_BROKEN") = itch::kFlagBroken;
  m.attr("FLAG_PRINTABLE") = itch::kFlagPrintable;
  m.attr("FLAG_ATTRIBUTED") = itch::kFlagAttributed;
  m.attr("CROSS_TYPE_SHIFT") = itch::kCrossTypeShift;
  m.attr("STATUS_HALTED") = itch::kStatusHalted;
  m.attr("STATUS_QUOTING") = itch::kStatusQuoting;
  m.attr("STATUS_TRADING") = itch::kStatusTrading;
  m.attr("STATUS_PAUSED") = itch::kStatusPaused;
}
