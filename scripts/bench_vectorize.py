"""Vectorize throughput: textsaga at 1 and 2 ranks against scikit-learn's
TfidfVectorizer.fit_transform on the same corpus, in one run, for the option
sets users run: the defaults, the standard strong baseline of word
bigrams with min_df 2, and character n-grams within words (char_wb, 2 to 5,
min_df 2: millions of distinct terms).

usage: bench_vectorize.py [--docs N | --data FILE.h5] [--sets defaults,bigrams,char_wb]
                          [--ranks 1,2] [--repeat R] [--out DIR]

scikit-learn is timed for fit_transform on documents already decoded in
memory (its best of R runs, and its peak memory in a process of its own).
textsaga is timed two ways: the whole command (MPI start-up, HDF5 in, CSR
file out), and in-process from its --metrics: the phases that produce the
matrix (read, tokenize, vocabulary merge, df allreduce, transform: the work
fit_transform does, plus reading the file).
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from textsaga_data import launcher, mpi_env, read_corpus  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "target" / "release" / "textsaga"
SETS = {
    "defaults": ({}, []),
    "bigrams": ({"ngram_range": (1, 2), "min_df": 2}, ["--ngram-range", "1,2", "--min-df", "2"]),
    "char_wb": ({"analyzer": "char_wb", "ngram_range": (2, 5), "min_df": 2}, ["--analyzer", "char_wb", "--ngram-range", "2,5", "--min-df", "2"]),
}


def best_of(repeat, fn):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def sklearn_worker(corpus, name, repeat):
    """In a process of its own, so its peak RSS is fit_transform's."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs, _ = read_corpus(corpus)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    shape = []
    t = best_of(repeat, lambda: shape.append(TfidfVectorizer(**SETS[name][0]).fit_transform(docs).shape))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": t, "columns": shape[-1][1], "peak_mb": peak / 1024, "above_docs_mb": (peak - base) / 1024}))


def textsaga(corpus, name, ranks, repeat, out):
    features, metrics = out / "bench-features.h5", out / "bench-metrics.json"
    cmd = [*launcher(ranks), str(BIN), "vectorize", "--data", str(corpus), "-o", str(features), "--quiet", "--metrics", str(metrics), *SETS[name][1]]
    runs = []

    def once():
        subprocess.run(cmd, check=True, env=mpi_env())
        m = json.loads(metrics.read_text())
        # In process: every phase the run reports (src/phase.rs) but writing its output.
        inproc = sum(v["max"] for p, v in m["seconds"].items() if p != "write")
        runs.append((inproc, m["peak_rss_bytes_max_over_ranks"] / 1e6, m["seconds"]))

    whole = best_of(repeat, once)
    inproc, rss, phases = min(runs, key=lambda r: r[0])
    return whole, inproc, rss, phases


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--sklearn-worker":
        sklearn_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=200_000)
    ap.add_argument("--data", type=Path, help="a corpus to use instead of a generated one")
    ap.add_argument("--sets", default="defaults,bigrams")
    ap.add_argument("--ranks", default="1,2")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "scratch")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    corpus = a.data or a.out / f"bench-{a.docs}.h5"
    if not corpus.exists():
        subprocess.run([BIN, "generate", "-o", corpus, "--docs", str(a.docs), "--classes", "20", "--seed", "1", "--quiet"], check=True)
    docs, _ = read_corpus(corpus)
    mb = sum(len(d.encode()) for d in docs) / 1e6
    print(f"corpus: {len(docs)} documents, {mb:.1f} MB of text ({corpus})")
    for name in a.sets.split(","):
        r = subprocess.run([sys.executable, __file__, "--sklearn-worker", str(corpus), name, str(a.repeat)], check=True, capture_output=True, text=True)
        sk = json.loads(r.stdout.strip().splitlines()[-1])
        print(f"\n[{name}] {sk['columns']} columns")
        print(f"{'':44}{'seconds':>9}{'MB/s/rank':>11}{'vs sklearn':>12}{'peak MB/rank':>14}")
        print(f"{'sklearn fit_transform':44}{sk['seconds']:9.3f}{mb / sk['seconds']:11.1f}{1.0:11.1f}x{sk['peak_mb']:14.0f}")
        for ranks in [int(r) for r in a.ranks.split(",")]:
            whole, inproc, rss, phases = textsaga(corpus, name, ranks, a.repeat, a.out)
            label = f"textsaga {ranks} rank" + ("s" if ranks > 1 else "")
            for how, t in (("in-process", inproc), ("whole command", whole)):
                print(f"{label + ', ' + how:44}{t:9.3f}{mb / t / ranks:11.1f}{sk['seconds'] / t:11.1f}x{rss:14.0f}")
            print(f"{'':4}phases (max over ranks): " + ", ".join(f"{p} {phases[p]['max']:.2f}" for p in phases))


if __name__ == "__main__":
    main()
