#!/bin/bash
# Container health probe: GET /healthz, healthy on HTTP 200. Bash's /dev/tcp instead of curl keeps
# the slim runtime images free of an HTTP client. Port: first argument, else $MINIHFT_HEALTH_PORT.
set -u
port="${1:-${MINIHFT_HEALTH_PORT:-}}"
if [[ -z "$port" ]]; then
  echo "healthz: no port given (argument or MINIHFT_HEALTH_PORT)" >&2
  exit 2
fi
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
IFS= read -r -t 3 status <&3 || exit 1
[[ "$status" == HTTP/1.?" 200"* ]]
