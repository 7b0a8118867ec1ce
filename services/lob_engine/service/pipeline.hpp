// What travels through the two SPSC rings of the service, and the input check.
//
// consumer thread --InMsg--> engine thread --OutItem--> producer thread
//
// InMsg hands over ownership of the librdkafka message (zero copy); whoever ends its life calls
// rd_kafka_message_destroy. OutItem is a fixed-size tagged record: a batch is Begin, its records,
// End; a dead letter carries the original message on to the producer; Offset marks that every
// output of the input messages before `next_offset` has been queued ahead of it, so the producer
// may commit that offset in the transaction that holds those outputs.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "commands_generated.h"
#include "md_events_generated.h"
#include "minihft/lob/types.hpp"
#include "reference_generated.h"

namespace minihft::service {

enum class Source : uint8_t { MdEvents = 0, Orders = 1 };
constexpr size_t kSources = 2;
inline const char* source_name(Source s) { return s == Source::MdEvents ? "md.events" : "orders"; }

enum class DeadCause : uint8_t { None = 0, Truncated = 1, WrongSchema = 2, Malformed = 3 };
constexpr size_t kDeadCauses = 4;
inline const char* cause_name(DeadCause c) {
  switch (c) {
    case DeadCause::Truncated:
      return "truncated";
    case DeadCause::WrongSchema:
      return "wrong_schema";
    case DeadCause::Malformed:
      return "malformed";
    default:
      return "none";
  }
}

// Byte-identical to schema::HopStamp (16 bytes).
struct Hop {
  int64_t ts;
  uint8_t stage;
  uint8_t point;
  uint16_t instance;
  uint32_t reserved;
};
static_assert(sizeof(Hop) == 16);
constexpr uint8_t kStageLobEngine = 2;
constexpr uint8_t kHopReceive = 0;
constexpr uint8_t kHopPublish = 1;

// Byte-identical to schema::BookUpdate (512 bytes).
constexpr size_t kBookDepth = 10;
struct BookUpdate {
  int64_t ts_event;
  int64_t ts_recv;
  uint64_t seq;
  uint32_t symbol_id;
  uint8_t n_bids;
  uint8_t n_asks;
  uint16_t reserved;
  DepthLevel bids[kBookDepth];
  DepthLevel asks[kBookDepth];
};
static_assert(sizeof(BookUpdate) == 512);

// FlatBuffers reads scalars in place, so a payload at an odd address inside librdkafka's fetch
// buffer is copied to an 8-aligned `copy` (freed with std::free by whoever ends the InMsg); `data`
// points at whichever is aligned.
struct InMsg {
  rd_kafka_message_t* msg;
  const uint8_t* data;
  uint8_t* copy;
  int64_t recv_ts;
  Source source;
  bool replay;  // before the committed offset: rebuild state, emit nothing
  DeadCause cause;
};

enum class OutKind : uint8_t { Begin, Book, Exec, End, Dead, Offset };
enum class OutTopic : uint8_t { MdBook = 0, ExecReports = 1 };

// Where an output message comes from: the input message and the index of this output among
// that message's outputs. The engine is deterministic per input partition, so a replay yields
// the same provenance for the same output; the idempotent producer de-duplicates on it.
struct Prov {
  uint8_t source;
  uint8_t pad[3];
  int32_t partition;
  int64_t offset;
  uint32_t sub;
  uint32_t pad2;
};
static_assert(sizeof(Prov) == 24);
inline bool prov_le(const Prov& a, const Prov& b) {  // same source partition assumed
  return a.offset < b.offset || (a.offset == b.offset && a.sub <= b.sub);
}

// Idempotent delivery: per output topic (md.book, exec.reports, dead.letter) and partition, the
// newest provenance written there per input partition, as read from the output tails at start.
struct WrittenTable {
  int32_t partitions[3] = {0, 0, 0};
  std::vector<std::vector<Prov>> written[3];

  // librdkafka's "consistent" partitioner, the one the producer uses (CRC32(key) % count).
  int32_t partition_of(size_t out, const void* key, size_t key_len) const {
    return rd_kafka_msg_partitioner_consistent(nullptr, key, key_len, partitions[out], nullptr,
                                               nullptr);
  }
  bool holds(size_t out, int32_t partition, const Prov& p) const {
    if (static_cast<size_t>(partition) >= written[out].size()) return false;
    for (const Prov& e : written[out][static_cast<size_t>(partition)]) {
      if (e.source == p.source && e.partition == p.partition) return prov_le(p, e);
    }
    return false;
  }
};

// Output batches are split so a message stays far below the broker's 1 MB message.max.bytes
// whatever the input batch size: 1024 x 512 B book updates = 512 KB.
constexpr size_t kMaxOutRecords = 1024;

constexpr size_t kMaxHops = 14;  // input hops kept (the newest) plus ours
struct OutBegin {
  OutTopic topic;
  uint8_t n_hops;
  uint32_t symbol_id;
  uint64_t batch_seq;
  Prov prov;
  Hop hops[kMaxHops];
};
struct OutDead {
  rd_kafka_message_t* msg;
  Source source;
  DeadCause cause;
};
// Offsets go out as one group, visible at once; `last` closes it, and only there may the producer
// commit, because only there is every output before it covered by the group's offsets.
struct OutOffset {
  Source source;
  bool last;
  int32_t partition;
  int64_t next_offset;
};

struct OutItem {
  OutKind kind;
  union {
    OutBegin begin;
    BookUpdate book;
    ExecReport exec;
    OutDead dead;
    OutOffset offset;
  };
};

// Reference data (stock directory, trading action, sequence gaps) shares md.events with the
// event batches; it changes no book, so the engine passes over it.
inline bool is_reference(const void* data, size_t len) {
  return len >= 8 && std::memcmp(static_cast<const char*>(data) + 4,
                                 schema::ReferenceEventIdentifier(), 4) == 0;
}

// Identifier check, then the flatbuffers Verifier. A known minihft identifier other than the
// expected one is a wrong schema (a producer wrote to the wrong topic); anything else that fails
// is malformed.
inline DeadCause check_message(Source source, const void* data, size_t len) {
  if (data == nullptr || len < 8) return DeadCause::Truncated;
  const char* id = static_cast<const char*>(data) + 4;
  if (source == Source::MdEvents && is_reference(data, len)) {
    flatbuffers::Verifier v(static_cast<const uint8_t*>(data), len);
    return schema::VerifyReferenceEventBuffer(v) ? DeadCause::None : DeadCause::Malformed;
  }
  const char* want = source == Source::MdEvents ? schema::MdEventBatchIdentifier()
                                                : schema::OrderCommandBatchIdentifier();
  if (std::memcmp(id, want, 4) != 0) {
    static const char* known[] = {"MDEV", "MDBK", "MCMD", "MEXR", "MSIG", "MCTL", "MREF"};
    for (const char* k : known) {
      if (std::memcmp(id, k, 4) == 0) return DeadCause::WrongSchema;
    }
    return DeadCause::Malformed;
  }
  flatbuffers::Verifier v(static_cast<const uint8_t*>(data), len);
  const bool ok = source == Source::MdEvents ? schema::VerifyMdEventBatchBuffer(v)
                                             : schema::VerifyOrderCommandBatchBuffer(v);
  return ok ? DeadCause::None : DeadCause::Malformed;
}

}  // namespace minihft::service
