#!/usr/bin/env bash
# Prints every criterion result of the last `cargo bench -p vsys-bench` run as a ratio to the
# baseline of its group (the benchmark whose name starts with `baseline`), measured in the
# same run. Usage: cargo bench -p vsys-bench && bench/ratios.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY'
import json, pathlib
root = pathlib.Path("target/criterion")
for group in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "report"):
    results = {}
    for b in sorted(group.iterdir()):
        est = b / "new" / "estimates.json"
        if est.exists():
            results[b.name] = json.loads(est.read_text())["mean"]["point_estimate"]
    base = next((v for k, v in results.items() if k.startswith("baseline")), None)
    print(group.name)
    for name, ns in results.items():
        ratio = f"{ns / base:8.2f}x" if base else ""
        unit, div = ("ms", 1e6) if ns >= 1e6 else ("µs", 1e3) if ns >= 1e3 else ("ns", 1)
        print(f"  {name:<36} {ns / div:10.2f} {unit}  {ratio}")
PY
