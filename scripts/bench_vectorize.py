"""Vectorize throughput: textsaga at 1 and 2 ranks against scikit-learn's
TfidfVectorizer.fit_transform on the same generated corpus, in one run.

usage: bench_vectorize.py [--docs N] [--repeat R] [--out DIR]

scikit-learn is timed for fit_transform on documents already decoded in
memory. textsaga is timed two ways: the whole command (MPI start-up, HDF5 in,
CSR file out: a conservative ratio), and in-process from its --metrics, the
phases that produce the matrix (read, tokenize, vocabulary merge, df
allreduce, transform: the work fit_transform does, plus reading the file).
"""

import json

import argparse
import subprocess
import sys
import time
from pathlib import Path

import h5py
from sklearn.feature_extraction.text import TfidfVectorizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from textsaga_data import launcher, mpi_env  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "target" / "release" / "textsaga"


def best_of(repeat, fn):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "scratch")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    corpus = a.out / f"bench-{a.docs}.h5"
    if not corpus.exists():
        subprocess.run([BIN, "generate", "-o", corpus, "--docs", str(a.docs), "--classes", "20", "--seed", "1", "--quiet"], check=True)
    with h5py.File(corpus) as f:
        raw = f["text/bytes"][:].tobytes()
        off = f["text/offsets"][:]
    docs = [raw[off[i] : off[i + 1]].decode() for i in range(len(off) - 1)]
    mb = len(raw) / 1e6

    sk = best_of(a.repeat, lambda: TfidfVectorizer().fit_transform(docs))
    print(f"corpus: {len(docs)} documents, {mb:.1f} MB of text ({corpus})")
    print(f"{'':40}{'seconds':>9}{'MB/s':>9}{'MB/s/rank':>11}{'vs sklearn':>12}")
    print(f"{'sklearn fit_transform':40}{sk:9.3f}{mb / sk:9.1f}{mb / sk:11.1f}{1.0:11.1f}x")
    env = mpi_env()
    phases = ("read", "tokenize", "vocabulary_merge", "df_allreduce", "transform")
    for ranks in (1, 2):
        out, metrics = a.out / "bench-features.h5", a.out / "bench-metrics.json"
        cmd = [*launcher(ranks), str(BIN), "vectorize", "--data", str(corpus), "-o", str(out), "--quiet", "--metrics", str(metrics)]
        inproc = []

        def once():
            subprocess.run(cmd, check=True, env=env)
            m = json.loads(metrics.read_text())["seconds"]
            inproc.append(sum(m[p]["max"] for p in phases))

        t = best_of(a.repeat, once)
        t_in = min(inproc)
        label = f"{ranks} rank" + ("s" if ranks > 1 else "")
        print(f"{'textsaga vectorize, ' + label + ', command':40}{t:9.3f}{mb / t:9.1f}{mb / t / ranks:11.1f}{sk / t:11.1f}x")
        print(f"{'textsaga vectorize, ' + label + ', in-process':40}{t_in:9.3f}{mb / t_in:9.1f}{mb / t_in / ranks:11.1f}{sk / t_in:11.1f}x")


if __name__ == "__main__":
    main()
