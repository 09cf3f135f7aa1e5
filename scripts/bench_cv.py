"""Choosing C side by side, in one run: scikit-learn's
make_pipeline(TfidfVectorizer(), LogisticRegressionCV(Cs=N, cv=K, solver="saga"))
against `textsaga fit --Cs N --cv K` at 1 and 2 ranks (or --ranks), defaults
otherwise (tol 1e-4, at most 100 epochs a fit), with the ratios.

usage: bench_cv.py DATA.h5 TEST.h5 [--cs 10] [--cv 5] [--ranks 1,2] [--out DIR]

Seconds are the wall time of each whole job (Python's imports and the HDF5
read for scikit-learn, MPI's start-up for textsaga), from the same file.
Also printed: the chosen C and the refit model's held-out accuracy.
"""

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from textsaga_data import launcher, mpi_env, read_corpus  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "target" / "release" / "textsaga"


def sklearn_side(data, test, cs, cv):
    t0 = time.perf_counter()
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline

    docs, y = read_corpus(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at the weakest Cs, on both sides
        pipe = make_pipeline(TfidfVectorizer(), LogisticRegressionCV(Cs=cs, cv=cv, solver="saga", l1_ratios=(0.0,)))
        pipe.fit(docs, y)
    seconds = time.perf_counter() - t0
    tdocs, ty = read_corpus(test)
    return seconds, float(pipe[-1].C_[0]), float((pipe.predict(tdocs) == ty).mean())


def textsaga_side(data, test, cs, cv, ranks, out):
    model, metrics = out / f"cv-{ranks}.h5", out / f"cv-{ranks}.json"
    cmd = launcher(ranks) + [str(BIN), "fit", "--data", str(data), "--model", str(model), "--Cs", str(cs), "--cv", str(cv),
                             "--metrics", str(metrics), "--quiet"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=mpi_env(), stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    with h5py.File(model) as f:
        c = float(f.attrs["C_"])
    scored = subprocess.run(launcher(ranks) + [str(BIN), "evaluate", "--model", str(model), "--data", str(test), "--json"],
                            check=True, env=mpi_env(), capture_output=True, text=True)
    epochs = sum(p["epochs"] for p in json.loads(metrics.read_text())["cv"]["path"])
    return seconds, c, json.loads(scored.stdout)["accuracy"], epochs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("test")
    ap.add_argument("--cs", type=int, default=10)
    ap.add_argument("--cv", type=int, default=5)
    ap.add_argument("--ranks", default="1,2")
    ap.add_argument("--out", default="scratch/bench-cv")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    sk_s, sk_c, sk_acc = sklearn_side(a.data, a.test, a.cs, a.cv)
    print(f"{'':24} {'seconds':>9} {'ratio':>7} {'C_':>10} {'held-out accuracy':>18} {'path epochs':>12}")
    print(f"{'scikit-learn':24} {sk_s:9.2f} {1.0:7.2f} {sk_c:10.4g} {sk_acc:18.4f} {'':>12}")
    for p in [int(r) for r in a.ranks.split(",")]:
        s, c, acc, epochs = textsaga_side(a.data, a.test, a.cs, a.cv, p, out)
        print(f"{f'textsaga {p} rank(s)':24} {s:9.2f} {sk_s / s:7.2f} {c:10.4g} {acc:18.4f} {epochs:12d}")


if __name__ == "__main__":
    main()
