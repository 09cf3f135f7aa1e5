#!/usr/bin/env bash
# The combine step's collective under real MPI at several rank counts:
#   scripts/bench_combine.sh [RANKS...]      (default: 1 2 4)
# Builds benches/combine.rs and runs it with mpirun; ranks beyond the cores
# are oversubscribed, so their figures show the launcher, not a cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/mpi-env.sh
exe=$(cargo bench --bench combine --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "combine" and m.get("executable"):
        print(m["executable"])')
[ -n "$exe" ] || { echo "bench_combine: could not build benches/combine.rs" >&2; exit 1; }
for p in "${@:-1 2 4}"; do
    for n in $p; do
        mpirun -n "$n" "$exe"
        echo
    done
done
