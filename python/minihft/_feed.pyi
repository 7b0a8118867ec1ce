from collections.abc import Sequence
from typing import Annotated

import numpy
from numpy.typing import NDArray


class Parser:
    def __init__(self, on_error: str = 'stop') -> None: ...

    def feed(self, arg: Annotated[NDArray[numpy.uint8], dict(shape=(None,), order='C', device='cpu', writable=False)], /) -> object: ...

    def finish(self) -> object: ...

    def take(self) -> dict: ...

    def pending_events(self) -> int: ...

    def counters(self) -> dict: ...

    @property
    def offset(self) -> int: ...

def message_length(arg: str, /) -> int: ...

def encode_events(events: Annotated[NDArray[numpy.uint8], dict(shape=(None,), order='C', device='cpu', writable=False)], symbols: Sequence[str], next_match: int = 0) -> tuple: ...

def encode_reference(table: str, records: Annotated[NDArray[numpy.uint8], dict(shape=(None,), order='C', device='cpu', writable=False)]) -> bytes: ...

def bench_parse(data: Annotated[NDArray[numpy.uint8], dict(shape=(None,), order='C', device='cpu', writable=False)], runs: int = 3, slice_bytes: int = 262144) -> dict: ...

def bench_book(data: Annotated[NDArray[numpy.uint8], dict(shape=(None,), order='C', device='cpu', writable=False)], runs: int = 3, slice_bytes: int = 262144, expected_orders: int = 1024, group: bool = False) -> dict: ...

class SynthGenerator:
    def __init__(self, arg: dict, /) -> None: ...

    def next(self, arg: int, /) -> bytes: ...

    @property
    def done(self) -> bool: ...

    @property
    def written(self) -> int: ...

    @property
    def now(self) -> int: ...

LAYOUTS: dict = ...

FLAG_CROSS: int = 1

FLAG_BROKEN: int = 2

FLAG_PRINTABLE: int = 4

FLAG_ATTRIBUTED: int = 8

CROSS_TYPE_SHIFT: int = 4

STATUS_HALTED: int = 1

STATUS_QUOTING: int = 2

STATUS_TRADING: int = 3

STATUS_PAUSED: int = 4
