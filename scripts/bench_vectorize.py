"""Vectorize throughput: textsaga at 1 and 2 ranks against scikit-learn's
TfidfVectorizer.fit_transform on the same generated corpus, in one run.

usage: bench_vectorize.py [--docs N] [--repeat R] [--out DIR]

textsaga is timed as a whole command (HDF5 in, CSR file out, MPI start-up
included); scikit-learn only for fit_transform on documents already decoded
in memory, so the ratio is conservative.
"""

import argparse
import os
import subprocess
import time
from pathlib import Path

import h5py
from sklearn.feature_extraction.text import TfidfVectorizer

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "target" / "release" / "textsaga"


def mpirun(ranks):
    out = subprocess.run(["mpirun", "--version"], capture_output=True, text=True).stdout
    extra = ["--oversubscribe"] if "Open MPI" in out else []
    return ["mpirun", *extra, "-n", str(ranks)]


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
    print(f"{'':28}{'seconds':>9}{'MB/s':>9}{'MB/s/rank':>11}{'vs sklearn':>12}")
    print(f"{'sklearn fit_transform':28}{sk:9.3f}{mb / sk:9.1f}{mb / sk:11.1f}{1.0:11.1f}x")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    for ranks in (1, 2):
        out = a.out / "bench-features.h5"
        cmd = [*mpirun(ranks), str(BIN), "vectorize", "--data", str(corpus), "-o", str(out), "--quiet"]
        t = best_of(a.repeat, lambda: subprocess.run(cmd, check=True, env=env))
        print(f"{f'textsaga vectorize, {ranks} rank' + ('s' if ranks > 1 else ''):28}{t:9.3f}{mb / t:9.1f}{mb / t / ranks:11.1f}{sk / t:11.1f}x")


if __name__ == "__main__":
    main()
