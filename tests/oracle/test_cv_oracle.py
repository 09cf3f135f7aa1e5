"""textsaga fit --Cs --cv against scikit-learn's LogisticRegressionCV(solver="saga")
at 1-4 ranks, both sides at a tight tolerance: the same chosen C, fold scores
within 1e-3, the refit model within 1e-6 of scikit-learn's optimum at that C;
with --validation-data, the scores of a held-out file; with --sample-weight,
LogisticRegressionCV.fit(sample_weight=...)'s weighted fits and scores."""

import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import h5py
import joblib
import numpy as np
import pytest
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import accuracy_score, get_scorer, log_loss
from sklearn.utils.class_weight import compute_class_weight

sys.path.insert(0, str(Path(__file__).parent))
from conftest import ROOT, objective, read_docs, run, run_alone  # noqa: E402

TIGHT = ["--tol", "1e-10", "--max-iter", "5000"]
CS = [0.05, 0.5, 5.0]


@pytest.fixture(scope="module")
def corpora(tmp_path_factory, binary):
    d = tmp_path_factory.mktemp("cv")
    out = {}
    for name, classes in [("binary", 2), ("multi", 3)]:
        for part, seed in [("train", 1), ("test", 2)]:
            p = d / f"{name}-{part}.h5"
            run(1, "generate", "-o", p, "--docs", 240, "--classes", classes, "--vocab-size", 400,
                "--mean-length", 15, "--topic-words", 4, "--topic-share", 0.06, "--seed", seed, "--quiet")
            out[name, part] = p
    return d, out


def read_cv_model(path):
    with h5py.File(path, "r") as f:
        return {"C_": float(f.attrs["C_"]), "Cs": f["Cs"][:], "scores": f["scores"][:], "coef": f["coef"][:],
                "intercept": f["intercept"][:], "classes": f["classes"][:]}


@pytest.mark.parametrize("scoring", ["accuracy", "neg_log_loss"])
@pytest.mark.parametrize("name", ["binary", "multi"])
def test_cross_validation_matches_sklearn(corpora, name, scoring):
    d, paths = corpora
    docs, y = read_docs(paths[name, "train"])
    X = TfidfVectorizer().fit_transform(docs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv = LogisticRegressionCV(Cs=CS, cv=3, solver="saga", scoring=scoring, l1_ratios=(0.0,), tol=1e-10, max_iter=20000).fit(X, y)
    want_scores = next(iter(cv.scores_.values()))[:, :, 0]
    C = float(cv.C_[0])
    # sklearn's optimum at that C, to the objective's last digits.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        best = LogisticRegression(solver="saga", C=C, l1_ratio=0.0, tol=1e-12, max_iter=50000).fit(X, y)
    f_sk = objective(X, y, best.classes_, best.coef_, best.intercept_, C=C)
    for ranks in [1, 2, 3, 4]:
        model = d / f"{name}-{scoring}-{ranks}.h5"
        run(ranks, "fit", "--data", paths[name, "train"], "--model", model, "--Cs", ",".join(map(str, CS)),
            "--cv", 3, "--scoring", scoring, *TIGHT, "--quiet")
        m = read_cv_model(model)
        assert m["C_"] == C, f"{ranks} ranks: chose C={m['C_']}, sklearn {C}"
        assert np.allclose(m["Cs"], CS)
        assert m["scores"].shape == want_scores.shape
        assert np.abs(m["scores"] - want_scores).max() <= 1e-3, (m["scores"], want_scores)
        f_ts = objective(X, y, m["classes"], m["coef"], m["intercept"], C=C)
        assert abs(f_ts - f_sk) <= 1e-6 * abs(f_sk), (ranks, f_ts, f_sk)


def test_validation_data_scores_the_held_out_file(corpora):
    d, paths = corpora
    docs, y = read_docs(paths["multi", "train"])
    vdocs, vy = read_docs(paths["multi", "test"])
    vec = TfidfVectorizer().fit(docs)
    X, V = vec.transform(docs), vec.transform(vdocs)
    want = []
    for C in CS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lr = LogisticRegression(solver="saga", C=C, l1_ratio=0.0, tol=1e-10, max_iter=20000).fit(X, y)
        want.append(log_loss(vy, lr.predict_proba(V), labels=lr.classes_) * -1)
    model = d / "validated.h5"
    run(2, "fit", "--data", paths["multi", "train"], "--model", model, "--Cs", ",".join(map(str, CS)),
        "--validation-data", paths["multi", "test"], "--scoring", "neg_log_loss", *TIGHT, "--quiet")
    m = read_cv_model(model)
    assert m["scores"].shape == (1, len(CS))
    assert np.abs(m["scores"][0] - want).max() <= 1e-3, (m["scores"], want)
    assert m["C_"] == CS[int(np.argmax(want))]
    # Exported to scikit-learn: LogisticRegressionCV's attributes, textsaga's predictions.
    subprocess.run([sys.executable, ROOT / "scripts" / "to_sklearn.py", model, d / "cv.joblib"], check=True, capture_output=True)
    pipe = joblib.load(d / "cv.joblib")
    assert pipe[-1].C_[0] == m["C_"] and np.array_equal(pipe[-1].scores_, m["scores"])
    run(2, "predict", "--model", model, "--data", paths["multi", "test"], "-o", d / "p.h5", "--proba", "--quiet")
    with h5py.File(d / "p.h5") as f:
        assert np.abs(pipe.predict_proba(vdocs) - f["proba"][:]).max() <= 1e-12


def test_bad_grids_are_refused(corpora, tmp_path):
    _, paths = corpora
    data = paths["binary", "train"]
    cases = [
        (["--Cs", "1,-2"], 2, "C must be positive"),
        (["--Cs", "1", "--cv", "1"], 2, "--cv must be at least 2"),
        (["--cv", "3"], 2, "--cv needs --Cs"),
        (["--Cs", "3", "--cv", "300"], 1, "n_splits=300 cannot be greater than the number of members in each class."),
    ]
    for extra, code, needle in cases:
        # Usage errors (exit 2) are refused before any collective: one process
        # says it as 3 ranks would, without mpirun's clean-up after a failure.
        args = ("fit", "--data", data, "--model", tmp_path / "m.h5", *extra)
        p = run_alone(*args) if code == 2 else run(3, *args, check=False)
        assert p.returncode == code, (extra, p.stderr)
        lines = [l for l in p.stderr.splitlines() if l.startswith("textsaga: error")]
        assert len(lines) == 1 and needle in lines[0], (extra, p.stderr)
        assert not (tmp_path / "m.h5").exists()


def sklearn_weighted_cv(X, y, sw, scoring, cw, routed):
    """LogisticRegressionCV(lbfgs).fit(X, y, sample_weight=sw): with metadata
    routing off (the default) its scorer gets the held-out part of sw; with
    routing on and the scorer asking for none, the scores are unweighted (the
    fits are not)."""
    with warnings.catch_warnings(), sklearn.config_context(enable_metadata_routing=routed):
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("error", ConvergenceWarning)
        if routed:
            scoring = get_scorer(scoring).set_score_request(sample_weight=False)
        est = LogisticRegressionCV(Cs=CS, cv=3, solver="lbfgs", scoring=scoring, l1_ratios=(0.0,), class_weight=cw,
                                   tol=1e-10, max_iter=20000, use_legacy_attributes=True)
        m = est.fit(X, y, sample_weight=sw)
    return float(m.C_[0]), next(iter(m.scores_.values()))[:, :, 0]


@pytest.mark.parametrize("name,scoring,cw", [("binary", "accuracy", None), ("multi", "neg_log_loss", "balanced"), ("multi", "roc_auc_ovr", None)])
def test_sample_weight_cross_validation_matches_sklearn(corpora, tmp_path, name, scoring, cw):
    """--sample-weight with --Cs: LogisticRegressionCV.fit(X, y, sample_weight=w)
    (lbfgs: scikit-learn's saga leaves the weights out of its step). Each fold's
    fits weighted by its training documents' weights, balanced class weights
    counted once over all the data (a fold's own count moves neg_log_loss by far
    more than 1e-6), each fold scored with its held-out documents' weights, the
    refit on all the data weighted: at 1 and 3 ranks the same C_, fold scores
    within 1e-6, the refit within 1e-6 of scikit-learn's weighted optimum at C_."""
    d, paths = corpora
    data = tmp_path / "w.h5"
    shutil.copy(paths[name, "train"], data)
    docs, y = read_docs(data)
    sw = np.random.default_rng(11).choice([0.2, 1.0, 5.0], size=len(y))
    with h5py.File(data, "a") as f:
        f["weight"] = sw
    X = TfidfVectorizer().fit_transform(docs)
    C, want = sklearn_weighted_cv(X, y, sw, scoring, cw, routed=False)
    # The weights reach the scores: unweighted scores (routing on, no request) differ.
    _, unweighted = sklearn_weighted_cv(X, y, sw, scoring, cw, routed=True)
    assert np.abs(want - unweighted).max() > 1e-3
    ref = LogisticRegression(solver="lbfgs", C=C, l1_ratio=0.0, class_weight=cw, tol=1e-12, max_iter=20000).fit(X, y, sample_weight=sw)
    w = sw * (compute_class_weight(cw, classes=ref.classes_, y=y, sample_weight=sw)[np.searchsorted(ref.classes_, y)] if cw else 1.0)
    opt = objective(X, y, ref.classes_, ref.coef_, ref.intercept_, C=C, sample_weight=w)
    extra = ["--class-weight", cw] if cw else []
    for ranks in (1, 3):
        model = tmp_path / f"m{ranks}.h5"
        run(ranks, "fit", "--data", data, "--model", model, "--Cs", ",".join(map(str, CS)), "--cv", 3, "--scoring", scoring,
            "--sample-weight", "weight", *extra, *TIGHT, "--quiet")
        m = read_cv_model(model)
        assert m["scores"].shape == want.shape
        assert np.abs(m["scores"] - want).max() <= 1e-6, (ranks, m["scores"], want)
        assert m["C_"] == C, f"{ranks} ranks: chose C={m['C_']}, sklearn {C}"
        ours = objective(X, y, m["classes"], m["coef"], m["intercept"], C=C, sample_weight=w)
        assert abs(ours - opt) <= 1e-6 * abs(opt), (ranks, ours, opt)
