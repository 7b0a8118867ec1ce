#!/usr/bin/env bash
# Lay out build/typecheck/minihft exactly as the wheel installs it (python/minihft plus each
# services/<name> as minihft.services.<name>), as symlinks, so mypy checks the services too.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tree="$root/build/typecheck"
rm -rf "$tree"
mkdir -p "$tree/minihft/services"
for entry in "$root"/python/minihft/*; do
  name="$(basename "$entry")"
  [[ "$name" == services || "$name" == __pycache__ ]] && continue
  ln -s "$entry" "$tree/minihft/$name"
done
ln -s "$root/python/minihft/services/__init__.py" "$tree/minihft/services/__init__.py"
for svc in "$root"/services/*/; do
  [[ -f "$svc/__init__.py" ]] && ln -s "${svc%/}" "$tree/minihft/services/$(basename "$svc")"
done
