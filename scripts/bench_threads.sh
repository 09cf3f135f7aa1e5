#!/usr/bin/env bash
# One rank of T threads against T ranks of one thread, on one node: the same L-BFGS fit of the
# real corpus (scripts/real_corpus.py) both ways, in one run.
#
#   scripts/bench_threads.sh [--data D.h5] [--threads 2] [--iters 30] [--bin B] [--out DIR] [--repeat 2]
#
# Both fits run exactly --iters iterations (--tol 0): an iteration's cost grows with the pairs in
# the L-BFGS memory, and the start (local SAGA fits on each rank's rows) differs with the rank
# count, so a converged fit takes other iteration counts. Prints per run: the fit's seconds, its
# start's, seconds an iteration after the start, passes over the rows, bytes sent, and peak RSS
# per rank and for the node (per rank x ranks). The threaded rank is launched with
# `--bind-to none` (Open MPI binds a rank to one core).
# Timings are noisy on a shared machine: run it on a quiet one.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/mpi-env.sh

data=scratch/real/debian.h5 threads=2 iters=30 bin=target/release/textsaga out=scratch/bench-threads repeat=2
while [ $# -gt 0 ]; do
    case "$1" in
        --data) data="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --iters) iters="$2"; shift 2 ;;
        --bin) bin="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --repeat) repeat="$2"; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench_threads.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[ -f "$data" ] || { echo "bench_threads.sh: no corpus '$data': make one with scripts/real_corpus.py --out $(dirname "$data") --sections 41" >&2; exit 1; }
[ -x "$bin" ] || cargo build --release --quiet
mkdir -p "$out"
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
calc() { python3 -c "print(f'{$1:$2}')"; }
printf "%-16s %8s %9s %7s %9s %10s %13s %12s\n" run "fit (s)" "start (s)" passes "s an iter" "sent (GB)" "peak MB/rank" "node MB"
declare -A pass_sum fit_sum node_sum
for i in $(seq "$repeat"); do
    for shape in "$threads 1" "1 $threads"; do
        set -- $shape
        ranks=$1 t=$2 name="${1} rank(s) x $2"
        mpirun --mca pml ob1 --mca btl self,vader --bind-to none --oversubscribe -n "$ranks" "$bin" fit --data "$data" \
            --model "$out/m.h5" --solver lbfgs --threads "$t" --max-iter "$iters" --tol 0 --quiet 2>/dev/null --metrics "$out/r.json"
        phases=$(python3 -c "import json; print(json.load(open('$out/r.json'))['seconds']['fit']['max'])")
        start=$(field "$out/r.json" start_seconds) passes=$(field "$out/r.json" passes)
        per=$(calc "($phases - $start) / $iters" .3f)
        peak=$(field "$out/r.json" peak_rss_bytes_max_over_ranks)
        node=$(calc "$peak * $ranks / 1e6" .0f)
        printf "%-16s %8s %9s %7s %9s %10s %13s %12s\n" "$name" "$(calc "$phases" .2f)" "$(calc "$start" .2f)" "$passes" "$per" \
            "$(calc "$(field "$out/r.json" bytes_communicated) / 1e9" .2f)" "$(calc "$peak / 1e6" .0f)" "$node"
        pass_sum[$name]=$(calc "${pass_sum[$name]:-0} + $per" .4f)
        fit_sum[$name]=$(calc "${fit_sum[$name]:-0} + $phases" .3f)
        node_sum[$name]=$(calc "${node_sum[$name]:-0} + $node" .0f)
    done
done
a="$threads rank(s) x 1" b="1 rank(s) x $threads"
echo "1 x $threads threads against $threads x 1 ranks (means over $repeat runs): an iteration $(calc "${pass_sum[$a]} / ${pass_sum[$b]}" .2f)x as fast," \
    "the fit $(calc "${fit_sum[$a]} / ${fit_sum[$b]}" .2f)x, node memory $(calc "${node_sum[$b]} / ${node_sum[$a]}" .2f)x"
