// Indexing of an in-memory ITCH stream in file framing, for the replay senders. No I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace minihft::live {

struct Frame {
  const uint8_t* msg;
  uint16_t len;
  int64_t ts;  // ITCH timestamp (ns since midnight), -1 when the message is too short to have one
};

// False with err naming the byte offset when a length prefix runs past the end.
inline bool index_frames(const uint8_t* p, size_t n, std::vector<Frame>& out, std::string& err) {
  size_t off = 0;
  while (off < n) {
    if (off + 2 > n) {
      err = "truncated length prefix at byte offset " + std::to_string(off);
      return false;
    }
    const uint16_t len = static_cast<uint16_t>((p[off] << 8) | p[off + 1]);
    if (len == 0 || off + 2 + len > n) {
      err = (len == 0 ? "zero-length message at byte offset "
                      : "message runs past the end at byte offset ") +
            std::to_string(off) + " (length " + std::to_string(len) + ", " + std::to_string(n) +
            " bytes total)";
      return false;
    }
    const uint8_t* m = p + off + 2;
    int64_t ts = -1;
    if (len >= 11) {  // type(1) locate(2) tracking(2) timestamp(6, BE)
      ts = 0;
      for (int i = 5; i < 11; ++i) ts = (ts << 8) | m[i];
    }
    out.push_back(Frame{m, len, ts});
    off += 2 + size_t{len};
  }
  return true;
}

// Replay pacing: when (steady ns) message i is due at `speed` times the recorded pace.
class Pacer {
 public:
  Pacer(double speed, int64_t start_ns) : speed_(speed), start_(start_ns) {}
  // speed <= 0 means as fast as possible: always due.
  int64_t due(int64_t ts) {
    if (speed_ <= 0 || ts < 0) return start_;
    if (ts0_ < 0) ts0_ = ts;
    if (ts < ts0_) return start_;
    return start_ + static_cast<int64_t>(static_cast<double>(ts - ts0_) / speed_);
  }

 private:
  double speed_;
  int64_t start_;
  int64_t ts0_ = -1;
};

}  // namespace minihft::live
