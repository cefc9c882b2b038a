#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz / libFuzzer) of the parsers and of the CSV importers'
# parsing layer: every target of bench/fuzz for SECONDS each (default 60). Needs a nightly
# toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Builds without optimisation (`--dev`,
# as everything on shared machines) and without a sanitizer (the code forbids `unsafe`), with
# overflow checks on. A crash leaves its input in bench/fuzz/artifacts/TARGET/ and fails the
# script; add that input to the saved corpus (crates/app/tests/fixtures/hostile/ or
# crates/domain/tests/fixtures/hostile/strings.txt) with the fix. Each target's own corpus
# grows in bench/fuzz/corpus/TARGET/ (not committed); it is seeded from the saved corpus.
#
#   bench/fuzz.sh            # every target, 60 s each
#   bench/fuzz.sh 600 csv_table
set -euo pipefail
cd "$(dirname "$0")/fuzz"
seconds="${1:-60}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(parsers csv_table csv_roundtrip allocation)
fi
flags=(--dev --sanitizer none)

# Seeds: the saved corpus of hostile files and strings.
mkdir -p corpus/csv_table corpus/parsers corpus/csv_roundtrip corpus/allocation
cp ../../crates/app/tests/fixtures/hostile/*/*.csv corpus/csv_table/ 2>/dev/null || true
i=0
while IFS= read -r line; do
  case "$line" in '#'*) continue ;; esac
  printf '%s' "$line" > "corpus/parsers/seed_$i"
  printf '%s' "$line" > "corpus/csv_roundtrip/seed_$i"
  i=$((i + 1))
done < ../../crates/domain/tests/fixtures/hostile/strings.txt

cargo +nightly fuzz build "${flags[@]}"
status=0
for t in "${targets[@]}"; do
  echo "== $t: ${seconds}s =="
  if ! cargo +nightly fuzz run "${flags[@]}" "$t" -- -max_total_time="$seconds" -max_len=262144 -rss_limit_mb=2048 -print_final_stats=1; then
    echo "!! $t found a crash: see bench/fuzz/artifacts/$t/" >&2
    status=1
  fi
done
exit "$status"
