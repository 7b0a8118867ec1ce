// OrderId -> slot index, open addressing with linear probing and backward-shift deletion.
// std::unordered_map allocates a node per insert and chases a pointer per lookup; at ~100 ns per
// book update that alone would eat the budget, so the hot lookup lives in one flat array.
#pragma once

#include <cstdint>
#include <vector>

#include "minihft/lob/types.hpp"

namespace minihft {

class IdMap {
 public:
  static constexpr uint32_t kMissing = UINT32_MAX;

  explicit IdMap(size_t expected = 1024) { rehash(capacity_for(expected)); }

  uint32_t find(OrderId id) const {
    size_t i = slot_of(id);
    while (true) {
      const Entry& e = entries_[i];
      if (e.value == kMissing) return kMissing;
      if (e.key == id) return e.value;
      i = (i + 1) & mask_;
    }
  }

  // Returns false (and changes nothing) when the id is already present.
  bool insert(OrderId id, uint32_t value) {
    if ((size_ + 1) * 4 > entries_.size() * 3) rehash(entries_.size() * 2);
    size_t i = slot_of(id);
    while (entries_[i].value != kMissing) {
      if (entries_[i].key == id) return false;
      i = (i + 1) & mask_;
    }
    entries_[i] = Entry{id, value};
    ++size_;
    return true;
  }

  bool erase(OrderId id) {
    size_t i = slot_of(id);
    while (true) {
      if (entries_[i].value == kMissing) return false;
      if (entries_[i].key == id) break;
      i = (i + 1) & mask_;
    }
    // Backward-shift: pull later members of the probe run into the hole so no tombstones pile up.
    size_t hole = i;
    size_t j = i;
    while (true) {
      j = (j + 1) & mask_;
      if (entries_[j].value == kMissing) break;
      size_t home = slot_of(entries_[j].key);
      bool movable = (hole <= j) ? (home <= hole || home > j) : (home <= hole && home > j);
      if (movable) {
        entries_[hole] = entries_[j];
        hole = j;
      }
    }
    entries_[hole].value = kMissing;
    --size_;
    return true;
  }

  void clear() {
    for (Entry& e : entries_) e.value = kMissing;
    size_ = 0;
  }

  size_t size() const { return size_; }

 private:
  struct Entry {
    OrderId key = 0;
    uint32_t value = kMissing;
  };

  static size_t capacity_for(size_t expected) {
    size_t cap = 16;
    while (cap * 3 < expected * 4) cap *= 2;
    return cap;
  }

  size_t slot_of(OrderId id) const {
    // Fibonacci hashing spreads sequential venue ids across the table.
    return static_cast<size_t>((id * 0x9E3779B97F4A7C15ULL) >> shift_);
  }

  void rehash(size_t capacity) {
    std::vector<Entry> old;
    old.swap(entries_);
    entries_.assign(capacity, Entry{});
    mask_ = capacity - 1;
    shift_ = 64;
    for (size_t c = capacity; c > 1; c >>= 1) --shift_;
    size_ = 0;
    for (const Entry& e : old) {
      if (e.value != kMissing) insert(e.key, e.value);
    }
  }

  std::vector<Entry> entries_;
  size_t mask_ = 0;
  unsigned shift_ = 64;
  size_t size_ = 0;
};

}  // namespace minihft
