#include "bindings.hpp"

namespace minihft::py {

void bind_matching(nanobind::module_& m) { (void)m; }

}  // namespace minihft::py
