#!/usr/bin/env bash
# Write time of vectorize's output (the CSR matrix) by ranks, ranks writing in
# turns (a serial HDF5) against all at once through MPI-IO (parallel HDF5),
# on a generated corpus; prints a table from each run's --metrics.
#   scripts/bench_write.sh [--docs N] [--ranks 1,2] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
docs=1000000 ranks=1,2 out=scratch/bench-write
while [ $# -gt 0 ]; do
    case "$1" in
        --docs) docs=$2; shift 2 ;;
        --ranks) ranks=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) echo "usage: $0 [--docs N] [--ranks 1,2] [--out DIR]" >&2; exit 2 ;;
    esac
done
source scripts/mpi-env.sh
bin=target/release/textsaga
mkdir -p "$out"
corpus="$out/corpus-$docs.h5"
[ -f "$corpus" ] || $bin generate -o "$corpus" --docs "$docs" --classes 20 --seed 1 --quiet
printf "%6s %8s %10s %10s %12s\n" ranks mode write_s total_s output_MB
for p in ${ranks//,/ }; do
    modes="turns mpi-io"
    [ "$p" = 1 ] && modes=turns   # one rank writes alone either way
    for mode in $modes; do
        flag=1; [ $mode = turns ] && flag=0
        TEXTSAGA_PARALLEL_HDF5=$flag mpirun -x TEXTSAGA_PARALLEL_HDF5 --mca pml ob1 --mca btl self,vader -n "$p" \
            $bin vectorize --data "$corpus" -o "$out/features.h5" --quiet --metrics "$out/m.json"
        .venv/bin/python - "$out/m.json" "$out/features.h5" "$p" <<'PY'
import json, os, sys
m = json.load(open(sys.argv[1]))
print(f"{sys.argv[3]:>6} {m.get('hdf5_write', '?'):>8} {m['seconds']['write']['max']:>10.3f} {m['total_seconds']:>10.3f} {os.path.getsize(sys.argv[2]) / 1e6:>12.1f}")
PY
    done
done
rm -f "$out/features.h5" "$out/m.json"
