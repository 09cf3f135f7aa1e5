#!/usr/bin/env bash
# Vectorize once, fit many: what `fit --features` saves, on a generated corpus
# with the vectorizer users run (bigrams, min_df 2).
#
#   scripts/bench_features.sh [--docs 200000] [--ranks 2] [--out DIR] [--cs 0.05,0.1,0.2,0.5,1]
#
# Prints, from the same run:
#  1. fit --features at P ranks: wall time, the epochs' time (each epoch line's documents /
#     docs/s) and the share of the wall time outside the epochs (start-up, reading the rows,
#     the solver's set-up, writing the model): an upper bound on the time before the first epoch;
#  2. a C path as separate launches (one fit per C, as a job array or a requeued sweep runs
#     it): every fit from the text, against one vectorize plus every fit from its file;
#  3. that the two routes gave the same model bits at every C.
# Timings are noisy on a shared machine: run it on a quiet one.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/mpi-env.sh

docs=200000 ranks=2 out=scratch/bench-features cs=0.05,0.1,0.2,0.5,1
while [ $# -gt 0 ]; do
    case "$1" in
        --docs) docs="$2"; shift 2 ;;
        --ranks) ranks="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --cs) cs="$2"; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench_features.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
bin=target/release/textsaga
[ -x "$bin" ] || cargo build --release --quiet
mkdir -p "$out"
corpus=$out/gen$docs.h5
[ -f "$corpus" ] || $bin generate -o "$corpus" --docs "$docs" --classes 5 --seed 1 --quiet
run() { mpirun --mca pml ob1 --mca btl self,vader -n "$ranks" $bin "$@"; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }
vec=(--ngram-range 1,2 --min-df 2)

t0=$(now); run vectorize --data "$corpus" -o "$out/features.h5" "${vec[@]}" --quiet; t1=$(now)
vectorize_s=$(calc "$t1 - $t0")

# 1. One fit from the file, its epoch lines kept.
t0=$(now); run fit --features "$out/features.h5" --model "$out/one.h5" --metrics "$out/one.json" 2> "$out/one.log"; t1=$(now)
wall=$(calc "$t1 - $t0")
epochs_s=$(awk -v n="$docs" '/^epoch/ { s += n / $(NF-1) } END { printf "%.3f", s }' "$out/one.log")
echo "fit --features, $ranks ranks, $docs documents: wall $wall s, epochs $epochs_s s, outside the epochs $(calc "100 * ($wall - $epochs_s) / $wall") % (target < 15 %)"
.venv/bin/python - "$out/one.json" "$wall" <<'PY'
import json, sys
r, wall = json.load(open(sys.argv[1])), float(sys.argv[2])
s = {k: v["max"] for k, v in r["seconds"].items()}
setup = r.get("setup_seconds", 0.0)
print(f"  of which: reading the rows {s.get('read', 0):.2f} s ({100 * s.get('read', 0) / wall:.1f} %), the solver's set-up "
      f"(step size by power iterations, features split over ranks) {setup:.2f} s ({100 * setup / wall:.1f} %), "
      f"writing the model {s.get('write', 0):.2f} s; the rest is launch and exit")
PY

# 2. The C path, each C its own launch.
IFS=, read -ra list <<< "$cs"
t0=$(now)
for c in "${list[@]}"; do run fit --data "$corpus" --model "$out/text-$c.h5" "${vec[@]}" -C "$c" --quiet; done
t1=$(now)
for c in "${list[@]}"; do run fit --features "$out/features.h5" --model "$out/feat-$c.h5" -C "$c" --quiet; done
t2=$(now)
text_s=$(calc "$t1 - $t0")
feat_s=$(calc "$t2 - $t1 + $vectorize_s")
echo "C path of ${#list[@]} launches at $ranks ranks: from the text $text_s s; vectorize once ($vectorize_s s) + from the file: $feat_s s; $(calc "$text_s / $feat_s")x (target >= 1.5x)"

# 3. The same models either way.
.venv/bin/python - "$out" "${list[@]}" <<'PY'
import sys, h5py, numpy as np
out, cs = sys.argv[1], sys.argv[2:]
for c in cs:
    with h5py.File(f"{out}/text-{c}.h5") as a, h5py.File(f"{out}/feat-{c}.h5") as b:
        same = set(a) == set(b) and all(np.array_equal(a[k][()], b[k][()]) for k in a) and dict(a.attrs) == dict(b.attrs)
        if not same:
            sys.exit(f"bench_features.sh: C={c}: the models differ")
print(f"the {len(cs)} models from the file equal those from the text, bit for bit")
PY
