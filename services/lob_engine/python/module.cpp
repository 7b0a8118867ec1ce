// minihft._lob: the C++ core for Python. Batches in and out as numpy arrays; no per-event objects.
#include <nanobind/nanobind.h>

#include "minihft/lob/types.hpp"

namespace nb = nanobind;

NB_MODULE(_lob, m) {
  m.doc() = "minihft C++ core: L3 order book, matching engine";
  m.attr("MD_EVENT_SIZE") = sizeof(minihft::MdEvent);
  m.def("error_name", [](int code) { return minihft::to_string(static_cast<minihft::ErrorCode>(code)); });
}
