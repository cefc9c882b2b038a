#!/usr/bin/env bash
# Long crash run: the crash test (crates/vsys/tests/crash.rs) with many rounds. Each round drives
# acknowledged writes (daily results, division lines, delivery dates) into a real `vsys serve`,
# kills it with SIGKILL at a random point, restarts it on the same database and checks every
# acknowledged write, the stock ledger, `vsys audit verify` and (SQLite) PRAGMA integrity_check.
#
#   bench/crash.sh [ROUNDS]            # default 100, SQLite; PostgreSQL too when
#                                      # VSYS_TEST_DATABASE_URL is set
#
# Prints rounds per second per backend and every failure (with the seed that replays it:
# VSYS_CRASH_SEED). Debug build, as the test suite.
set -uo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-${VSYS_CRASH_ROUNDS:-100}}
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
cargo test -p vsys --test crash --no-run >/dev/null 2>&1 || { echo "build failed" >&2; exit 2; }
start=$(date +%s)
VSYS_CRASH_ROUNDS=$ROUNDS cargo test -p vsys --test crash -- --nocapture --test-threads 1 >"$LOG" 2>&1
status=$?
grep -E "crash seed|crash rounds in" "$LOG"
if [ $status -ne 0 ]; then
  echo "FAILURES:"
  grep -E "panicked|round [0-9]+:.*(has|audited)|assert" "$LOG" | head -40
  echo "crash run FAILED after $(( $(date +%s) - start )) s"
  exit 1
fi
echo "crash run: $ROUNDS rounds per backend, no failure, $(( $(date +%s) - start )) s"
