// Lock-free single-producer / single-consumer ring of trivially copyable elements.
//
// One thread may call the producer side (try_push, push_n, push_all, free_space), one other
// thread the consumer side (try_pop, pop_n, peek_n, consume, size). Indices grow without bound
// (u64, never wraps in practice) and are masked into a power-of-two buffer, so full and empty
// are told apart without a wasted slot. Each side keeps a private copy of the other side's
// index and only reloads it (one acquire load of a shared cache line) when the copy says the
// ring looks full or empty; that keeps the shared lines from bouncing on every element.
// Byte streams use SpscRing<uint8_t>; fixed-size records use SpscRing<Record>.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

namespace minihft {

inline constexpr size_t kCacheLine =
    64;  // x86-64 and most aarch64; avoids the GCC interference warning

template <typename T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>, "elements are moved with memcpy");

 public:
  // Capacity is rounded up to a power of two (at least 2).
  explicit SpscRing(size_t min_capacity)
      : capacity_(round_up_pow2(min_capacity)),
        mask_(capacity_ - 1),
        buf_(std::make_unique<T[]>(capacity_)) {}

  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  size_t capacity() const { return capacity_; }

  // --- producer side ---
  size_t free_space() {
    const uint64_t head = prod_.head.load(std::memory_order_relaxed);
    prod_.cached_tail = cons_.tail.load(std::memory_order_acquire);
    return capacity_ - static_cast<size_t>(head - prod_.cached_tail);
  }

  bool try_push(const T& v) { return push_all(&v, 1); }

  // Pushes up to n elements, returns how many went in.
  size_t push_n(const T* src, size_t n) {
    const uint64_t head = prod_.head.load(std::memory_order_relaxed);
    size_t room = capacity_ - static_cast<size_t>(head - prod_.cached_tail);
    if (room < n) {
      prod_.cached_tail = cons_.tail.load(std::memory_order_acquire);
      room = capacity_ - static_cast<size_t>(head - prod_.cached_tail);
    }
    const size_t k = std::min(room, n);
    if (k == 0) return 0;
    copy_in(head, src, k);
    prod_.head.store(head + k, std::memory_order_release);
    return k;
  }

  // All n elements or none: a variable-length record never becomes visible half written.
  bool push_all(const T* src, size_t n) {
    const uint64_t head = prod_.head.load(std::memory_order_relaxed);
    if (capacity_ - static_cast<size_t>(head - prod_.cached_tail) < n) {
      prod_.cached_tail = cons_.tail.load(std::memory_order_acquire);
      if (capacity_ - static_cast<size_t>(head - prod_.cached_tail) < n) return false;
    }
    copy_in(head, src, n);
    prod_.head.store(head + n, std::memory_order_release);
    return true;
  }

  // Two-part record (e.g. a length prefix and its payload) published at once.
  bool push_all2(const T* a, size_t na, const T* b, size_t nb) {
    const uint64_t head = prod_.head.load(std::memory_order_relaxed);
    const size_t n = na + nb;
    if (capacity_ - static_cast<size_t>(head - prod_.cached_tail) < n) {
      prod_.cached_tail = cons_.tail.load(std::memory_order_acquire);
      if (capacity_ - static_cast<size_t>(head - prod_.cached_tail) < n) return false;
    }
    copy_in(head, a, na);
    copy_in(head + na, b, nb);
    prod_.head.store(head + n, std::memory_order_release);
    return true;
  }

  // --- consumer side ---
  size_t size() {
    const uint64_t tail = cons_.tail.load(std::memory_order_relaxed);
    cons_.cached_head = prod_.head.load(std::memory_order_acquire);
    return static_cast<size_t>(cons_.cached_head - tail);
  }
  bool empty() { return size() == 0; }

  bool try_pop(T& out) { return pop_n(&out, 1) == 1; }

  // Pops up to max elements into dst, returns how many.
  size_t pop_n(T* dst, size_t max) {
    const size_t k = peek_n(dst, max);
    if (k != 0) consume(k);
    return k;
  }

  // Copies up to max readable elements without consuming them.
  size_t peek_n(T* dst, size_t max) {
    const uint64_t tail = cons_.tail.load(std::memory_order_relaxed);
    size_t avail = static_cast<size_t>(cons_.cached_head - tail);
    if (avail < max) {
      cons_.cached_head = prod_.head.load(std::memory_order_acquire);
      avail = static_cast<size_t>(cons_.cached_head - tail);
    }
    const size_t k = std::min(avail, max);
    copy_out(tail, dst, k);
    return k;
  }

  // Releases n elements previously seen through peek_n; n must not exceed what was peeked.
  void consume(size_t n) {
    const uint64_t tail = cons_.tail.load(std::memory_order_relaxed);
    cons_.tail.store(tail + n, std::memory_order_release);
  }

 private:
  static size_t round_up_pow2(size_t v) {
    size_t c = 2;
    while (c < v) c <<= 1;
    return c;
  }

  void copy_in(uint64_t pos, const T* src, size_t n) {
    const size_t i = static_cast<size_t>(pos) & mask_;
    const size_t first = std::min(n, capacity_ - i);
    std::memcpy(&buf_[i], src, first * sizeof(T));
    if (n > first) std::memcpy(&buf_[0], src + first, (n - first) * sizeof(T));
  }
  void copy_out(uint64_t pos, T* dst, size_t n) const {
    const size_t i = static_cast<size_t>(pos) & mask_;
    const size_t first = std::min(n, capacity_ - i);
    std::memcpy(dst, &buf_[i], first * sizeof(T));
    if (n > first) std::memcpy(dst + first, &buf_[0], (n - first) * sizeof(T));
  }

  const size_t capacity_;
  const size_t mask_;
  std::unique_ptr<T[]> buf_;

  // Producer-owned line: its index and its stale view of the consumer's.
  struct alignas(kCacheLine) Producer {
    std::atomic<uint64_t> head{0};
    uint64_t cached_tail = 0;
  } prod_;
  // Consumer-owned line.
  struct alignas(kCacheLine) Consumer {
    std::atomic<uint64_t> tail{0};
    uint64_t cached_head = 0;
  } cons_;
};

}  // namespace minihft
