// Big-endian field access for ITCH. memcpy + byteswap compiles to one load and bswap, without the
// unaligned-access UB of casting into the buffer (fields sit at odd offsets).
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace minihft::feed::itch {

// C++20 has no std::byteswap; the builtins are what it lowers to.
inline uint16_t bswap(uint16_t v) { return __builtin_bswap16(v); }
inline uint32_t bswap(uint32_t v) { return __builtin_bswap32(v); }
inline uint64_t bswap(uint64_t v) { return __builtin_bswap64(v); }

inline uint16_t be16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return bswap(v);
}
inline uint32_t be32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return bswap(v);
}
inline uint64_t be64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return bswap(v);
}
// Six bytes exactly: an 8-byte load would read past the end of a final short frame.
inline uint64_t be48(const uint8_t* p) {
  return (static_cast<uint64_t>(be16(p)) << 32) | be32(p + 2);
}

inline void put8(std::vector<uint8_t>& o, uint8_t v) { o.push_back(v); }
inline void put16(std::vector<uint8_t>& o, uint16_t v) {
  o.push_back(static_cast<uint8_t>(v >> 8));
  o.push_back(static_cast<uint8_t>(v));
}
inline void put32(std::vector<uint8_t>& o, uint32_t v) {
  put16(o, static_cast<uint16_t>(v >> 16));
  put16(o, static_cast<uint16_t>(v));
}
inline void put48(std::vector<uint8_t>& o, uint64_t v) {
  put16(o, static_cast<uint16_t>(v >> 32));
  put32(o, static_cast<uint32_t>(v));
}
inline void put64(std::vector<uint8_t>& o, uint64_t v) {
  put32(o, static_cast<uint32_t>(v >> 32));
  put32(o, static_cast<uint32_t>(v));
}
inline void putn(std::vector<uint8_t>& o, const char* p, size_t n) { o.insert(o.end(), p, p + n); }

}  // namespace minihft::feed::itch
