"""The numpy dtypes must be byte-for-byte the C++ wire structs, or batches decode as garbage."""

from minihft import _lob, records


def test_struct_sizes_match_cpp() -> None:
    assert records.MD_EVENT.itemsize == _lob.STRUCT_SIZES["MdEvent"]
    assert records.ORDER_COMMAND.itemsize == _lob.STRUCT_SIZES["OrderCommand"]
    assert records.EXEC_REPORT.itemsize == _lob.STRUCT_SIZES["ExecReport"]
    assert records.DEPTH_LEVEL.itemsize == _lob.STRUCT_SIZES["DepthLevel"]


def test_field_offsets_match_cpp() -> None:
    dtypes = {
        "MdEvent": records.MD_EVENT,
        "OrderCommand": records.ORDER_COMMAND,
        "ExecReport": records.EXEC_REPORT,
        "DepthLevel": records.DEPTH_LEVEL,
    }
    for key, offset in _lob.STRUCT_OFFSETS.items():
        struct, field = key.split(".")
        assert dtypes[struct].fields[field][1] == offset, key
