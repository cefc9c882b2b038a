#!/usr/bin/env bash
# Load test of the public site (finder and open data) on a running release server with wrk,
# on the national demo world. Every figure is printed with its ratio to /healthz measured in
# the same run, and the issue's goals are checked: a municipality's JSON at least 0.5 of
# /healthz with p99 under 50 ms, the finder's HTML at least 0.3.
#
#   cargo build --release -p vsys && SITES=70000 bench/public.sh [DATABASE_URL]
#
# The per-client rate limit is turned off for the benchmark client (VSYS_PUBLIC_RATE_PER_SECOND=0):
# wrk is one client sending tens of thousands of requests a second.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/vsys
PORT=${PORT:-18182}
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
SITES=${SITES:-70000}
WORK=$(mktemp -d)
URL=${1:-sqlite:$WORK/bench.db}
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk" >&2; exit 1; }
[ -x "$BIN" ] || { echo "build first: cargo build --release -p vsys" >&2; exit 1; }

VSYS_PUBLIC_RATE_PER_SECOND=0 RUST_LOG=warn "$BIN" --database-url "$URL" serve --demo --sites "$SITES" \
  --plain-http --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 1; done
B="http://127.0.0.1:$PORT"

# Site codes of 大阪市 (for site pages) and every municipality's code (for random areas).
curl -fs "$B/api/v1/public/sites?municipality=27100&per_page=500" |
  python3 -c 'import json,sys; print("\n".join(s["code"] for s in json.load(sys.stdin)["items"]))' >"$WORK/codes.txt"
curl -fs "$B/api/v1/public/municipalities" |
  python3 -c 'import json,sys; d=json.load(sys.stdin); d=d["items"] if isinstance(d,dict) else d; print("\n".join(m["code"] for m in d if m["sites"]>0))' >"$WORK/munis.txt"
lua_list() { # file → a Lua table literal
  printf '{'; sed 's/.*/"&",/' "$1" | tr -d '\n'; printf '}'
}
cat >"$WORK/site_page.lua" <<LUA
codes = $(lua_list "$WORK/codes.txt")
request = function() return wrk.format(nil, "/search/sites/" .. codes[math.random(#codes)]) end
LUA
cat >"$WORK/any_municipality.lua" <<LUA
codes = $(lua_list "$WORK/munis.txt")
request = function() return wrk.format(nil, "/api/v1/public/sites?municipality=" .. codes[math.random(#codes)]) end
LUA
cat >"$WORK/near.lua" <<'LUA'
-- A visitor somewhere in 大阪市 and its neighbours, 5 km around.
request = function()
  local lat = 34.60 + math.random() * 0.15
  local lng = 135.45 + math.random() * 0.15
  return wrk.format(nil, string.format("/api/v1/public/sites?lat=%.4f&lng=%.4f&radius_km=5", lat, lng))
end
LUA

. bench/wrk.sh
ms() { # wrk latency (e.g. 1.20ms, 850.00us, 1.02s) → milliseconds
  echo "$1" | awk '/us$/ {sub("us",""); print $1/1000; next} /ms$/ {sub("ms",""); print $1; next} /s$/ {sub("s",""); print $1*1000}'
}

for warm in '/api/v1/public/sites?municipality=27100' '/search/?municipality=27100'; do
  wrk -t2 -c"$CONNS" -d"${WARMUP:-3}s" "$B$warm" >/dev/null
done
echo "backend: ${URL%%:*}, $SITES sites, ${DURATION}s per endpoint, $CONNS connections, 2 wrk threads, $(nproc) cores shared with the server"
echo "大阪市: $(wc -l <"$WORK/codes.txt") public sites; $(wc -l <"$WORK/munis.txt") municipalities with public sites"
base=$(run healthz /healthz)
base_rps=$(echo "$base" | awk '{print $2}')
printf '%-30s %12s %10s %8s %8s\n' endpoint req/s p99 ratio non-2xx
status=0
for line in "$base" \
  "$(run json_osaka '/api/v1/public/sites?municipality=27100')" \
  "$(run json_setagaya '/api/v1/public/sites?municipality=13112')" \
  "$(run json_any_municipality /api/v1/public/sites -s "$WORK/any_municipality.lua")" \
  "$(run json_near_5km /api/v1/public/sites -s "$WORK/near.lua")" \
  "$(run json_osaka_filtered '/api/v1/public/sites?municipality=27100&status=available,few&accepts_non_regular=true')" \
  "$(run html_finder_osaka '/search/?municipality=27100')" \
  "$(run html_finder_top '/search/')" \
  "$(run html_site_page /search/sites/ -s "$WORK/site_page.lua")"; do
  set -- $line
  ratio=$(echo "$2 / $base_rps" | bc -l)
  goal=""
  case $1 in
    json_osaka|json_setagaya|json_any_municipality)
      if (( $(echo "$ratio >= 0.5 && $(ms "$3") < 50" | bc -l) )); then goal="goal ≥0.5, p99<50ms: met"; else goal="goal ≥0.5, p99<50ms: MISSED"; status=1; fi ;;
    html_finder_osaka)
      if (( $(echo "$ratio >= 0.3" | bc -l) )); then goal="goal ≥0.3: met"; else goal="goal ≥0.3: MISSED"; status=1; fi ;;
  esac
  printf '%-30s %12s %10s %8.3f %8s  %s\n' "$1" "$2" "$3" "$ratio" "$4" "$goal"
done
exit $status
