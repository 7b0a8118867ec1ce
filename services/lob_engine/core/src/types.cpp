#include "minihft/lob/types.hpp"

namespace minihft {

const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::Ok:
      return "ok";
    case ErrorCode::UnknownOrder:
      return "unknown_order";
    case ErrorCode::DuplicateOrderId:
      return "duplicate_order_id";
    case ErrorCode::InvalidQty:
      return "invalid_qty";
    case ErrorCode::InvalidPrice:
      return "invalid_price";
    case ErrorCode::InvalidSide:
      return "invalid_side";
    case ErrorCode::InvalidType:
      return "invalid_type";
    case ErrorCode::WouldCross:
      return "would_cross";
    case ErrorCode::NotFillable:
      return "not_fillable";
    case ErrorCode::NoLiquidity:
      return "no_liquidity";
    case ErrorCode::SelfMatch:
      return "self_match";
    case ErrorCode::UnknownSymbol:
      return "unknown_symbol";
  }
  return "unknown_error";
}

}  // namespace minihft
