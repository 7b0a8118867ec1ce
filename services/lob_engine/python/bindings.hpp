// Each binding file adds its part of minihft._lob; module.cpp calls them in order.
#pragma once

#include <nanobind/nanobind.h>

namespace minihft::py {

void bind_records(nanobind::module_& m);
void bind_book(nanobind::module_& m);
void bind_matching(nanobind::module_& m);
void bind_backtest(nanobind::module_& m);

}  // namespace minihft::py
