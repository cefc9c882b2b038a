#!/usr/bin/env bash
# Load test of a running release server on loopback with wrk (Debian package `wrk`).
# Every figure is printed with its ratio to /healthz measured in the same run.
#
#   cargo build --release -p vsys && bench/http.sh [DATABASE_URL]
#   SITES=70000 bench/http.sh            # the national world (the issue's figures)
#
# Bounded: each endpoint runs for $DURATION seconds (default 10) with $CONNS connections.
# Before measuring, the script divides the demo cycle down to 東京都's municipalities through
# the API (nation: auto-fill and 分配完了; 東京都: the same), so that a prefecture's and a large
# municipality's (世田谷区, hundreds of sites) divisions exist.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/vsys
PORT=${PORT:-18181}
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
SITES=${SITES:-3000}
WORK=$(mktemp -d)
URL=${1:-sqlite:$WORK/bench.db}
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk" >&2; exit 1; }
[ -x "$BIN" ] || { echo "build first: cargo build --release -p vsys" >&2; exit 1; }

RUST_LOG=warn "$BIN" --database-url "$URL" serve --demo --sites "$SITES" --plain-http --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 1; done

TOKEN=$(curl -fs -X POST -H 'content-type: application/json' \
  -d '{"email":"minato-operator@demo.vsys.jp","password":"vsys-demo-password"}' \
  "http://127.0.0.1:$PORT/api/v1/session" | sed 's/.*"token":"\([^"]*\)".*/\1/')
NATION=$(curl -fs -X POST -H 'content-type: application/json' \
  -d '{"email":"nation-operator@demo.vsys.jp","password":"vsys-demo-password"}' \
  "http://127.0.0.1:$PORT/api/v1/session" | sed 's/.*"token":"\([^"]*\)".*/\1/')
CYCLE=$(curl -fs -H "Authorization: Bearer $NATION" "http://127.0.0.1:$PORT/api/v1/cycles" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
B="http://127.0.0.1:$PORT/api/v1"
TOKYO=$(curl -fs -X POST -H 'content-type: application/json' \
  -d '{"email":"tokyo-operator@demo.vsys.jp","password":"vsys-demo-password"}' \
  "$B/session" | sed 's/.*"token":"\([^"]*\)".*/\1/')
CODE=$(RUST_LOG=error "$BIN" --database-url "$URL" user totp-code --email nation-admin@demo.vsys.jp)
ADMIN=$(curl -fs -X POST -H 'content-type: application/json' \
  -d "{\"email\":\"nation-admin@demo.vsys.jp\",\"password\":\"vsys-demo-password\",\"totp\":\"$CODE\"}" \
  "$B/session" | sed 's/.*"token":"\([^"]*\)".*/\1/')
WHOLESALER=$(curl -fs -X POST -H 'content-type: application/json' \
  -d '{"email":"wholesaler-operator@demo.vsys.jp","password":"vsys-demo-password"}' \
  "$B/session" | sed 's/.*"token":"\([^"]*\)".*/\1/')
divide() { # token org: confirm (if needed), auto-fill with the cycle's formula, 分配完了
  local tok=$1 org=$2 etag
  curl -fs -o /dev/null -X POST -H "Authorization: Bearer $tok" "$B/cycles/$CYCLE/allocations/$org/confirm" || true
  etag=$(curl -fs -D - -o /dev/null -H "Authorization: Bearer $tok" "$B/cycles/$CYCLE/allocations/$org" | awk 'tolower($1)=="etag:" {print $2}' | tr -d '\r')
  curl -fs -o /dev/null -X POST -H "Authorization: Bearer $tok" -H "If-Match: $etag" -H 'content-type: application/json' -d '{}' "$B/cycles/$CYCLE/allocations/$org/autofill"
  curl -fs -o /dev/null -X POST -H "Authorization: Bearer $tok" "$B/cycles/$CYCLE/allocations/$org/finish"
}
CLINIC=$(curl -fs -X POST -H 'content-type: application/json' \
  -d '{"email":"clinic-operator@demo.vsys.jp","password":"vsys-demo-password"}' \
  "$B/session" | sed 's/.*"token":"\([^"]*\)".*/\1/')
SITE=$(curl -fs -H "Authorization: Bearer $CLINIC" "$B/me" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["org_code"])')
divide "$NATION" JP
divide "$TOKYO" 13
# Let the server's background checkpoint copy the divisions' WAL into the database before
# measuring (otherwise the first endpoints share the cores with it).
sleep "${SETTLE:-10}"
cat >"$WORK/login.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"email":"tokyo-operator@demo.vsys.jp","password":"vsys-demo-password"}'
wrk.headers["Content-Type"] = "application/json"
LUA

# Cold pages: a random page of a random size of 東京都's lists, so that nearly every request
# misses the read caches (about 7,700 distinct pages per list against 2,000 kept).
cat >"$WORK/cold_orgs.lua" <<'LUA'
request = function()
  return wrk.format(nil, "/api/v1/orgs?kind=institution&per_page=" .. math.random(10, 60) .. "&page=" .. math.random(1, 120))
end
LUA
cat >"$WORK/cold_sites.lua" <<'LUA'
request = function()
  return wrk.format(nil, "/api/v1/sites?per_page=" .. math.random(10, 60) .. "&page=" .. math.random(1, 120))
end
LUA

. bench/wrk.sh

# Warm up (not recorded): the pool opens its connections as concurrency rises, each prepares
# its statements and fills its page cache; measured cold, the first endpoints ran ~25 % slower.
for warm in /api/v1/me '/api/v1/orgs?kind=institution&per_page=50' '/api/v1/deliveries?per_page=50'; do
  wrk -t2 -c"$CONNS" -d"${WARMUP:-3}s" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$warm" >/dev/null
done
echo "backend: ${URL%%:*}, $SITES sites, ${DURATION}s per endpoint, $CONNS connections, 2 wrk threads, $(nproc) cores shared with the server"
base=$(run healthz /healthz)
base_rps=$(echo "$base" | awk '{print $2}')
printf '%-28s %12s %10s %8s %8s\n' endpoint req/s p99 ratio non-2xx
for line in "$base" \
  "$(run api_me /api/v1/me -H "Authorization: Bearer $TOKEN")" \
  "$(run api_orgs_page '/api/v1/orgs?kind=institution&per_page=50' -H "Authorization: Bearer $TOKEN")" \
  "$(run api_public_sites '/api/v1/public/sites?municipality=13103')" \
  "$(run api_sites_page '/api/v1/sites?per_page=50' -H "Authorization: Bearer $TOKEN")" \
  "$(run api_division_nation "/api/v1/cycles/$CYCLE/allocations/JP" -H "Authorization: Bearer $NATION")" \
  "$(run api_division_prefecture "/api/v1/cycles/$CYCLE/allocations/13" -H "Authorization: Bearer $TOKYO")" \
  "$(run api_division_setagaya "/api/v1/cycles/$CYCLE/allocations/13112" -H "Authorization: Bearer $TOKYO")" \
  "$(run api_orgs_page_prefecture '/api/v1/orgs?kind=institution&per_page=50' -H "Authorization: Bearer $TOKYO")" \
  "$(run api_sites_page_prefecture '/api/v1/sites?per_page=50' -H "Authorization: Bearer $TOKYO")" \
  "$(run api_orgs_cold_prefecture /api/v1/orgs -s "$WORK/cold_orgs.lua" -H "Authorization: Bearer $TOKYO")" \
  "$(run api_sites_cold_prefecture /api/v1/sites -s "$WORK/cold_sites.lua" -H "Authorization: Bearer $TOKYO")" \
  "$(run api_deliveries_page_empty '/api/v1/deliveries?per_page=50' -H "Authorization: Bearer $WHOLESALER")" \
  "$(run api_idle_stock '/api/v1/stock/idle' -H "Authorization: Bearer $TOKYO")" \
  "$(run api_site_results_90d "/api/v1/sites/$SITE/results?days=90" -H "Authorization: Bearer $TOKEN")" \
  "$(run api_site_stock "/api/v1/sites/$SITE/stock" -H "Authorization: Bearer $TOKEN")" \
  "$(run api_audit_page '/api/v1/audit?per_page=50' -H "Authorization: Bearer $ADMIN")" \
  "$(run api_login /api/v1/session -s "$WORK/login.lua")"; do
  set -- $line
  printf '%-28s %12s %10s %8.3f %8s\n' "$1" "$2" "$3" "$(echo "$2 / $base_rps" | bc -l)" "$4"
done
