#!/usr/bin/env bash
# Starts substrate-contracts-node in dev mode on 127.0.0.1:9944, or reuses one that is
# already answering there. With --persist DIR the chain is kept in DIR across restarts;
# without it every start is a fresh chain. --stop stops the node this script started.
set -euo pipefail
export PATH="$HOME/.cargo/bin:$PATH"
PORT=9944
URL="http://127.0.0.1:$PORT"
STATE_DIR="${MEDCONSENT_NODE_DIR:-$HOME/.cache/medconsent/node}"
PID_FILE="$STATE_DIR/node.pid"
LOG_FILE="$STATE_DIR/node.log"
persist=""

usage() { echo "usage: scripts/node.sh [--persist DIR] [--stop]" >&2; exit 2; }

answering() {
  curl -sf -m 2 -H 'Content-Type: application/json' \
    -d '{"id":1,"jsonrpc":"2.0","method":"system_health","params":[]}' "$URL" >/dev/null 2>&1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --persist) [ $# -ge 2 ] || usage; persist=$2; shift 2 ;;
    --stop)
      if [ -f "$PID_FILE" ] && kill "$(cat "$PID_FILE")" 2>/dev/null; then
        echo "stopped the node (pid $(cat "$PID_FILE"))"
      else
        echo "no node started by this script is running"
      fi
      rm -f "$PID_FILE"
      exit 0 ;;
    *) usage ;;
  esac
done

if answering; then
  echo "a node already answers on $URL: reusing it"
  exit 0
fi
command -v substrate-contracts-node >/dev/null ||
  { echo "substrate-contracts-node is missing: run scripts/setup.sh" >&2; exit 1; }

mkdir -p "$STATE_DIR"
args=(--dev --rpc-port "$PORT")
if [ -n "$persist" ]; then
  mkdir -p "$persist"
  args+=(--base-path "$persist")
fi
nohup substrate-contracts-node "${args[@]}" >"$LOG_FILE" 2>&1 &
echo $! >"$PID_FILE"
for _ in $(seq 1 120); do
  if answering; then
    echo "node running on $URL (pid $(cat "$PID_FILE"), log $LOG_FILE${persist:+, state in $persist})"
    exit 0
  fi
  kill -0 "$(cat "$PID_FILE")" 2>/dev/null || break
  sleep 0.5
done
echo "the node did not come up; its log ($LOG_FILE) ends with:" >&2
tail -n 20 "$LOG_FILE" >&2
exit 1
