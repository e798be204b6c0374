#!/usr/bin/env bash
# Micro-benchmarks of the hot paths (bench/micro/hot_paths_bench.cc, Google Benchmark): builds `micro_bench` in
# $BUILD_DIR if needed, runs it (extra arguments go to the binary, e.g. --benchmark_filter=Debezium) and prints one
# line per benchmark: CPU time per event, events/s and MB/s on one core.
#   BUILD_DIR   CMake build directory (default <repo>/build)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BUILD_DIR=${BUILD_DIR:-$REPO/build}
if [[ ! -f "$BUILD_DIR/build.ninja" && ! -f "$BUILD_DIR/Makefile" ]]; then
  cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD_DIR" --target micro_bench >/dev/null

json=$(mktemp)
trap 'rm -f "$json"' EXIT
"$BUILD_DIR/micro_bench" --benchmark_format=json "$@" >"$json"
python3 - "$json" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    doc = json.load(f)
ctx = doc["context"]
print(f"micro: {ctx.get('num_cpus')} CPUs @ {ctx.get('mhz_per_cpu')} MHz, "
      f"library build {ctx.get('library_build_type')}")
print(f"{'benchmark':<46} {'ns/event':>10} {'min-max ns':>15} {'events/s':>12} {'MB/s':>9}")
# With --benchmark_repetitions=N: the median of the N runs, with the min-max CPU time per event.
runs = {}
for b in doc["benchmarks"]:
    if b.get("run_type", "iteration") == "iteration":
        runs.setdefault(b.get("run_name", b["name"]), []).append(b)
for name, reps in runs.items():
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[reps[0]["time_unit"]]
    ns = sorted(r["cpu_time"] * scale for r in reps)
    mid = sorted(reps, key=lambda r: r["cpu_time"])[(len(reps) - 1) // 2]
    print(f"{name:<46} {mid['cpu_time'] * scale:>10.1f} {f'{ns[0]:.1f}-{ns[-1]:.1f}':>15} "
          f"{mid.get('items_per_second', 0):>12,.0f} {mid.get('bytes_per_second', 0) / 1e6:>9.1f}")
PY
