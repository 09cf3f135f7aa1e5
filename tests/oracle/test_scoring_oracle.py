"""Scores as scikit-learn computes them: the CV scorers (f1_macro,
f1_weighted, balanced_accuracy, roc_auc, roc_auc_ovr) against
LogisticRegressionCV's with the same folds (shuffled StratifiedKFold, and
given folds as PredefinedSplit), and `evaluate`'s classification report and
balanced accuracy against sklearn.metrics on the same predictions."""

import json
import shutil
import sys
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import balanced_accuracy_score, classification_report
from sklearn.model_selection import PredefinedSplit, StratifiedKFold

sys.path.insert(0, str(Path(__file__).parent))
from conftest import read_docs, run  # noqa: E402

TIGHT = ["--tol", "1e-10", "--max-iter", "5000"]
CS = [0.05, 0.5, 5.0]


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    d = tmp_path_factory.mktemp("scoring")
    out = {}
    for name, classes in [("binary", 2), ("multi", 3)]:
        p = d / f"{name}.h5"
        run(1, "generate", "-o", p, "--docs", 240, "--classes", classes, "--vocab-size", 400,
            "--mean-length", 15, "--topic-words", 4, "--topic-share", 0.06, "--seed", 1, "--quiet")
        out[name] = p
    return d, out


def sklearn_cv(X, y, cv, scoring):
    """LogisticRegressionCV's C_ and scores_; a ConvergenceWarning fails the reference. The
    scorers here count predictions (or rank them): both fits at tol 1e-10 give the same ones,
    so the scores agree to rounding (1e-6)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("ignore", FutureWarning)
        m = LogisticRegressionCV(Cs=CS, cv=cv, solver="saga", scoring=scoring, l1_ratios=(0.0,), tol=1e-10, max_iter=20000).fit(X, y)
    return float(m.C_[0]), next(iter(m.scores_.values()))[:, :, 0]


def read_scores(path):
    with h5py.File(path) as f:
        return float(f.attrs["C_"]), f["scores"][:]


# Not ("binary", "f1_macro"): scikit-learn 1.9.1's LogisticRegressionCV itself fails on it
# ("make_scorer() got multiple values for keyword argument 'pos_label'"), so there is no reference.
SCORERS = [("binary", "roc_auc"), ("binary", "balanced_accuracy"), ("multi", "f1_macro"), ("multi", "f1_weighted"),
           ("multi", "balanced_accuracy"), ("multi", "roc_auc_ovr"), ("binary", "roc_auc_ovr")]


@pytest.mark.parametrize("name,scoring", SCORERS)
def test_scorers_on_shuffled_folds_match_sklearn(corpora, tmp_path, name, scoring):
    d, paths = corpora
    docs, y = read_docs(paths[name])
    X = TfidfVectorizer().fit_transform(docs)
    C, want = sklearn_cv(X, y, StratifiedKFold(3, shuffle=True, random_state=3), scoring)
    for ranks in (1, 3):
        model = tmp_path / f"m{ranks}.h5"
        run(ranks, "fit", "--data", paths[name], "--model", model, "--Cs", ",".join(map(str, CS)), "--cv", 3,
            "--cv-shuffle", "--seed", 3, "--scoring", scoring, *TIGHT, "--quiet")
        got_c, got = read_scores(model)
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= 1e-6, (ranks, got, want)
        assert got_c == C


def test_given_folds_are_sklearns_predefined_split(corpora, tmp_path):
    d, paths = corpora
    data = tmp_path / "folds.h5"
    shutil.copy(paths["multi"], data)
    rng = np.random.default_rng(5)
    # -1 (never held out) or folds numbered 1, 3, 5: any integers, taken in sorted order.
    test_fold = rng.integers(-1, 3, size=240) * 2 + 1
    with h5py.File(data, "a") as f:
        f["fold"] = test_fold
    docs, y = read_docs(data)
    X = TfidfVectorizer().fit_transform(docs)
    C, want = sklearn_cv(X, y, PredefinedSplit(test_fold), "accuracy")
    model = tmp_path / "m.h5"
    run(2, "fit", "--data", data, "--model", model, "--Cs", ",".join(map(str, CS)), "--cv-folds", "fold", *TIGHT, "--quiet")
    got_c, got = read_scores(model)
    assert got.shape == want.shape and np.abs(got - want).max() <= 1e-6, (got, want)
    assert got_c == C


def test_evaluate_reports_as_sklearn_metrics(corpora, tmp_path):
    d, paths = corpora
    model, pred, metrics = tmp_path / "m.h5", tmp_path / "p.h5", tmp_path / "e.json"
    run(2, "fit", "--data", paths["multi"], "--model", model, "--quiet", "--max-iter", 3)
    run(2, "predict", "--model", model, "--data", paths["multi"], "-o", pred, "--quiet")
    out = run(3, "evaluate", "--model", model, "--data", paths["multi"], "--metrics", metrics).stdout
    _, y = read_docs(paths["multi"])
    with h5py.File(pred) as f:
        predicted = f["predicted"][:]
    want = classification_report(y, predicted, output_dict=True, zero_division=0)
    r = json.loads(metrics.read_text())
    for c, row in zip(r["classes"], r["per_class"]):
        w = want[str(c)]
        assert row["support"] == w["support"]
        for key, wkey in [("precision", "precision"), ("recall", "recall"), ("f1", "f1-score")]:
            assert abs(row[key] - w[wkey]) <= 1e-12, (c, key)
    for ours, theirs in [("macro_avg", "macro avg"), ("weighted_avg", "weighted avg")]:
        assert abs(r[ours]["f1"] - want[theirs]["f1-score"]) <= 1e-12
        assert abs(r[ours]["precision"] - want[theirs]["precision"]) <= 1e-12
    assert abs(r["balanced_accuracy"] - balanced_accuracy_score(y, predicted)) <= 1e-12
    assert "weighted avg" in out and "precision" in out
