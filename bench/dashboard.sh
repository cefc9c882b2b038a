#!/usr/bin/env bash
# Dashboards at national size (issue 15): a year of daily results for the 70,000-site demo
# world (≈ 25.5 million rows), then the dashboard of the nation (its operator), of 東京都 (13)
# and of 港区 (13103) measured with wrk and with single requests, each next to /healthz measured
# in the same run. The issue's goal: every dashboard under 300 ms.
#
#   bench/dashboard.sh                                                # SQLite: $BENCHDATA/dashboard.db
#   bench/dashboard.sh postgres://postgres@127.0.0.1:5432/vsys_dash   # PostgreSQL (created if missing)
#   REGEN=1 bench/dashboard.sh [URL]     # throw the generated data away and generate it again
#   REBUILD=1 bench/dashboard.sh [URL]   # keep the data, time `vsys rollups rebuild` and `check` again
#
# The data is generated once and kept (several GB; BENCHDATA, default /work/benchdata, holds the
# SQLite file), so a later run on newer code reuses it: the newer binary migrates the database
# on start. Generation: `vsys demo --sites $SITES` (the national world), then the bulk
# generator `bench/examples/dashboard_data.rs` (raw rows, not through the use-cases; see its
# header), then `vsys rollups rebuild` (timed) and `vsys rollups check`.
#
# Builds the release binaries when missing (BUILD=1 to rebuild them): `cargo build --release
# -p vsys` and `cargo build --release -p vsys-bench --example dashboard_data` (long on 2 cores).
# Not run by CI (.ci/run); bench/all.sh runs it.
set -euo pipefail
set -f # paths with `?` are words here, never globs
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${VSYS_BIN:-$TARGET/release/vsys}
GEN=${VSYS_GEN:-$TARGET/release/examples/dashboard_data}
PORT=${PORT:-18183}
DURATION=${DURATION:-5}
CONNS=${CONNS:-8}
SITES=${SITES:-70000}
DAYS=${DAYS:-365}
RUNS=${RUNS:-10}
BENCHDATA=${BENCHDATA:-/work/benchdata}
URL=${1:-sqlite:$BENCHDATA/dashboard.db}
WORK=$(mktemp -d)
SERVER=
stop() { if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=; fi; }
trap 'stop; rm -rf "$WORK"' EXIT
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk" >&2; exit 1; }
if [ "${BUILD:-0}" = 1 ] || [ ! -x "$BIN" ]; then cargo build --release -p vsys; fi
if [ "${BUILD:-0}" = 1 ] || [ ! -x "$GEN" ]; then cargo build --release -p vsys-bench --example dashboard_data; fi
vsys() { RUST_LOG=error "$BIN" --database-url "$URL" "$@"; }
secs() { local t0=$1; echo "$(( $(date +%s) - t0 ))"; }

# --- the data ---------------------------------------------------------------------------
BACKEND=${URL%%:*}
case $BACKEND in
  sqlite)
    FILE=${URL#sqlite:}; FILE=${FILE#//}; FILE=${FILE%%\?*}
    mkdir -p "$(dirname "$FILE")"
    if [ "${REGEN:-0}" = 1 ]; then rm -f "$FILE" "$FILE-wal" "$FILE-shm"; fi
    size() { du -sh --apparent-size "$FILE" | cut -f1; } ;;
  postgres|postgresql)
    BACKEND=postgres
    DBNAME=${URL##*/}; DBNAME=${DBNAME%%\?*}
    ADMIN_URL=${URL%/*}/postgres
    if [ "${REGEN:-0}" = 1 ]; then psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$DBNAME\" WITH (FORCE)"; fi
    if [ -z "$(psql -tA "$ADMIN_URL" -c "SELECT 1 FROM pg_database WHERE datname = '$DBNAME'")" ]; then
      psql -q "$ADMIN_URL" -c "CREATE DATABASE \"$DBNAME\""
    fi
    size() { psql -tA "$URL" -c "SELECT pg_size_pretty(pg_database_size(current_database()))"; } ;;
  *) echo "unknown database URL: $URL" >&2; exit 1 ;;
esac

t0=$(date +%s)
vsys demo --sites "$SITES" >"$WORK/demo.log"
echo "demo world ($SITES sites): $(secs "$t0") s ($(tail -1 "$WORK/demo.log" | cut -c1-80))"
t0=$(date +%s)
"$GEN" "$URL" "$DAYS" | tee "$WORK/gen.log"
if grep -q '^dashboard_data: wrote' "$WORK/gen.log" || [ "${REBUILD:-0}" = 1 ]; then
  echo "generator: $(secs "$t0") s"
  t0=$(date +%s)
  vsys rollups rebuild
  echo "rollups rebuild: $(secs "$t0") s"
  t0=$(date +%s)
  vsys rollups check
  echo "rollups check: $(secs "$t0") s"
fi
echo "database size ($BACKEND): $(size)"
if [ "$BACKEND" = postgres ]; then
  psql -tA "$URL" -F ' ' -c "SELECT relname, pg_size_pretty(pg_total_relation_size(c.oid)) FROM pg_class c WHERE relname IN ('daily_results', 'stock_ledger', 'result_rollups', 'stock_rollups') ORDER BY 1" |
    sed 's/^/  /'
fi
counts=$(case $BACKEND in
  sqlite) sqlite3 "$FILE" "SELECT (SELECT COUNT(*) FROM daily_results), (SELECT COUNT(*) FROM stock_ledger), (SELECT COUNT(*) FROM result_rollups), (SELECT COUNT(*) FROM stock_rollups)" ;;
  postgres) psql -tA "$URL" -c "SELECT (SELECT COUNT(*) FROM daily_results), (SELECT COUNT(*) FROM stock_ledger), (SELECT COUNT(*) FROM result_rollups), (SELECT COUNT(*) FROM stock_rollups)" ;;
esac)
echo "rows (daily_results|stock_ledger|result_rollups|stock_rollups): $counts"

# --- the rollup reads a dashboard builds on, timed in the database alone ------------------------
# The shapes of `vsys_store::rollups::results_by_day` (an area's municipalities by code prefix)
# for the nation, 東京都 and 港区 over the year, the same with a range on the code instead of
# LIKE, the per-prefecture totals of a tile map, a prefecture's municipalities ranked, an area's
# stock by kind, and — for scale — the raw scan the rollups replace. Each runs twice; the
# second (warm) time is printed, with the plan.
TO=$(date -u -d '+9 hours -1 day' +%F)
FROM=$(date -u -d "+9 hours -$DAYS days" +%F)
SUMS="SUM(reports), SUM(total), SUM(elderly), SUM(underlying), SUM(others), SUM(wasted_vials)"
QUERIES=(
  "by_day_nation|SELECT day, $SUMS FROM result_rollups WHERE day >= '$FROM' AND day <= '$TO' GROUP BY day ORDER BY day"
  "by_day_tokyo_like|SELECT day, $SUMS FROM result_rollups WHERE day >= '$FROM' AND day <= '$TO' AND municipality_code LIKE '13%' GROUP BY day ORDER BY day"
  "by_day_tokyo_range|SELECT day, $SUMS FROM result_rollups WHERE day >= '$FROM' AND day <= '$TO' AND municipality_code >= '13' AND municipality_code < '14' GROUP BY day ORDER BY day"
  "by_day_minato_like|SELECT day, $SUMS FROM result_rollups WHERE day >= '$FROM' AND day <= '$TO' AND municipality_code LIKE '13103%' GROUP BY day ORDER BY day"
  "by_day_minato_eq|SELECT day, $SUMS FROM result_rollups WHERE day >= '$FROM' AND day <= '$TO' AND municipality_code = '13103' GROUP BY day ORDER BY day"
  "tile_map_prefectures|SELECT substr(municipality_code, 1, 2), SUM(total), SUM(elderly) FROM result_rollups GROUP BY 1"
  "tokyo_municipalities_ranked|SELECT municipality_code, SUM(total) FROM result_rollups WHERE municipality_code LIKE '13%' GROUP BY 1 ORDER BY 2 DESC"
  "stock_tokyo_by_kind|SELECT kind, SUM(vials), SUM(doses) FROM stock_rollups WHERE municipality_code LIKE '13%' GROUP BY kind"
  "raw_scan_year_total|SELECT COUNT(*), SUM(total) FROM daily_results"
)
echo
echo "rollup reads in the database ($FROM … $TO), warm, ms:"
for q in "${QUERIES[@]}"; do
  name=${q%%|*}; sql=${q#*|}
  case $BACKEND in
    sqlite)
      ms=$(printf '.timer on\n%s;\n%s;\n' "$sql" "$sql" | sqlite3 "$FILE" | awk '/^Run Time/ {t=$4} END {printf "%.1f", t*1000}')
      plan=$(sqlite3 "$FILE" "EXPLAIN QUERY PLAN $sql" | sed 's/^[0-9|]*//' | grep -v '^QUERY PLAN' | tr '\n' ';' | tr -s ' ') ;;
    postgres)
      psql -q "$URL" -c "$sql" >/dev/null
      out=$(psql -tA "$URL" -c "EXPLAIN (ANALYZE, COSTS OFF) $sql")
      ms=$(echo "$out" | awk '/Execution Time/ {print $3}')
      plan=$(echo "$out" | grep -v -E 'Planning|Execution' | sed -E 's/ *\(actual[^)]*\)//; s/^ *(->)? *//' | head -6 | grep -v '^QUERY PLAN' | tr '\n' ';' | tr -s ' ') ;;
  esac
  printf '  %-28s %9s  %s\n' "$name" "$ms" "$plan"
done

# --- the server and the users ----------------------------------------------------------------
B="http://127.0.0.1:$PORT"
start() {
  RUST_LOG=warn "$BIN" --database-url "$URL" serve --plain-http --listen "127.0.0.1:$PORT" >>"$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 600); do curl -fs "$B/healthz" >/dev/null 2>&1 && return; sleep 0.2; done
  echo "the server did not start:" >&2; tail -20 "$WORK/server.log" >&2; exit 1
}
csrf() { sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' | head -1; }
login() { # email [totp] → the browser session cookie's value
  local email=$1 jar="$WORK/$1.jar" token
  token=$(curl -fs -c "$jar" "$B/login" | csrf)
  curl -s -o /dev/null -b "$jar" -c "$jar" --data-urlencode "email=$email" \
    --data-urlencode "password=vsys-demo-password" --data-urlencode "_csrf=$token" "$B/login"
  if [ "${2:-}" = totp ]; then
    token=$(curl -fs -b "$jar" "$B/login/totp" | csrf)
    curl -s -o /dev/null -b "$jar" -c "$jar" --data-urlencode "code=$(vsys user totp-code --email "$email")" \
      --data-urlencode "_csrf=$token" "$B/login/totp"
  fi
  awk '$6 == "vsys_session" {print $7}' "$jar"
}
start
# The nation's operator (the same scope as its admin; no TOTP, so a database generated in
# another checkout, whose secrets were sealed with that checkout's key, still serves).
NATION=$(login nation-operator@demo.vsys.jp)
TOKYO=$(login tokyo-operator@demo.vsys.jp)
MINATO=$(login minato-operator@demo.vsys.jp)
# Each dashboard measured: name, cookie, path (the drill-down links only where the page
# answers them with 200, i.e. on code that has them).
PAGES=()
page() {
  local name=$1 cookie=$2 path=$3 status
  status=$(curl -s -o "$WORK/$name.html" -w '%{http_code}' -H "Cookie: vsys_session=$cookie" "$B$path")
  if [ "$status" = 200 ] && grep -q 'name="password"' "$WORK/$name.html"; then
    echo "$name: $path answered the login form (the login failed)" >&2; exit 1
  elif [ "$status" = 200 ]; then
    PAGES+=("$name $cookie $path")
  else
    echo "$name: $path answered $status; left out"
  fi
}
page dashboard_nation "$NATION" /dashboard
page dashboard_tokyo "$TOKYO" /dashboard
page dashboard_minato "$MINATO" /dashboard
page dashboard_nation_area_13 "$NATION" '/dashboard?area=13'
page dashboard_tokyo_area_13103 "$TOKYO" '/dashboard?area=13103'
for p in dashboard_nation dashboard_tokyo dashboard_minato; do
  [ -f "$WORK/$p.html" ] && echo "$p: $(wc -c <"$WORK/$p.html") bytes of HTML, $(grep -o '<title>[^<]*' "$WORK/$p.html" | cut -c8-)"
done

# --- single requests: cold (first after a server start, one page per start) and warm ---------
median() { sort -n | awk '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.1f", m*1000}'; }
once() { curl -s -o /dev/null -w '%{time_total}\n' -H "Cookie: vsys_session=$1" "$B$2"; }
echo
echo "single requests (curl, ms; cold: the first request after a server start, median of $RUNS starts; warm: median of $RUNS in a row):"
printf '%-28s %10s %10s\n' page cold warm
status=0
for entry in "healthz - /healthz" "${PAGES[@]}"; do
  set -- $entry
  : >"$WORK/cold"
  for _ in $(seq 1 "$RUNS"); do
    stop; start
    once "$2" "$3" >>"$WORK/cold"
  done
  for _ in $(seq 1 "$RUNS"); do once "$2" "$3"; done >"$WORK/warm"
  cold=$(median <"$WORK/cold"); warm=$(median <"$WORK/warm")
  goal=""
  if [ "$1" != healthz ]; then
    if (( $(echo "$cold < 300 && $warm < 300" | bc -l) )); then goal="goal <300 ms: met"; else goal="goal <300 ms: MISSED"; status=1; fi
  fi
  printf '%-28s %10s %10s  %s\n' "$1" "$cold" "$warm" "$goal"
done

# --- throughput --------------------------------------------------------------------------------
. bench/wrk.sh
for entry in "${PAGES[@]}"; do # warm-up, not recorded
  set -- $entry
  wrk -t2 -c"$CONNS" -d"${WARMUP:-2}s" -H "Cookie: vsys_session=$2" "$B$3" >/dev/null
done
echo
echo "backend: $BACKEND, $SITES sites, $DAYS days of results, ${DURATION}s per page, $CONNS connections, 2 wrk threads, $(nproc) cores shared with the server"
base=$(run healthz /healthz)
base_rps=$(echo "$base" | awk '{print $2}')
lines=("$base")
for entry in "${PAGES[@]}"; do
  set -- $entry
  lines+=("$(run "$1" "$3" -H "Cookie: vsys_session=$2")")
done
printf '%-28s %10s %10s %10s %8s %8s\n' page req/s p50 p99 ratio non-2xx
for line in "${lines[@]}"; do
  set -- $line
  printf '%-28s %10s %10s %10s %8.4f %8s\n' "$1" "$2" "$5" "$3" "$(echo "$2 / $base_rps" | bc -l)" "$4"
done
exit $status
