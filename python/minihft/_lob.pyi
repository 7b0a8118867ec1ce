from typing import Annotated

import numpy
from numpy.typing import NDArray


STRUCT_SIZES: dict = ...

STRUCT_OFFSETS: dict = ...

def error_name(arg: int, /) -> str: ...

class BookBuilder:
    def __init__(self, expected_orders_per_symbol: int = 16384) -> None: ...

    def apply(self, events: Annotated[NDArray[numpy.uint8], dict(shape=(None,), order='C', device='cpu', writable=False)]) -> NDArray[numpy.uint8]: ...

    def apply_with_depth(self, events: Annotated[NDArray[numpy.uint8], dict(shape=(None,), order='C', device='cpu', writable=False)], levels: int) -> tuple: ...

    def depth(self, symbol_id: int, levels: int) -> NDArray[numpy.int64]: ...

    def order_count(self, symbol_id: int) -> int: ...

    def stats(self) -> dict: ...

    def reset_stats(self) -> None: ...

def lobster_replay(events: Annotated[NDArray[numpy.uint8], dict(shape=(None,), order='C', device='cpu', writable=False)], truth_depth: Annotated[NDArray[numpy.int64], dict(shape=(None, None, None), order='C', device='cpu', writable=False)], reconcile: bool) -> tuple: ...

def bench_book_apply(events: Annotated[NDArray[numpy.uint8], dict(shape=(None,), order='C', device='cpu', writable=False)], timed: bool) -> tuple: ...

class MatchingEngine:
    """Price-time matching engine; semantics in matching_engine.hpp"""

    def __init__(self, n_symbols: int = 64, expected_orders: int = 16384) -> None: ...

    def process(self, commands: Annotated[NDArray[numpy.uint8], dict(shape=(None,), order='C', device='cpu', writable=False)]) -> Annotated[NDArray[numpy.uint8], dict(shape=(None,))]:
        """
        uint8 view of ORDER_COMMAND records -> uint8 array of EXEC_REPORT records
        """

    def depth(self, symbol_id: int, side: int, n: int) -> Annotated[NDArray[numpy.uint8], dict(shape=(None,))]:
        """uint8 array of up to n DEPTH_LEVEL records, best first"""

    def order_qty(self, symbol_id: int, order_id: int) -> int | None: ...

    def counters(self) -> dict: ...

    @property
    def n_symbols(self) -> int: ...

def bench_match(commands: Annotated[NDArray[numpy.uint8], dict(shape=(None,), order='C', device='cpu', writable=False)], n_symbols: int = 64, expected_orders: int = 1048576) -> dict:
    """
    run the commands through a fresh engine twice: wall throughput, then per-command cycle-counter latency
    """
