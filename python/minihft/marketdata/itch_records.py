"""numpy twins of the ITCH 5.0 reference records in services/feed_handler/native (itch.hpp).

One structured dtype per reference message type. Offsets are explicit (padding is not a field),
and tests/unit/test_itch_roundtrip.py checks every offset and size against `_feed.LAYOUTS`.
Single-byte codes are `S1`, symbols `S8` (space padded as on the wire), prices uint32 in 1e-4 $
ticks except the MWCB levels (uint64, 1e-8 $).

MD_EVENT fields for ITCH (see itch.hpp): E/C/P/Q/B carry the match number in `new_order_id`;
flags: FLAG_CROSS (Q), FLAG_BROKEN (B), FLAG_PRINTABLE (C), FLAG_ATTRIBUTED (F), and the Q cross
type code in bits 4..6. H also yields a TRADING_STATUS event, flags = STATUS_* (1..3 as in the
LOBSTER reader).
"""

from __future__ import annotations

import numpy as np

FLAG_CROSS = 0x01
FLAG_BROKEN = 0x02
FLAG_PRINTABLE = 0x04
FLAG_ATTRIBUTED = 0x08
CROSS_TYPE_SHIFT = 4
STATUS_HALTED, STATUS_QUOTING, STATUS_TRADING, STATUS_PAUSED = 1, 2, 3, 4
CROSS_TYPES = {1: "O", 2: "C", 3: "H", 4: "I", 5: "A"}

_HEAD: list[tuple[str, str, int]] = [
    ("ts", "<i8", 0),
    ("seq", "<u8", 8),
    ("locate", "<u2", 16),
    ("tracking", "<u2", 18),
]


def _dtype(size: int, fields: list[tuple[str, str, int]]) -> np.dtype[np.void]:
    allf = _HEAD + fields
    return np.dtype(
        {
            "names": [f[0] for f in allf],
            "formats": [f[1] for f in allf],
            "offsets": [f[2] for f in allf],
            "itemsize": size,
        }
    )


SYSTEM_EVENT = _dtype(24, [("event_code", "S1", 20)])
STOCK_DIRECTORY = _dtype(
    48,
    [
        ("round_lot_size", "<u4", 20),
        ("etp_leverage_factor", "<u4", 24),
        ("stock", "S8", 28),
        ("market_category", "S1", 36),
        ("financial_status", "S1", 37),
        ("round_lots_only", "S1", 38),
        ("issue_classification", "S1", 39),
        ("issue_subtype", "S2", 40),
        ("authenticity", "S1", 42),
        ("short_sale_threshold", "S1", 43),
        ("ipo_flag", "S1", 44),
        ("luld_tier", "S1", 45),
        ("etp_flag", "S1", 46),
        ("inverse", "S1", 47),
    ],
)
TRADING_ACTION = _dtype(
    40,
    [
        ("stock", "S8", 20),
        ("trading_state", "S1", 28),
        ("reserved", "S1", 29),
        ("reason", "S4", 30),
    ],
)
REG_SHO = _dtype(32, [("stock", "S8", 20), ("action", "S1", 28)])
PARTICIPANT_POSITION = _dtype(
    40,
    [
        ("mpid", "S4", 20),
        ("stock", "S8", 24),
        ("primary_market_maker", "S1", 32),
        ("market_maker_mode", "S1", 33),
        ("participant_state", "S1", 34),
    ],
)
MWCB_DECLINE = _dtype(48, [("level1", "<u8", 24), ("level2", "<u8", 32), ("level3", "<u8", 40)])
MWCB_STATUS = _dtype(24, [("breached_level", "S1", 20)])
IPO_QUOTING = _dtype(
    40,
    [
        ("release_time", "<u4", 20),
        ("ipo_price", "<u4", 24),
        ("stock", "S8", 28),
        ("release_qualifier", "S1", 36),
    ],
)
LULD_COLLAR = _dtype(
    48,
    [
        ("ref_price", "<u4", 20),
        ("upper_price", "<u4", 24),
        ("lower_price", "<u4", 28),
        ("extension", "<u4", 32),
        ("stock", "S8", 36),
    ],
)
OPERATIONAL_HALT = _dtype(
    32, [("stock", "S8", 20), ("market_code", "S1", 28), ("action", "S1", 29)]
)
NOII = _dtype(
    64,
    [
        ("far_price", "<u4", 20),
        ("paired_shares", "<u8", 24),
        ("imbalance_shares", "<u8", 32),
        ("near_price", "<u4", 40),
        ("ref_price", "<u4", 44),
        ("stock", "S8", 48),
        ("direction", "S1", 56),
        ("cross_type", "S1", 57),
        ("price_variation", "S1", 58),
    ],
)
RPII = _dtype(32, [("stock", "S8", 20), ("interest_flag", "S1", 28)])
DLCR_PRICE = _dtype(
    64,
    [
        ("min_price", "<u4", 20),
        ("near_execution_time", "<u8", 24),
        ("max_price", "<u4", 32),
        ("near_price", "<u4", 36),
        ("lower_collar", "<u4", 40),
        ("upper_collar", "<u4", 44),
        ("stock", "S8", 48),
        ("open_eligibility", "S1", 56),
    ],
)

# Table name (as returned by the parser) -> (ITCH type byte, dtype).
REFERENCE_TABLES: dict[str, tuple[str, np.dtype[np.void]]] = {
    "system_events": ("S", SYSTEM_EVENT),
    "stock_directory": ("R", STOCK_DIRECTORY),
    "trading_actions": ("H", TRADING_ACTION),
    "reg_sho": ("Y", REG_SHO),
    "participant_positions": ("L", PARTICIPANT_POSITION),
    "mwcb_decline": ("V", MWCB_DECLINE),
    "mwcb_status": ("W", MWCB_STATUS),
    "ipo_quoting": ("K", IPO_QUOTING),
    "luld_collars": ("J", LULD_COLLAR),
    "operational_halts": ("h", OPERATIONAL_HALT),
    "noii": ("I", NOII),
    "rpii": ("N", RPII),
    "dlcr_prices": ("O", DLCR_PRICE),
}
