#include "bindings.hpp"

namespace minihft::py {

void bind_book(nanobind::module_& m) { (void)m; }

}  // namespace minihft::py
