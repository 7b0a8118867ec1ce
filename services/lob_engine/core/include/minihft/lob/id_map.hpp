// OrderId -> slot index, open addressing with linear probing and backward-shift deletion.
// std::unordered_map allocates a node per insert and chases a pointer per lookup; at ~100 ns per
// book update that alone would eat the budget, so the hot lookup lives in one flat array.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "minihft/lob/types.hpp"

namespace minihft {

// A cache-line prefetch the compiler keeps. GCC's IPA pure-const pass treats a function that only
// loads and calls __builtin_prefetch as pure, so a call to such a helper (void result) is deleted
// whenever the helper is not inlined first: BookBuilder's look-ahead prefetch compiled to nothing
// at -O2/-O3 (GCC 12; found 2026-11-25, the object code had no prefetch instruction). An asm
// volatile statement is never deleted. Prefetching never faults; null is skipped only so that no
// null pointer is formed into an lvalue.
inline void prefetch_line(const void* p) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  if (p != nullptr) asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

namespace detail {

// Backward-shift deletion for linear probing: empties slot `i` by pulling later members of its
// probe run into the hole, so no tombstones pile up. An entry may move back when the hole is no
// farther from it than its home slot is. `home(key)` gives an entry's home slot.
template <typename Entry, typename Home>
inline void backward_shift_erase(Entry* entries, size_t mask, size_t i, Home home) {
  size_t hole = i;
  for (size_t j = (i + 1) & mask; entries[j].value != UINT32_MAX; j = (j + 1) & mask) {
    if (((j - home(entries[j].key)) & mask) >= ((j - hole) & mask)) {
      entries[hole] = entries[j];
      hole = j;
    }
  }
  entries[hole].value = UINT32_MAX;
}

}  // namespace detail

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
    detail::backward_shift_erase(entries_.data(), mask_, i,
                                 [this](OrderId key) { return slot_of(key); });
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

// (OrderId, owner) -> slot: the one order table that every book of a BookBuilder shares. Venue
// order ids are handed out in sequence across the whole feed, so consecutive adds (of different
// symbols) carry consecutive ids. The hash keeps 16 consecutive ids in 16 neighbouring slots and
// scatters the groups, so a burst of adds writes a few hot cache lines instead of one cold line
// per add, while strided or clustered ids still spread over the table. At most half full: a
// group's entries that find their slots taken spill into the next (cold) line. The owner is
// compared but not hashed (hashing it would scatter those consecutive adds again); two owners using
// the same ids only lengthen one probe run. Storage for the big shared tables (OrderIndex, the
// order pool): cache-line aligned, so a slot group is whole lines; large blocks also 2 MiB aligned
// and marked for transparent huge pages. Lookups land anywhere in tables of tens of MB; with 4 KiB
// pages nearly each one also misses the TLB (measured: the 20M-message, 3000-symbol day ran ~1.3x
// slower without huge pages).
template <typename T>
struct PoolAllocator {
  using value_type = T;
  static constexpr size_t kHuge = size_t{2} << 20;
  PoolAllocator() = default;
  template <typename U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}  // NOLINT: rebind
  T* allocate(size_t n) {
    size_t bytes = n * sizeof(T);
    if (bytes < 2 * kHuge) return static_cast<T*>(::operator new(bytes, std::align_val_t{64}));
    void* p = ::operator new(bytes, std::align_val_t{kHuge});
#ifdef MADV_HUGEPAGE
    madvise(p, (bytes + kHuge - 1) & ~(kHuge - 1), MADV_HUGEPAGE);  // a hint: failure is harmless
#endif
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) noexcept {
    size_t bytes = n * sizeof(T);
    ::operator delete(p, std::align_val_t{bytes < 2 * kHuge ? 64 : kHuge});
  }
  template <typename U>
  bool operator==(const PoolAllocator<U>&) const noexcept {
    return true;
  }
};

class OrderIndex {
 public:
  static constexpr uint32_t kMissing = UINT32_MAX;

  explicit OrderIndex(size_t expected = 1024) { rehash(capacity_for(expected)); }

  uint32_t find(OrderId id, uint32_t owner) const {
    size_t i = slot_of(id);
    while (true) {
      const Entry& e = entries_[i];
      if (e.value == kMissing) return kMissing;
      if (e.key == id && e.owner == owner) return e.value;
      i = (i + 1) & mask_;
    }
  }

  // Starts loading the line a find(id, ...) would probe first.
  void prefetch(OrderId id) const { prefetch_line(&entries_[slot_of(id)]); }

  // Returns false (and changes nothing) when (id, owner) is already present.
  bool insert(OrderId id, uint32_t owner, uint32_t value) {
    if ((size_ + 1) * 2 > entries_.size()) rehash(entries_.size() * 2);
    size_t i = slot_of(id);
    while (entries_[i].value != kMissing) {
      if (entries_[i].key == id && entries_[i].owner == owner) return false;
      i = (i + 1) & mask_;
    }
    entries_[i] = Entry{id, owner, value};
    ++size_;
    return true;
  }

  bool erase(OrderId id, uint32_t owner) {
    size_t i = slot_of(id);
    while (true) {
      if (entries_[i].value == kMissing) return false;
      if (entries_[i].key == id && entries_[i].owner == owner) break;
      i = (i + 1) & mask_;
    }
    detail::backward_shift_erase(entries_.data(), mask_, i,
                                 [this](OrderId key) { return slot_of(key); });
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
    uint32_t owner = 0;
    uint32_t value = kMissing;
  };

  // 4 slots of 16 bytes: one cache line per group. Wider groups save a little more memory traffic
  // but lengthen probe runs (measured: 16-slot groups cost ~15% more instructions per event).
  static constexpr unsigned kGroupBits = 2;

  static size_t capacity_for(size_t expected) {
    size_t cap = 64;
    while (cap < expected * 2) cap *= 2;
    return cap;
  }

  size_t slot_of(OrderId id) const {
    const uint64_t group = ((id >> kGroupBits) * 0x9E3779B97F4A7C15ULL) >> shift_;
    return static_cast<size_t>((group << kGroupBits) | (id & ((1u << kGroupBits) - 1)));
  }

  void rehash(size_t capacity) {
    std::vector<Entry, PoolAllocator<Entry>> old;
    old.swap(entries_);
    entries_.assign(capacity, Entry{});
    mask_ = capacity - 1;
    shift_ = 64 + kGroupBits;
    for (size_t c = capacity; c > 1; c >>= 1) --shift_;
    size_ = 0;
    for (const Entry& e : old) {
      if (e.value != kMissing) insert(e.key, e.owner, e.value);
    }
  }

  std::vector<Entry, PoolAllocator<Entry>> entries_;
  size_t mask_ = 0;
  unsigned shift_ = 64;
  size_t size_ = 0;
};

// (OrderId, owner) -> slot for the order store of OrderBook: the id itself addresses the entry.
// A feed hands out order ids in sequence over a day (ITCH order reference numbers across all
// symbols), so a direct table in pages of 1024 ids replaces hashing, probing and backward shifts
// with one indexed load, and the ids of consecutive adds share a line (8 entries) instead of each
// taking a line of its own. A page whose orders have all left is all-missing again, so it goes to a
// spare list and is reused without a reset: memory follows the ids in use, not the highest id.
// Not every stream is dense: a LOBSTER file carries one symbol's orders out of the whole market's
// sequence (~1 % of the ids), where a page per order would waste memory and cache. So past the
// first 1024 open pages a new page is opened only while the pages opened so far have taken at
// least 1/16 of their ids on average; other ids go to a hashed OrderIndex, as do ids beyond the
// direct range and a second owner of an id another owner holds directly. (Until 2026-11-25 the
// rule was the fill of the open pages. On a long dense day a few orders rest for hours, each
// keeping its page open, so the open pages are sparse even though every id passed through them:
// on the 20M-message, 3000-symbol day 42k live orders held 3.3k pages, and from ~1M messages on
// most new ids were hashed, 70 % of lookups, ~1.5x the time per message. Pages of 64 ids, 4x less
// memory there, ran no faster and need a 16x larger directory: 72 MB for LOBSTER's ids up to
// 2.9e8.) find checks the hashed part only when it is not empty: a dense feed never touches it.
class DirectOrderIndex {
 public:
  static constexpr uint32_t kMissing = UINT32_MAX;

  explicit DirectOrderIndex(size_t expected = 1024) : far_(expected) {
    dir_.reserve(expected / kPageSize + 1);
  }
  DirectOrderIndex(const DirectOrderIndex& o)
      : dir_(o.dir_),
        far_(o.far_),
        size_(o.size_),
        pages_(o.pages_),
        opened_(o.opened_),
        direct_inserts_(o.direct_inserts_) {
    for (Slot& d : dir_) {
      if (d.page == nullptr) continue;
      Page* p = take_page();
      *p = *d.page;
      d.page = p;
    }
  }
  DirectOrderIndex& operator=(const DirectOrderIndex& o) {
    if (this != &o) *this = DirectOrderIndex(o);
    return *this;
  }
  DirectOrderIndex(DirectOrderIndex&& o) noexcept : far_(16) { swap(o); }
  DirectOrderIndex& operator=(DirectOrderIndex&& o) noexcept {
    if (this != &o) {
      DirectOrderIndex gone(std::move(*this));
      swap(o);
    }
    return *this;
  }
  ~DirectOrderIndex() {
    PoolAllocator<Page> alloc;
    for (const Chunk& c : chunks_) alloc.deallocate(c.pages, c.count);
  }

  uint32_t find(OrderId id, uint32_t owner) const {
    if (const Entry* e = entry(id); e && e->value != kMissing && e->owner == owner) return e->value;
    return far_.size() == 0 ? kMissing : far_.find(id, owner);
  }

  // Starts loading the line a find(id, ...) reads.
  void prefetch(OrderId id) const {
    if (const Entry* e = entry(id)) prefetch_line(e);
  }

  // For look-ahead hints, without branches on the id (a decoder hints at frames of every type,
  // and a branch per hint on whether the id is direct mispredicted ~2x per message): the entry an
  // id would be read from and the slot it holds, kMissing if none. Neither checks the owner nor
  // the hashed part, and an id past the directory reads page 0: a wrong guess wastes a prefetch.
  const void* hint_line(OrderId id) const { return &hint_entry(id); }
  uint32_t hint_value(OrderId id) const { return hint_entry(id).value; }

  // Returns false (and changes nothing) when (id, owner) is already present.
  bool insert(OrderId id, uint32_t owner, uint32_t value) {
    const uint64_t pi = id >> kPageBits;
    if (Slot* d = slot_for_insert(pi)) {
      Entry& e = d->page->e[id & kPageMask];
      if (e.value == kMissing) {
        if (far_.size() != 0 && far_.find(id, owner) != kMissing) return false;
        e = Entry{value, owner};
        ++d->live;
        ++size_;
        ++direct_inserts_;
        return true;
      }
      if (e.owner == owner) return false;
    }
    if (!far_.insert(id, owner, value)) return false;
    ++size_;
    return true;
  }

  bool erase(OrderId id, uint32_t owner) {
    const uint64_t pi = id >> kPageBits;
    if (pi < dir_.size() && dir_[pi].page) {
      Slot& d = dir_[pi];
      Entry& e = d.page->e[id & kPageMask];
      if (e.value != kMissing && e.owner == owner) {
        e.value = kMissing;
        --size_;
        if (--d.live == 0) {
          spare_.push_back(d.page);
          d.page = nullptr;
          --pages_;
        }
        return true;
      }
    }
    if (far_.size() == 0 || !far_.erase(id, owner)) return false;
    --size_;
    return true;
  }

  void clear() {
    for (Slot& d : dir_) {
      if (d.page == nullptr) continue;
      for (Entry& e : d.page->e) e.value = kMissing;
      spare_.push_back(d.page);
      d = Slot{};
    }
    far_.clear();
    size_ = 0;
    pages_ = 0;
    opened_ = 0;
    direct_inserts_ = 0;
  }

  size_t size() const { return size_; }
  // Entries in the hashed part (sparse or out-of-range ids): 0 for a dense feed.
  size_t hashed() const { return far_.size(); }

 private:
  static constexpr unsigned kPageBits = 10;
  static constexpr size_t kPageSize = size_t{1} << kPageBits;
  static constexpr uint64_t kPageMask = kPageSize - 1;
  static constexpr uint64_t kMaxPages = uint64_t{1} << 20;  // direct ids < 2^30: directory <= 16 MB
  // Up to kFreePages open pages (8 MiB) regardless of density: the default synthetic day has ~7k
  // live orders spread over ~500 pages (1.4 % full), and a hashed index there cost ~30% more time
  // per message. Beyond that a page is opened only while opened pages have taken 1/kMinFill of
  // their ids on average.
  static constexpr size_t kFreePages = 1024;
  static constexpr size_t kMinFill = 16;
  // Pages are cut from chunks that double up to 512 pages (4 MiB): big chunks get huge pages
  // from PoolAllocator, so lookups spread over tens of MB (the 20M-message day) do not each miss
  // the TLB, while a small book's index stays small.
  static constexpr size_t kFirstChunk = 8;
  static constexpr size_t kMaxChunk = 512;

  struct Entry {
    uint32_t value = kMissing;
    uint32_t owner = 0;
  };
  struct Page {
    Entry e[kPageSize];
  };
  struct Slot {
    Page* page = nullptr;  // null: no live id in this page
    size_t live = 0;       // entries of the page not missing
  };
  static const Page kNoPage;  // all missing: what hint_entry reads for a closed page
  struct Chunk {
    Page* pages;
    size_t count;
  };

  void swap(DirectOrderIndex& o) noexcept {
    std::swap(dir_, o.dir_);
    std::swap(spare_, o.spare_);
    std::swap(chunks_, o.chunks_);
    std::swap(chunk_used_, o.chunk_used_);
    std::swap(far_, o.far_);
    std::swap(size_, o.size_);
    std::swap(pages_, o.pages_);
    std::swap(opened_, o.opened_);
    std::swap(direct_inserts_, o.direct_inserts_);
  }

  const Entry* entry(OrderId id) const {
    const uint64_t pi = id >> kPageBits;
    if (pi >= dir_.size()) return nullptr;
    const Page* p = dir_[pi].page;
    return p ? &p->e[id & kPageMask] : nullptr;
  }

  const Entry& hint_entry(OrderId id) const {
    const size_t n = dir_.size();
    if (n == 0) return kNoPage.e[0];
    uint64_t pi = id >> kPageBits;
    pi = pi < n ? pi : 0;
    const Page* p = dir_[pi].page;
    p = p != nullptr ? p : &kNoPage;
    return p->e[id & kPageMask];
  }

  // The directory slot an id goes to, its page opened if needed and allowed; nullptr: far_.
  Slot* slot_for_insert(uint64_t pi) {
    if (pi < dir_.size() && dir_[pi].page) return &dir_[pi];
    if (pi >= kMaxPages) return nullptr;
    if (pages_ >= kFreePages && direct_inserts_ * kMinFill < opened_ * kPageSize) return nullptr;
    if (pi >= dir_.size()) dir_.resize(pi + 1);
    dir_[pi] = Slot{take_page(), 0};
    ++pages_;
    ++opened_;
    return &dir_[pi];
  }

  // An all-missing page: a drained one, else a fresh one from the current chunk.
  Page* take_page() {
    if (!spare_.empty()) {
      Page* p = spare_.back();
      spare_.pop_back();
      return p;
    }
    if (chunks_.empty() || chunk_used_ == chunks_.back().count) {
      const size_t n =
          chunks_.empty() ? kFirstChunk : std::min(kMaxChunk, 2 * chunks_.back().count);
      chunks_.push_back(Chunk{PoolAllocator<Page>().allocate(n), n});
      chunk_used_ = 0;
    }
    return new (&chunks_.back().pages[chunk_used_++]) Page;
  }

  std::vector<Slot> dir_;
  std::vector<Page*> spare_;   // drained pages: all entries missing
  std::vector<Chunk> chunks_;  // owned storage of every page
  size_t chunk_used_ = 0;      // pages handed out from chunks_.back()
  OrderIndex far_;
  size_t size_ = 0;
  size_t pages_ = 0;             // slots of dir_ with a page
  uint64_t opened_ = 0;          // pages ever opened (since the last clear)
  uint64_t direct_inserts_ = 0;  // ids ever inserted in a page (since the last clear)
};

inline const DirectOrderIndex::Page DirectOrderIndex::kNoPage{};

}  // namespace minihft
