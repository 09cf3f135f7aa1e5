#!/usr/bin/env bash
# Strong or weak scaling of `textsaga fit` (vectorize + SAGA) with mpirun.
#
#   scripts/scaling.sh --ranks 1,2,4 --docs 1000000 --out DIR [--weak] [--classes K]
#                      [--rounds R.json] [-- FIT FLAGS...]
#
# Strong scaling (default): one corpus of --docs documents, every rank count.
# Weak scaling (--weak): --docs documents per rank, a corpus per rank count.
# Writes DIR/scaling.csv (ranks, documents, per-phase seconds (max over
# ranks), total, speedup, efficiency), DIR/scaling.svg and .png (strong:
# speedup and efficiency against ranks, and the time per phase; weak: the
# time per rank count and efficiency; scripts/scaling_report.py, as the Slurm
# sweep) and each run's metrics, and for strong scaling DIR/scaling-model.png: the
# measured points with the cost model's curves to 1024 ranks
# (scripts/scaling_plot.py; the convergence study --rounds, default
# docs/rounds-gen50k.json, calibrates the model).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/mpi-env.sh

ranks="1,2,4" docs=1000000 out="" weak=0 classes=20 extra=() rounds=docs/rounds-gen50k.json
while [ $# -gt 0 ]; do
    case "$1" in
        --ranks) ranks="$2"; shift 2 ;;
        --docs) docs="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --classes) classes="$2"; shift 2 ;;
        --weak) weak=1; shift ;;
        --rounds) rounds="$2"; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "scaling.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[ -n "$out" ] || { echo "scaling.sh: --out DIR is required" >&2; exit 2; }
mkdir -p "$out"
bin=target/release/textsaga
[ -x "$bin" ] || cargo build --release --quiet
launcher=(mpirun)
mpirun --version 2>/dev/null | grep -q "Open MPI" && launcher+=(--oversubscribe)

IFS=, read -ra list <<< "$ranks"
for p in "${list[@]}"; do
    n=$docs
    [ "$weak" = 1 ] && n=$((docs * p))
    corpus="$out/corpus-$n.h5"
    if [ ! -f "$corpus" ]; then
        echo "scaling: generating $n documents"
        $bin generate -o "$corpus" --docs "$n" --classes "$classes" --seed 1 --quiet
    fi
    echo "scaling: fit on $p rank(s), $n documents"
    "${launcher[@]}" -n "$p" $bin fit --data "$corpus" --model "$out/model-$p.h5" \
        --metrics "$out/metrics-$p.json" --quiet "${extra[@]}"
done
.venv/bin/python scripts/scaling_report.py "$out" "$weak" "${list[@]}"
if [ "$weak" = 0 ] && [ -f "$rounds" ]; then
    .venv/bin/python scripts/scaling_plot.py --rounds "$rounds" --measured "$out" --out "$out/scaling-model.png"
fi
