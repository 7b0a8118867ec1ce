// Order-id statistics of an ITCH file (ids, live orders, span of live ids, order lifetimes in
// messages); used to size DirectOrderIndex pages. Build: g++ -O2 itch_id_stats.cpp; run: FILE
// [every] id statistics of an ITCH file: max order ref, live orders over time, span of live ids
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <unordered_map>
#include <vector>
static uint64_t be(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = v << 8 | p[i];
  return v;
}
int main(int argc, char** argv) {
  FILE* f = fopen(argv[1], "rb");
  std::vector<uint8_t> d;
  {
    fseek(f, 0, SEEK_END);
    d.resize(ftell(f));
    fseek(f, 0, SEEK_SET);
    fread(d.data(), 1, d.size(), f);
  }
  std::unordered_map<uint64_t, uint64_t> live;
  std::unordered_map<uint64_t, int64_t> q;
  size_t pos = 0;
  uint64_t msgs = 0, maxid = 0, adds = 0, maxlive = 0;
  uint64_t lifesum = 0, dels = 0;
  std::vector<uint64_t> lifes;
  while (pos + 2 <= d.size()) {
    size_t len = be(&d[pos], 2);
    const uint8_t* m = &d[pos + 2];
    char t = m[0];
    if (t == 'A' || t == 'F') {
      uint64_t id = be(m + 11, 8);
      live[id] = msgs;
      q[id] = be(m + 20, 4);
      maxid = std::max(maxid, id);
      adds++;
    } else if (t == 'D') {
      uint64_t id = be(m + 11, 8);
      auto it = live.find(id);
      if (it != live.end()) {
        lifes.push_back(msgs - it->second);
        live.erase(it);
      }
    } else if (t == 'U') {
      uint64_t id = be(m + 11, 8), nid = be(m + 19, 8);
      auto it = live.find(id);
      if (it != live.end()) {
        lifes.push_back(msgs - it->second);
        live.erase(it);
      }
      live[nid] = msgs;
      q[nid] = be(m + 27, 4);
      maxid = std::max(maxid, nid);
    } else if (t == 'E' || t == 'C' || t == 'X') {
      uint64_t id = be(m + 11, 8);
      auto it = live.find(id);
      if (it != live.end()) {
        q[id] -= be(m + 19, 4);
        if (q[id] <= 0) {
          lifes.push_back(msgs - it->second);
          live.erase(it);
        }
      }
    }
    maxlive = std::max<uint64_t>(maxlive, live.size());
    msgs++;
    pos += 2 + len;
    if (msgs % (argc > 2 ? atoi(argv[2]) : 2000000) == 0) {
      uint64_t mn = UINT64_MAX;
      for (auto& kv : live) mn = std::min(mn, kv.first);
      printf("msg %lu live %zu maxid %lu minlive %lu span %lu\n", msgs, live.size(), maxid, mn,
             maxid - mn);
    }
  }
  std::sort(lifes.begin(), lifes.end());
  printf(
      "msgs %lu adds %lu maxid %lu maxlive %lu end live %zu; life(msgs) p50 %lu p90 %lu p99 %lu "
      "p999 %lu\n",
      msgs, adds, maxid, maxlive, live.size(), lifes[lifes.size() / 2],
      lifes[lifes.size() * 9 / 10], lifes[lifes.size() * 99 / 100],
      lifes[lifes.size() * 999 / 1000]);
}
