#!/usr/bin/env bash
# Scaling series on Slurm: one fit.sbatch job per rank count, each writing its
# metrics, then the same scaling.csv and picture (scaling.svg, .png) as scripts/scaling.sh.
#
#   scripts/slurm/sweep.sh --ranks 32,64,128,256 --data D.h5 --out DIR [--weak --docs-per-rank N] [-- sbatch flags]
#
# Strong scaling: the same --data for every rank count. Weak scaling (--weak):
# a generated corpus of N x ranks documents per job (made on the login node).
# Jobs run one after another (--dependency=singleton under one job name), so
# they do not compete for the nodes they measure.
set -euo pipefail
cd "$(dirname "$0")/../.."
ranks="" data="" out="" weak=0 per_rank=100000 sbatch_extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --ranks) ranks="$2"; shift 2 ;;
        --data) data="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --weak) weak=1; shift ;;
        --docs-per-rank) per_rank="$2"; shift 2 ;;
        --) shift; sbatch_extra=("$@"); break ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "sweep.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[ -n "$ranks" ] && [ -n "$out" ] || { echo "sweep.sh: --ranks and --out are required" >&2; exit 2; }
[ "$weak" = 1 ] || [ -n "$data" ] || { echo "sweep.sh: strong scaling needs --data" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
bin=${TEXTSAGA_BIN:-$PWD/target/release/textsaga}
IFS=, read -ra list <<< "$ranks"
jobs=()
for p in "${list[@]}"; do
    corpus="$data"
    if [ "$weak" = 1 ]; then
        corpus="$out/corpus-$((per_rank * p)).h5"
        [ -f "$corpus" ] || "$bin" generate -o "$corpus" --docs $((per_rank * p)) --classes 20 --seed 1 --quiet
    fi
    jobs+=("$(TEXTSAGA_BIN="$bin" sbatch --parsable -n "$p" --job-name textsaga-sweep --dependency=singleton \
        --output "$out/fit-$p.log" "${sbatch_extra[@]}" scripts/slurm/fit.sbatch \
        --data "$corpus" --model "$out/model-$p.h5" --metrics "$out/metrics-$p.json" --quiet)")
done
echo "sweep: submitted ${jobs[*]}; waiting"
for j in "${jobs[@]}"; do
    while squeue -h -j "$j" 2>/dev/null | grep -q .; do sleep "${SWEEP_POLL_SECONDS:-10}"; done
done
# The picture needs matplotlib: the project's venv has it (scripts/setup.sh).
py=python3
[ -x .venv/bin/python ] && py=.venv/bin/python
"$py" scripts/scaling_report.py "$out" "$weak" "${list[@]}"
