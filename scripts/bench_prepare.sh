#!/usr/bin/env bash
# Wall time and peak memory of `prepare` by ranks, on one large JSON Lines
# file (~1 GB by default) that the ranks cut into byte ranges: prints, per
# rank count, the wall seconds, each rank's peak RSS and the speed-up over
# one rank, and checks that every rank count wrote the same datasets.
#
#   scripts/bench_prepare.sh [--mb 1000] [--ranks 1,2] [--repeats 1] [--out DIR] [--keep]
#
# The input is made once (python3, no packages) and kept in DIR for the next
# run; it is read once before timing, so every rank count reads it from the
# page cache. The best of --repeats runs is reported. Needs GNU time
# (/usr/bin/time) for the peak RSS. A run needs the input's size again free
# beside the output (the ranks' spill files), and the output's.
set -euo pipefail
cd "$(dirname "$0")/.."
mb=1000 ranks=1,2 repeats=1 out=scratch/bench-prepare keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        --mb) mb=$2; shift 2 ;;
        --ranks) ranks=$2; shift 2 ;;
        --repeats) repeats=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        *) echo "usage: $0 [--mb 1000] [--ranks 1,2] [--repeats 1] [--out DIR] [--keep]" >&2; exit 2 ;;
    esac
done
source scripts/mpi-env.sh
bin=$(realpath "${TEXTSAGA_BIN:-target/release/textsaga}")
[ -x "$bin" ] || { echo "bench_prepare.sh: no $bin: run scripts/setup.sh (or cargo build --release) first" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench_prepare.sh: needs GNU time (/usr/bin/time; Debian: apt-get install time)" >&2; exit 1; }
mkdir -p "$out"
out=$(realpath "$out")
input="$out/corpus-${mb}mb.jsonl"
if [ ! -s "$input" ]; then
    echo "making $input ..." >&2
    python3 - "$input" "$mb" <<'PY'
import json, random, sys
path, mb = sys.argv[1], float(sys.argv[2])
rng = random.Random(1)
# A Zipf-like vocabulary; documents of varied length, some with quotes,
# escapes and characters of several bytes, as real corpora have.
vocab = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 10))) for _ in range(20000)]
vocab += ["naïve", "café", "Straße", "東京", "\"quoted\"", "tab\there", "line\nbreak"]
weights = [1 / (i + 1) ** 1.1 for i in range(len(vocab))]
pool = [" ".join(rng.choices(vocab, weights, k=max(1, int(rng.lognormvariate(4.6, 0.6))))) for _ in range(5000)]
target, size, i = int(mb * 1e6), 0, 0
with open(path, "w", encoding="utf-8") as f:
    while size < target:
        line = json.dumps({"id": i, "text": pool[i % len(pool)], "label": f"class{(i * 7919) % 20}"}, ensure_ascii=False) + "\n"
        f.write(line)
        size += len(line.encode())
        i += 1
print(f"{i} documents, {size / 1e6:.0f} MB", file=sys.stderr)
PY
fi
cat "$input" > /dev/null   # into the page cache: every rank count reads it from memory
# Whether two corpora hold the same datasets (h5diff, else h5py, else not checked).
same() {
    if command -v h5diff > /dev/null; then
        h5diff -q "$1" "$2"
    elif [ -x .venv/bin/python ]; then
        .venv/bin/python - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(p) for p in sys.argv[1:])
names = lambda f: sorted(n for n in f.keys() if n != "text") + ["text/bytes", "text/offsets"]
assert names(a) == names(b), (names(a), names(b))
for n in names(a):
    assert a[n].dtype == b[n].dtype and np.array_equal(a[n][()], b[n][()]), n
PY
    fi
}
printf "%6s %10s %10s %9s  %s\n" ranks wall_s MB/s speedup "peak RSS per rank (MB)"
base=""
first=""
for p in ${ranks//,/ }; do
    best=""
    for _ in $(seq "$repeats"); do
        rm -f "$out"/rss.*
        t0=$(date +%s.%N)
        mpirun -n "$p" sh -c '/usr/bin/time -f %M -o "$0/rss.${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-0}}" "$@"' "$out" \
            "$bin" prepare "$input" -o "$out/out-$p.h5" --id-field id --quiet
        t1=$(date +%s.%N)
        wall=$(echo "$t1 - $t0" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$wall < $best" | bc -l)" = 1 ]; then
            best=$wall
            rss=$(for r in $(seq 0 $((p - 1))); do echo $(( $(tail -1 "$out/rss.$r") / 1024 )); done | paste -sd, -)
        fi
    done
    [ -n "$base" ] || base=$best
    printf "%6s %10.2f %10.0f %8.2fx  %s\n" "$p" "$best" "$(echo "$mb / $best" | bc -l)" "$(echo "$base / $best" | bc -l)" "$rss"
    # Every rank count writes the same corpus.
    if [ -z "$first" ]; then
        first="$out/out-$p.h5"
    else
        same "$first" "$out/out-$p.h5" || { echo "bench_prepare.sh: $p ranks wrote another corpus than $first" >&2; exit 1; }
        [ "$keep" = 1 ] || rm -f "$out/out-$p.h5"
    fi
done
rm -f "$out"/rss.*
[ "$keep" = 1 ] || rm -f "$first"
