#!/usr/bin/env bash
# Every benchmark, one command; rewrites the generated section of docs/PERFORMANCE.md (between
# the `bench/all.sh` markers) with the machine, the commit, each command and what it printed.
# Every figure there is a ratio to a baseline measured in the same run.
#
#   bench/all.sh                 # everything (about an hour on 2 cores)
#   SKIP=criterion,fuzz bench/all.sh   # leave some out (criterion, http, http-pg, public, dashboard, dashboard-pg, overload, crash, fuzz)
#
# Steps: criterion (algorithms: audit, allocation, persist, site import; ratios to each group's
# baseline), http (wrk on the 70,000-site world, SQLite; ratios to /healthz), http-pg (the same
# on PostgreSQL when VSYS_BENCH_PG_URL names an empty database), public (the finder and open
# data on the same world; ratios to /healthz and the issue's goals), dashboard (a year of results
# for the 70,000 sites, generated once into $BENCHDATA and kept; the three levels' dashboards
# against /healthz and the 300 ms goal; dashboard-pg the same on PostgreSQL when
# VSYS_BENCH_PG_URL is set, in the database vsys_dash of that server), overload (admitted
# latency at 2x capacity), crash (SIGKILL rounds), fuzz (short cargo-fuzz runs, when cargo-fuzz
# exists).
set -uo pipefail
cd "$(dirname "$0")/.."
SKIP=${SKIP:-}
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
skip() { [[ ",$SKIP," == *",$1,"* ]]; }
step() { # name command...
  local name=$1; shift
  if skip "$name"; then return; fi
  echo "== $name: $*" >&2
  local t0=$(date +%s) log
  log=$(mktemp)
  "$@" >"$log" 2>&1
  local rc=$?
  {
    echo
    echo "### $name"
    echo
    echo "\`$*\` — exit $rc, $(( $(date +%s) - t0 )) s"
    echo
    echo '```'
    grep -v -E '^\s*(Compiling|Finished|Running|Blocking|Downloaded|Updating)' "$log" | tail -40
    echo '```'
  } >>"$OUT"
  rm -f "$log"
}

echo "building release" >&2
cargo build --release -p vsys >/dev/null 2>&1 || { echo "release build failed" >&2; exit 2; }

step criterion bash -c 'cargo bench -p vsys-bench >/dev/null 2>&1 && bench/ratios.sh'
step http env SITES=70000 DURATION="${DURATION:-10}" bench/http.sh
if [ -n "${VSYS_BENCH_PG_URL:-}" ]; then
  step http-pg env SITES=70000 DURATION="${DURATION:-10}" bench/http.sh "$VSYS_BENCH_PG_URL"
fi
step public env SITES=70000 DURATION="${DURATION:-10}" bench/public.sh
step dashboard bench/dashboard.sh
if [ -n "${VSYS_BENCH_PG_URL:-}" ]; then
  step dashboard-pg bench/dashboard.sh "${VSYS_BENCH_DASH_PG_URL:-${VSYS_BENCH_PG_URL%/*}/vsys_dash}"
fi
step overload env SITES=70000 DURATION="${DURATION:-10}" bench/overload.sh
step crash bench/crash.sh "${CRASH_ROUNDS:-100}"
if cargo fuzz --version >/dev/null 2>&1; then
  step fuzz bench/fuzz.sh "${FUZZ_SECONDS:-60}"
fi

{
  echo "<!-- bench/all.sh:begin (generated: do not edit by hand) -->"
  echo
  echo "## Latest full run (bench/all.sh)"
  echo
  echo "$(date -u +%Y-%m-%d\ %H:%M) UTC, commit $(git rev-parse --short HEAD), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(rustc --version), SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1), $(psql --version 2>/dev/null | head -1). The load generators share the cores with the server."
  cat "$OUT"
  echo
  echo "<!-- bench/all.sh:end -->"
} >"$OUT.section"
python3 - "$OUT.section" <<'PY'
import pathlib, re, sys
doc = pathlib.Path("docs/PERFORMANCE.md")
text = doc.read_text()
section = pathlib.Path(sys.argv[1]).read_text()
pat = re.compile(r"<!-- bench/all.sh:begin.*?<!-- bench/all.sh:end -->\n?", re.S)
text = pat.sub(lambda _: section, text) if pat.search(text) else text.rstrip() + "\n\n" + section
doc.write_text(text)
PY
rm -f "$OUT.section"
echo "docs/PERFORMANCE.md rewritten (bench/all.sh section)" >&2
