// Sizes and field offsets of the wire structs, so Python can prove its dtypes match them.
#include <cstddef>

#include "bindings.hpp"
#include "minihft/lob/types.hpp"

namespace nb = nanobind;

namespace minihft::py {

void bind_records(nb::module_& m) {
  nb::dict sizes;
  sizes["MdEvent"] = sizeof(MdEvent);
  sizes["OrderCommand"] = sizeof(OrderCommand);
  sizes["ExecReport"] = sizeof(ExecReport);
  sizes["DepthLevel"] = sizeof(DepthLevel);
  m.attr("STRUCT_SIZES") = sizes;

  nb::dict offsets;
  offsets["MdEvent.qty"] = offsetof(MdEvent, qty);
  offsets["MdEvent.symbol_id"] = offsetof(MdEvent, symbol_id);
  offsets["MdEvent.flags"] = offsetof(MdEvent, flags);
  offsets["OrderCommand.account"] = offsetof(OrderCommand, account);
  offsets["OrderCommand.flags"] = offsetof(OrderCommand, flags);
  offsets["ExecReport.leaves_qty"] = offsetof(ExecReport, leaves_qty);
  offsets["ExecReport.liquidity"] = offsetof(ExecReport, liquidity);
  offsets["DepthLevel.orders"] = offsetof(DepthLevel, orders);
  m.attr("STRUCT_OFFSETS") = offsets;

  m.def("error_name", [](int code) { return to_string(static_cast<ErrorCode>(code)); });
}

}  // namespace minihft::py
