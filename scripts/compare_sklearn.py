"""Side by side on the same file: scikit-learn's pipeline
(TfidfVectorizer + LogisticRegression(solver="saga"), defaults) against
textsaga at 1 and 2 ranks (or --ranks), in one run, with the ratios.

usage: compare_sklearn.py DATA.h5 [TEST.h5] [--ranks 1,2] [--set defaults|bigrams|char_wb]
                          [--dtype float64|float32] [--out DIR]

--set bigrams runs both sides with word bigrams and min_df 2
(TfidfVectorizer(ngram_range=(1, 2), min_df=2); textsaga --ngram-range 1,2
--min-df 2), the standard strong baseline; --set char_wb with character
n-grams within words, 2 to 5, min_df 2. --dtype float32 runs both sides in
float32: TfidfVectorizer(dtype=np.float32), whose features scikit-learn's
saga fits in float32 (sag32), and textsaga --dtype float32.

Columns: vectorize and fit seconds, total (HDF5 in, model out: the wall
time of the whole process, from its start to its exit, for both: Python's
start-up and imports for scikit-learn, MPI's start-up for textsaga), epochs,
final objective (C * sum of losses + penalty, computed the same way for
both), held-out accuracy, peak RSS (textsaga: max over ranks). Ratios are
scikit-learn's time over textsaga's (higher is better for textsaga) and
textsaga's peak RSS per rank over scikit-learn's.
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from textsaga_data import launcher, mpi_env, objective, read_corpus  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "target" / "release" / "textsaga"
# The vectorizer option sets: scikit-learn's arguments and textsaga's flags.
SETS = {
    "defaults": ({}, []),
    "bigrams": ({"ngram_range": (1, 2), "min_df": 2}, ["--ngram-range", "1,2", "--min-df", "2"]),
    "char_wb": ({"analyzer": "char_wb", "ngram_range": (2, 5), "min_df": 2}, ["--analyzer", "char_wb", "--ngram-range", "2,5", "--min-df", "2"]),
}


def sklearn_worker(data, test, out, options, dtype):
    """Runs in its own process, so its peak RSS is its own."""
    import joblib
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    t0 = time.perf_counter()
    docs, y = read_corpus(data)
    t1 = time.perf_counter()
    vec = TfidfVectorizer(dtype=np.dtype(dtype), **SETS[options][0])
    X = vec.fit_transform(docs)
    t2 = time.perf_counter()
    clf = LogisticRegression(solver="saga").fit(X, y)
    t3 = time.perf_counter()
    joblib.dump((vec, clf), out)
    t4 = time.perf_counter()
    result = {
        "read": t1 - t0,
        "vectorize": t2 - t1,
        "fit": t3 - t2,
        "total": t4 - t0,
        "epochs": int(max(clf.n_iter_)),
        "objective": objective(X.astype(np.float64), y, clf.classes_, clf.coef_.astype(np.float64), clf.intercept_.astype(np.float64)),
        "coef_dtype": str(clf.coef_.dtype),
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    if test:
        tdocs, ty = read_corpus(test)
        result["accuracy"] = float((clf.predict(vec.transform(tdocs)) == ty).mean())
    result["after_total"] = time.perf_counter() - t4
    print(json.dumps(result))


def textsaga_run(data, test, ranks, out, X, y, classes, options, dtype):
    import h5py

    model, metrics = out / f"model-{ranks}.h5", out / f"metrics-{ranks}.json"
    env = mpi_env()
    t = time.perf_counter()
    subprocess.run([*launcher(ranks), BIN, "fit", "--data", data, "--model", model, "--metrics", metrics, "--quiet", "--dtype", dtype, *SETS[options][1]], check=True, env=env)
    total = time.perf_counter() - t
    m = json.loads(metrics.read_text())
    sec = m["seconds"]
    vectorize = sum(sec[p]["max"] for p in ("read", "tokenize", "vocabulary_merge", "df_allreduce", "transform"))
    with h5py.File(model) as f:
        obj = objective(X, y, classes, f["coef"][:], f["intercept"][:])
    result = {
        "vectorize": vectorize,
        "fit": sec["fit"]["max"],
        "total": total,
        "epochs": m["epochs"],
        "objective": obj,
        "peak_rss": m["peak_rss_bytes_max_over_ranks"],
        "coef_dtype": m.get("state_dtype", "float64"),
    }
    if test:
        r = subprocess.run([*launcher(ranks), BIN, "evaluate", "--model", model, "--data", test, "--json"], check=True, env=env, capture_output=True, text=True)
        result["accuracy"] = json.loads(r.stdout)["accuracy"]
    return result


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--sklearn-worker":
        sklearn_worker(sys.argv[2], sys.argv[3] or None, sys.argv[4], sys.argv[5], sys.argv[6])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("test", nargs="?")
    ap.add_argument("--ranks", default="1,2")
    ap.add_argument("--set", default="defaults", choices=sorted(SETS))
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--out", type=Path, default=ROOT / "scratch" / "compare")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    ranks = [int(r) for r in a.ranks.split(",")]

    t = time.perf_counter()
    r = subprocess.run([sys.executable, __file__, "--sklearn-worker", a.data, a.test or "", a.out / "sklearn.joblib", a.set, a.dtype], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t
    sk = json.loads(r.stdout.strip().splitlines()[-1])
    # The held-out accuracy is computed after the model is saved: not part of the job.
    sk["total"] = wall - sk.pop("after_total", 0.0)

    # The objective of every model is computed on the same (scikit-learn's) features.
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs, y = read_corpus(a.data)
    # In the run's dtype, then read as float64: the features both sides fitted.
    X = TfidfVectorizer(dtype=np.dtype(a.dtype), **SETS[a.set][0]).fit_transform(docs).astype(np.float64)
    classes = np.unique(y)
    rows = [("scikit-learn", sk)] + [(f"textsaga {p} rank{'s' if p > 1 else ''}", textsaga_run(a.data, a.test, p, a.out, X, y, classes, a.set, a.dtype)) for p in ranks]

    print(f"corpus: {a.data}, {len(docs)} documents, {len(classes)} classes, {X.shape[1]} features ({a.set}, {a.dtype})" + (f"; held out: {a.test}" if a.test else ""))
    head = f"{'':20}{'vectorize s':>12}{'fit s':>9}{'total s':>9}{'epochs':>7}{'objective':>17}{'accuracy':>9}{'peak RSS MB':>12}{'weights':>9}"
    print(head)
    for name, v in rows:
        acc = f"{v['accuracy']:.4f}" if "accuracy" in v else "-"
        print(f"{name:20}{v['vectorize']:12.2f}{v['fit']:9.2f}{v['total']:9.2f}{v['epochs']:7d}{v['objective']:17.6f}{acc:>9}{v['peak_rss'] / 1e6:12.0f}{v['coef_dtype']:>9}")
    print("ratios (scikit-learn time / textsaga time; textsaga RSS per rank / scikit-learn RSS):")
    for name, v in rows[1:]:
        print(f"  {name:18} vectorize {sk['vectorize'] / v['vectorize']:6.1f}x   fit {sk['fit'] / v['fit']:6.1f}x   "
              f"total {sk['total'] / v['total']:6.1f}x   memory {v['peak_rss'] / sk['peak_rss']:5.2f}")
    (a.out / "compare.json").write_text(json.dumps(dict(rows), indent=2))


if __name__ == "__main__":
    main()
