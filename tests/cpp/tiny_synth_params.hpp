// Hand-made generator tables for C++ tests of the synthetic ITCH day: tiny distributions, not the
// LOBSTER fit (that is tested in tests/unit/test_synthetic_itch.py).
#pragma once

#include <cstddef>
#include <cstdint>

#include "minihft/feed/synth.hpp"

namespace minihft::feed::itch::testing {

inline SynthParams tiny_synth_params(uint64_t seed, uint64_t messages, size_t symbols) {
  SynthParams p;
  p.seed = seed;
  p.messages = messages;
  p.p_attributed = 0.1;
  p.p_hidden = 0.05;
  for (auto& f : p.fate) {
    f.p_delete = 0.7;
    f.p_execute = 0.2;
    f.life_delete_ns = {0, 1e6, 1e8};
    f.life_execute_ns = {0, 1e7, 1e9};
  }
  p.p_replace = 0.2;
  p.p_partial_cancel = 0.1;
  p.p_exec_at_price = 0.1;
  p.exec_count_cdf = {0.6, 0.9, 1.0};
  p.arrival_ns = {0, 1e5, 1e6, 1e7};
  // two marketable entries: an aggressor of 150 shares and one taking the whole touch
  p.offset_ticks = {-3, -1, 0, 0, 1, 2, 5, 20, kMarketable - 150, kMarketable};
  p.sizes = {1, 50, 100, 100, 200, 500};
  p.spread_ticks = {1, 2, 5, 10};
  for (size_t i = 0; i < symbols; ++i) {
    Symbol s;
    s.fill(' ');
    s[0] = 'T';
    s[1] = static_cast<char>('A' + i);
    p.symbols.push_back(s);
    p.scale.push_back(1.0 + static_cast<double>(i));
    p.base_price.push_back(100'000 + 10'000 * static_cast<int64_t>(i));
  }
  return p;
}

}  // namespace minihft::feed::itch::testing
