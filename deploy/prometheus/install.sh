#!/usr/bin/env bash
# Debian's prometheus package (2.42) if the binary is missing. Only the binary is used: the
# scripts here and the tests start it themselves, never through the package's service.
set -euo pipefail
command -v prometheus >/dev/null && command -v promtool >/dev/null && exit 0
echo "prometheus: installing Debian's prometheus package"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus
