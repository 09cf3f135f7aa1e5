"""Turn a textsaga model into a scikit-learn Pipeline, so that a model trained
on a cluster is served from Python.

usage: to_sklearn.py MODEL.h5 OUT.joblib

The Pipeline is TfidfVectorizer (HashingVectorizer + TfidfTransformer in
hashing mode, CountVectorizer + TfidfTransformer with --no-idf) with
textsaga's vocabulary, idf and settings, followed by a LogisticRegression
holding textsaga's coef_, intercept_ and classes_. Its predictions equal
`textsaga predict`'s.

Only public parameters and attributes are set, and the estimator says its
penalty as scikit-learn 1.8+ does (l1_ratio, C=np.inf for none; `penalty`
is deprecated there and gone in 1.10): nothing warns under the pinned
scikit-learn, and a refit of the pipeline fits the same problem.
"""

import json
import sys

import h5py
import joblib
import numpy as np
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline


def df_bound(b):
    """textsaga's {"count": n} / {"fraction": f} as sklearn's int / float."""
    (kind, value), = b.items()
    return int(value) if kind == "count" else float(value)


def vectorizer_steps(params, vocabulary, idf):
    a = params["analyzer"]
    common = dict(
        dtype=np.float32 if params.get("dtype") == "float32" else np.float64,
        encoding=params.get("encoding", "utf-8"),
        analyzer=a.get("kind", "word"),
        lowercase=a["lowercase"],
        strip_accents=a["strip_accents"],
        ngram_range=tuple(a["ngram_range"]),
        token_pattern=a.get("token_pattern") or r"(?u)\b\w\w+\b",
        stop_words=a["stop_words"] if a.get("stop_words") is not None else ("english" if a["stop_words_english"] else None),
        binary=params["binary"],
    )
    weighting = dict(
        norm=None if params["norm"] == "none" else params["norm"],
        use_idf=params["use_idf"],
        smooth_idf=params["smooth_idf"],
        sublinear_tf=params["sublinear_tf"],
    )
    if params["hashing"] is None and params["use_idf"]:
        # A given vocabulary needs no fit, and the public idf_ setter
        # validates it: the vectorizer is fitted.
        vec = TfidfVectorizer(vocabulary={t: i for i, t in enumerate(vocabulary)}, **weighting, **common)
        vec.idf_ = idf
        return [("tfidf", vec)]
    # Without idf, TfidfVectorizer has no public way to be fitted without
    # documents: its two halves, each fitted by its attributes.
    if params["hashing"] is None:
        counts = ("counts", CountVectorizer(vocabulary={t: i for i, t in enumerate(vocabulary)}, **common))
    else:
        counts = ("hashing", HashingVectorizer(n_features=params["hashing"], alternate_sign=params["alternate_sign"], norm=None, **common))
    tfidf = TfidfTransformer(**weighting)
    if params["use_idf"]:
        tfidf.idf_ = idf
    tfidf.n_features_in_ = len(vocabulary) if vocabulary is not None else params["hashing"]
    return [counts, ("tfidf", tfidf)]


def class_weight(solver, classes):
    """sklearn's class_weight from the model's settings: "balanced", a dict
    from each listed class (of the classes' own type) to its weight, or None."""
    if solver["class_weight_balanced"]:
        return "balanced"
    given = dict(solver.get("class_weights") or [])
    return {c.item() if hasattr(c, "item") else c: given[str(c)] for c in classes if str(c) in given} or None


def regularization(solver):
    """(C, l1_ratio) as scikit-learn 1.8+ takes them: C = inf is no penalty.
    Models written before l1_ratio chose the penalty said it with `penalty`
    (l1 came with l1_ratio 0, none with a finite C)."""
    c, ratio = float(solver["c"]), solver["l1_ratio"]  # float("inf") reads textsaga's "inf"
    return {"none": (np.inf, 0.0), "l2": (c, 0.0), "l1": (c, 1.0)}.get(solver.get("penalty"), (c, ratio))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    model_path, out = sys.argv[1], sys.argv[2]
    with h5py.File(model_path, "r") as f:
        params = json.loads(f.attrs["params"])
        coef = f["coef"][:]
        intercept = f["intercept"][:]
        classes = f["classes"][:]
        if classes.dtype.kind in "SO":
            classes = np.array([c.decode() if isinstance(c, bytes) else c for c in classes], dtype=object)
        vocabulary = [t.decode() for t in f["vocabulary"][:]] if "vocabulary" in f else None
        idf = f["idf"][:] if "idf" in f else None
        # Chosen by cross-validation (fit --Cs): LogisticRegressionCV's attributes.
        chosen = {"C_": np.array([f.attrs["C_"]]), "Cs_": f["Cs"][:], "scores_": f["scores"][:]} if "C_" in f.attrs else {}
        if "l1_ratio_" in f.attrs:
            chosen["l1_ratio_"] = np.array([f.attrs["l1_ratio_"]])
    solver = params["solver"]
    C, l1_ratio = regularization(solver)
    clf = LogisticRegression(
        solver="saga",
        C=C,
        l1_ratio=l1_ratio,
        fit_intercept=solver["fit_intercept"],
        class_weight=class_weight(solver, classes),
        max_iter=solver["max_iter"],
        tol=solver["tol"],
    )
    clf.coef_ = coef
    clf.intercept_ = intercept
    clf.classes_ = classes
    clf.n_features_in_ = coef.shape[1]
    for name, value in chosen.items():
        setattr(clf, name, value)
    pipe = Pipeline(vectorizer_steps(params["vectorizer"], vocabulary, idf) + [("logreg", clf)])
    joblib.dump(pipe, out)
    print(f"to_sklearn: {model_path} -> {out} ({len(classes)} classes, {coef.shape[1]} features)")


if __name__ == "__main__":
    main()
