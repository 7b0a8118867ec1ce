// minihft._lob: the C++ core for Python. Batches in and out as numpy arrays; no per-event objects.
#include "bindings.hpp"

NB_MODULE(_lob, m) {
  m.doc() = "minihft C++ core: L3 order book, matching engine";
  minihft::py::bind_records(m);
  minihft::py::bind_book(m);
  minihft::py::bind_matching(m);
  minihft::py::bind_backtest(m);
}
