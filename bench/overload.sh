#!/usr/bin/env bash
# Overload: the p99 of admitted requests when offered twice the server's places, against the
# same at its capacity and /healthz; the excess is answered 503 at once (docs/SECURITY.md
# "Overload"). Release server on SQLite with the demo world; the load generator is
# bench/examples/overload.rs (closed loop, one thread), sharing the 2 cores with the server.
#
#   cargo build --release -p vsys && bench/overload.sh
#
# PLACES (default 16) requests are served at once, as many again may queue for 100 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/vsys
PORT=${PORT:-18182}
DURATION=${DURATION:-10}
SITES=${SITES:-70000}
PLACES=${PLACES:-16}
WORK=$(mktemp -d)
[ -x "$BIN" ] || { echo "build first: cargo build --release -p vsys" >&2; exit 1; }
cargo build -q --release -p vsys-bench --example overload
GEN=target/release/examples/overload
cat >"$WORK/vsys.toml" <<TOML
[overload]
max_in_flight = $PLACES
max_queued = $PLACES
queue_wait_ms = 100
per_client = 100000
TOML
RUST_LOG=warn "$BIN" --config "$WORK/vsys.toml" --database-url "sqlite:$WORK/bench.db" serve --demo --sites "$SITES" --plain-http --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 1; done
TOKEN=$(curl -fs -X POST -H 'content-type: application/json' \
  -d '{"email":"tokyo-operator@demo.vsys.jp","password":"vsys-demo-password"}' \
  "http://127.0.0.1:$PORT/api/v1/session" | sed 's/.*"token":"\([^"]*\)".*/\1/')
# An uncached read that works for its answer (~1 ms): 東京都's idle stock. (Cached pages, such
# as a list's, answer in tens of microseconds and would measure the queue rather than work.)
LIST="http://127.0.0.1:$PORT/api/v1/stock/idle"
echo "$SITES sites, $PLACES places (+$PLACES queued for 100 ms), ${DURATION}s each; endpoint: 東京都's idle stock"
"$GEN" "http://127.0.0.1:$PORT/healthz" "$PLACES" "$DURATION" | sed 's/^/healthz (baseline)   /'
"$GEN" "$LIST" "$PLACES" "$DURATION" "$TOKEN" | sed 's/^/at capacity (1x)     /'
"$GEN" "$LIST" $((PLACES * 2)) "$DURATION" "$TOKEN" | sed 's/^/2x capacity          /'
"$GEN" "$LIST" $((PLACES * 4)) "$DURATION" "$TOKEN" | sed 's/^/4x capacity          /'
