#!/bin/bash
# Runs redis-server as `redis`, adding `--protected-mode no` when the command does not set it.
set -euo pipefail
if [[ "${1:-}" != redis-server ]]; then exec "$@"; fi
shift
args=("$@")
if [[ " ${args[*]} " != *" --protected-mode "* ]]; then args+=(--protected-mode no); fi
exec setpriv --reuid=redis --regid=redis --init-groups redis-server "${args[@]}"
