#!/usr/bin/env bash
# float32 against float64 (issue 33), in one run, on the generated corpus (5 classes, seed 1,
# as docs/measured.md's 200k rows):
#
#   scripts/bench_f32.sh [--docs 200000] [--set bigrams|defaults] [--epochs 10] [--repeat 3] [--out DIR]
#
# Prints:
#  1. the SAGA epoch at 1 rank, float64 against float32 (`fit --features` of the same corpus
#     vectorized once in each dtype, --epochs epochs at --tol 0, the runs alternated --repeat
#     times): the median of each run's seconds an epoch (its epoch lines' documents / docs/s),
#     and the ratio float64 / float32 (issue 33's target: >= 1.4x);
#  2. the whole job at 2 ranks against scikit-learn's pipeline, float32 (TfidfVectorizer
#     (dtype=np.float32), whose features its saga fits in float32) and float64 side by side
#     (scripts/compare_sklearn.py --dtype).
# --set bigrams (word bigrams, min_df 2: 1.3 M columns at 200k documents, weights far
# beyond cache, the case float32 is for) or defaults (50,000 columns).
# Timings are noisy on a shared machine: run it on a quiet one.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/mpi-env.sh

docs=200000 set=bigrams epochs=10 repeat=3 out=scratch/bench-f32
while [ $# -gt 0 ]; do
    case "$1" in
        --docs) docs="$2"; shift 2 ;;
        --set) set="$2"; shift 2 ;;
        --epochs) epochs="$2"; shift 2 ;;
        --repeat) repeat="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench_f32.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
case "$set" in
    bigrams) vec=(--ngram-range 1,2 --min-df 2) ;;
    defaults) vec=() ;;
    *) echo "bench_f32.sh: --set is bigrams or defaults, not '$set'" >&2; exit 2 ;;
esac
bin=target/release/textsaga
[ -x "$bin" ] || cargo build --release --quiet
mkdir -p "$out"
corpus=$out/gen$docs.h5
[ -f "$corpus" ] || $bin generate -o "$corpus" --docs "$docs" --classes 5 --seed 1 --quiet

# 1. The epoch at 1 rank, each dtype's features vectorized once.
for dtype in float64 float32; do
    feats=$out/features-$set-$dtype.h5
    [ -f "$feats" ] || $bin vectorize --data "$corpus" -o "$feats" "${vec[@]}" --dtype "$dtype" --quiet
done
epoch_s() { awk -v n="$docs" -v e="$epochs" '/^epoch/ { s += n / $(NF-1) } END { printf "%.4f", s / e }' "$1"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
: > "$out/epochs-float64.txt"; : > "$out/epochs-float32.txt"
for r in $(seq "$repeat"); do
    for dtype in float64 float32; do
        $bin fit --features "$out/features-$set-$dtype.h5" --model "$out/epochs-$dtype.h5" --metrics "$out/epochs-$dtype.json" \
            --solver saga --max-iter "$epochs" --tol 0 2> "$out/epochs-$dtype.log" || { cat "$out/epochs-$dtype.log" >&2; exit 1; }
        epoch_s "$out/epochs-$dtype.log" >> "$out/epochs-$dtype.txt"
        echo >> "$out/epochs-$dtype.txt"
    done
done
state=$(grep -o '"state_dtype": *"[a-z0-9]*"' "$out/epochs-float32.json" | grep -o 'float[0-9]*"$' | tr -d '"')
[ "$state" = float32 ] || { echo "bench_f32.sh: the float32 fit's state is '$state', not float32" >&2; exit 1; }
e64=$(median < "$out/epochs-float64.txt") e32=$(median < "$out/epochs-float32.txt")
echo "SAGA epoch, 1 rank, $docs documents ($set), median of $repeat runs of $epochs epochs:" \
    "float64 $e64 s, float32 $e32 s: $(awk "BEGIN { printf \"%.2f\", $e64 / $e32 }")x (target >= 1.4x)"
echo "  each run (s an epoch): float64 $(tr '\n' ' ' < "$out/epochs-float64.txt"); float32 $(tr '\n' ' ' < "$out/epochs-float32.txt")"

# 2. The whole job at 2 ranks against scikit-learn's, float32 then float64.
for dtype in float32 float64; do
    echo
    .venv/bin/python scripts/compare_sklearn.py "$corpus" --ranks 2 --set "$set" --dtype "$dtype" --out "$out/compare-$dtype"
done
