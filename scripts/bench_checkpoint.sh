#!/usr/bin/env bash
# What a checkpoint every L-BFGS iteration costs: the same fit with and without
# `--checkpoint-every 1`, in one run, on the real corpus (scripts/real_corpus.py).
#
#   scripts/bench_checkpoint.sh [--data D.h5] [--ranks 2] [--solver lbfgs] [--bin B] [--out DIR] [--repeat 2]
#
# Prints per run: wall time, bytes communicated, peak RSS per rank (the run report's), the
# checkpoint's size, and the ratios with a checkpoint over without (targets: time at most
# 1.5x, peak memory at most 1.2x). `--bin` measures another build (an older one: before/after).
# Timings are noisy on a shared machine: run it on a quiet one.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/mpi-env.sh

data=scratch/real/debian.h5 ranks=2 solver=lbfgs bin=target/release/textsaga out=scratch/bench-checkpoint repeat=2
while [ $# -gt 0 ]; do
    case "$1" in
        --data) data="$2"; shift 2 ;;
        --ranks) ranks="$2"; shift 2 ;;
        --solver) solver="$2"; shift 2 ;;
        --bin) bin="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --repeat) repeat="$2"; shift 2 ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench_checkpoint.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[ -f "$data" ] || { echo "bench_checkpoint.sh: no corpus '$data': make one with scripts/real_corpus.py --out $(dirname "$data") --sections 41" >&2; exit 1; }
[ -x "$bin" ] || cargo build --release --quiet
mkdir -p "$out"
run() { mpirun --mca pml ob1 --mca btl self,vader -n "$ranks" "$bin" "$@"; }
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
calc() { python3 -c "print(f'{$1:$2}')"; }
printf "%-11s %8s %6s %10s %13s %14s\n" run seconds iters "sent (GB)" "peak MB/rank" "ckpt MB (disk)"
tp=0 tc=0 mp=0 mc=0
for i in $(seq "$repeat"); do
    for mode in plain checkpoint; do
        rm -f "$out/ck.h5"
        extra=()
        [ "$mode" = checkpoint ] && extra=(--checkpoint "$out/ck.h5" --checkpoint-every 1)
        start=$(date +%s.%N)
        run fit --data "$data" --model "$out/m.h5" --solver "$solver" --quiet --metrics "$out/r.json" "${extra[@]}"
        secs=$(calc "$(date +%s.%N) - $start" .2f)
        sent=$(field "$out/r.json" bytes_communicated)
        peak=$(field "$out/r.json" peak_rss_bytes_max_over_ranks)
        iters=$(field "$out/r.json" epochs)
        size=0 disk=0
        [ -f "$out/ck.h5" ] && size=$(stat -c %s "$out/ck.h5") && disk=$(du -B1 "$out/ck.h5" | cut -f1)
        printf "%-11s %8s %6s %10s %13s %14s\n" "$mode" "$secs" "$iters" "$(calc "$sent / 1e9" .2f)" "$(calc "$peak / 1e6" .0f)" \
            "$(calc "$size / 1e6" .0f) ($(calc "$disk / 1e6" .0f))"
        if [ "$mode" = plain ]; then tp=$(calc "$tp + $secs" .3f); mp=$(calc "$mp + $peak" .0f); else tc=$(calc "$tc + $secs" .3f); mc=$(calc "$mc + $peak" .0f); fi
    done
done
echo "checkpoint every iteration / none: time $(calc "$tc / $tp" .2f)x, peak memory $(calc "$mc / $mp" .2f)x (means over $repeat runs each)"
