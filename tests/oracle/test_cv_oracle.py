"""textsaga fit --Cs --cv against scikit-learn's LogisticRegressionCV(solver="saga")
at 1-4 ranks, both sides at a tight tolerance (scikit-learn's ConvergenceWarning
an error): the same chosen C (and mix), fold scores within the precision both
fits reach (`score_tolerance`), the refit model within 1e-6 of scikit-learn's
optimum at that C; l2, l1 and elastic-net paths; with --validation-data, the
scores of a held-out file; with --sample-weight,
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
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import accuracy_score, get_scorer, log_loss
from sklearn.utils.class_weight import compute_class_weight

sys.path.insert(0, str(Path(__file__).parent))
from conftest import ROOT, converged, objective, read_docs, run, run_alone  # noqa: E402

TIGHT = ["--tol", "1e-10", "--max-iter", "5000"]
CS = [0.05, 0.5, 5.0]


@pytest.fixture(scope="module")
def corpora(tmp_path_factory, binary):
    d = tmp_path_factory.mktemp("cv")
    out = {}
    # "narrow": every word in many documents, so no two columns of a fold are equal; with equal
    # columns l1's optimum is not one point (any split of their weight costs the same) and its
    # held-out scores are anyone's (both fits reach the objective's optimum, 1e-13 apart, while
    # their fold scores differ by 5e-5 on "binary").
    for name, classes, vocab in [("binary", 2, 400), ("multi", 3, 400), ("narrow", 2, 60)]:
        for part, seed in [("train", 1), ("test", 2)][: 1 if name == "narrow" else 2]:
            p = d / f"{name}-{part}.h5"
            run(1, "generate", "-o", p, "--docs", 240, "--classes", classes, "--vocab-size", vocab,
                "--mean-length", 15, "--topic-words", 4, "--topic-share", 0.06, "--seed", seed, "--quiet")
            out[name, part] = p
    return d, out


def score_tolerance(X, y, C, l1_ratio, model, tol):
    """How far textsaga's fold scores may be from scikit-learn's when both fits stop at `tol`.

    A held-out score (mean log loss; accuracy moves only when a prediction flips) moves by
    at most 2 per unit of distance between two models (coef and intercept, Frobenius): its
    gradient in a document's logits is p - e_y (norm <= sqrt 2) times the row with the
    intercept's 1 (norm sqrt 2: rows are l2-normalised). The distance between two fits at
    `tol` is measured on the refit: scikit-learn's fit of all the documents at C_ and `tol`
    against textsaga's refit at the same tol (3e-7 at tol 1e-10 here), standing for each
    fold's pair of fits. So 2 x that distance: 5e-7 to 8e-7 at tol 1e-10 (the fold scores
    differ by 1e-9 to 3e-8), where 1e-3 let a wrong fold or C through."""
    sk = converged(lambda: LogisticRegression(solver="saga", C=C, l1_ratio=l1_ratio, tol=tol, max_iter=20000).fit(X, y))
    ours = np.c_[model["coef"], model["intercept"]]
    return 2 * np.linalg.norm(ours - np.c_[sk.coef_, sk.intercept_])


def read_cv_model(path):
    with h5py.File(path, "r") as f:
        return {"C_": float(f.attrs["C_"]), "l1_ratio_": float(f.attrs["l1_ratio_"]) if "l1_ratio_" in f.attrs else None, "Cs": f["Cs"][:], "scores": f["scores"][:], "coef": f["coef"][:],
                "intercept": f["intercept"][:], "classes": f["classes"][:]}


@pytest.mark.parametrize("scoring", ["accuracy", "neg_log_loss"])
@pytest.mark.parametrize("name", ["binary", "multi"])
def test_cross_validation_matches_sklearn(corpora, name, scoring):
    d, paths = corpora
    docs, y = read_docs(paths[name, "train"])
    X = TfidfVectorizer().fit_transform(docs)
    cv = converged(lambda: LogisticRegressionCV(Cs=CS, cv=3, solver="saga", scoring=scoring, l1_ratios=(0.0,), tol=1e-10, max_iter=20000).fit(X, y))
    want_scores = next(iter(cv.scores_.values()))[:, :, 0]
    C = float(cv.C_[0])
    # sklearn's optimum at that C, to the objective's last digits.
    best = converged(lambda: LogisticRegression(solver="saga", C=C, l1_ratio=0.0, tol=1e-12, max_iter=50000).fit(X, y))
    f_sk = objective(X, y, best.classes_, best.coef_, best.intercept_, C=C)
    tolerance = None
    for ranks in [1, 2, 3, 4]:
        model = d / f"{name}-{scoring}-{ranks}.h5"
        p = run(ranks, "fit", "--data", paths[name, "train"], "--model", model, "--Cs", ",".join(map(str, CS)),
                "--cv", 3, "--scoring", scoring, *TIGHT, "--quiet")
        assert "ConvergenceWarning" not in p.stderr, p.stderr
        m = read_cv_model(model)
        assert m["C_"] == C, f"{ranks} ranks: chose C={m['C_']}, sklearn {C}"
        assert np.allclose(m["Cs"], CS)
        assert m["scores"].shape == want_scores.shape
        tolerance = tolerance or score_tolerance(X, y, C, 0.0, m, 1e-10)
        assert np.abs(m["scores"] - want_scores).max() <= tolerance, (ranks, tolerance, m["scores"], want_scores)
        f_ts = objective(X, y, m["classes"], m["coef"], m["intercept"], C=C)
        assert abs(f_ts - f_sk) <= 1e-6 * abs(f_sk), (ranks, f_ts, f_sk)


# (corpus, flags, LogisticRegressionCV's l1_ratios, Cs, rank counts). l1's Cs start at 1: at
# C = 0.05 its optimum has no coefficient, and both scikit-learn and textsaga then stop after
# 1-3 epochs (the change they test is the coefficients', all zero) with the intercept short of
# its optimum (0.009 where log-odds 0 is optimal). One rank count each, for CI's time: l1 at 1
# (SAGA at 2 ranks steps by minibatches and needs over 5,000 epochs at C = 10, tol 1e-10), the
# mixes at 2; the l2 path above runs at 1-4.
MIXED_PATHS = {
    "l1": ("narrow", ["--l1-ratio", 1], (1.0,), [1.0, 3.0, 10.0], (1,)),
    "elasticnet": ("narrow", ["--l1-ratios", "0.3,0.8"], (0.3, 0.8), [0.5, 2.0], (2,)),
}


@pytest.mark.parametrize("case", list(MIXED_PATHS))
def test_l1_and_elasticnet_paths_match_sklearn(corpora, case):
    """--Cs with --l1-ratio 1 and with --l1-ratios (a grid of mixes, scores
    folds x Cs x mixes): LogisticRegressionCV's C_, l1_ratio_ and scores_
    (neg_log_loss, the continuous one), and its refit's optimum within 1e-6."""
    d, paths = corpora
    name, flags, ratios, cs, rank_counts = MIXED_PATHS[case]
    docs, y = read_docs(paths[name, "train"])
    X = TfidfVectorizer().fit_transform(docs)
    cv = converged(lambda: LogisticRegressionCV(Cs=cs, cv=3, solver="saga", scoring="neg_log_loss", l1_ratios=ratios,
                                                tol=1e-10, max_iter=20000).fit(X, y))
    want = next(iter(cv.scores_.values()))
    want = want if len(ratios) > 1 else want[:, :, 0]
    C, ratio = float(cv.C_[0]), float(cv.l1_ratio_[0])
    penalty = "l1" if ratio == 1.0 else "elasticnet"
    best = converged(lambda: LogisticRegression(solver="saga", C=C, l1_ratio=ratio, tol=1e-12, max_iter=20000).fit(X, y))
    f_sk = objective(X, y, best.classes_, best.coef_, best.intercept_, C, penalty, ratio)
    tolerance = None
    for ranks in rank_counts:
        model = d / f"{case}-{ranks}.h5"
        p = run(ranks, "fit", "--data", paths[name, "train"], "--model", model, "--Cs", ",".join(map(str, cs)), "--cv", 3,
                "--scoring", "neg_log_loss", *flags, *TIGHT, "--quiet")
        assert "ConvergenceWarning" not in p.stderr, p.stderr
        m = read_cv_model(model)
        assert m["C_"] == C, f"{ranks} ranks: chose C={m['C_']}, sklearn {C}"
        assert m["l1_ratio_"] == (ratio if len(ratios) > 1 else None), f"{ranks} ranks: chose l1_ratio={m['l1_ratio_']}, sklearn {ratio}"
        assert m["scores"].shape == want.shape
        tolerance = tolerance or score_tolerance(X, y, C, ratio, m, 1e-10)
        assert np.abs(m["scores"] - want).max() <= tolerance, (ranks, tolerance, m["scores"], want)
        f_ts = objective(X, y, m["classes"], m["coef"], m["intercept"], C, penalty, ratio)
        assert abs(f_ts - f_sk) <= 1e-6 * abs(f_sk), (ranks, f_ts, f_sk)


def test_validation_data_scores_the_held_out_file(corpora):
    d, paths = corpora
    docs, y = read_docs(paths["multi", "train"])
    vdocs, vy = read_docs(paths["multi", "test"])
    vec = TfidfVectorizer().fit(docs)
    X, V = vec.transform(docs), vec.transform(vdocs)
    want = []
    for C in CS:
        lr = converged(lambda: LogisticRegression(solver="saga", C=C, l1_ratio=0.0, tol=1e-10, max_iter=20000).fit(X, y))
        want.append(log_loss(vy, lr.predict_proba(V), labels=lr.classes_) * -1)
    model = d / "validated.h5"
    run(2, "fit", "--data", paths["multi", "train"], "--model", model, "--Cs", ",".join(map(str, CS)),
        "--validation-data", paths["multi", "test"], "--scoring", "neg_log_loss", *TIGHT, "--quiet")
    m = read_cv_model(model)
    assert m["scores"].shape == (1, len(CS))
    # The model at C_ is the fit that scored it: score_tolerance measures its own distance.
    tolerance = score_tolerance(X, y, m["C_"], 0.0, m, 1e-10)
    assert np.abs(m["scores"][0] - want).max() <= tolerance, (tolerance, m["scores"], want)
    assert m["C_"] == CS[int(np.argmax(want))]
    # Exported to scikit-learn: LogisticRegressionCV's attributes, textsaga's predictions.
    subprocess.run([sys.executable, ROOT / "scripts" / "to_sklearn.py", model, d / "cv.joblib"], check=True, capture_output=True)
    pipe = joblib.load(d / "cv.joblib")
    assert pipe[-1].C_[0] == m["C_"] and np.array_equal(pipe[-1].scores_, m["scores"])
    run(2, "predict", "--model", model, "--data", paths["multi", "test"], "-o", d / "p.h5", "--proba", "--quiet")
    with h5py.File(d / "p.h5") as f:
        assert np.abs(pipe.predict_proba(vdocs) - f["proba"][:]).max() <= 1e-12


@pytest.mark.xfail(strict=True, reason="the tol test looks at the coefficients only (as scikit-learn's saga): "
                   "when l1 zeroes them all it stops after 1-3 epochs, the intercept short of its optimum")
def test_l1_that_zeroes_every_coefficient_still_fits_the_intercept(corpora, tmp_path):
    """The small Cs of an l1 path: at C = 0.05 l1's optimum has no coefficient
    (every |X^T (y - p)| is under 1/C, checked) and its intercept is the
    log-odds of the classes, an optimum in closed form; scikit-learn's saga
    misses it too (an intercept of 0.25 after 1 epoch where 0 is optimal, on
    a fold). textsaga stops after 3 epochs at 0.009: 1.5e-5 over the optimum,
    not within 1e-6 (0.3 s)."""
    d, paths = corpora
    docs, y = read_docs(paths["binary", "train"])
    X = TfidfVectorizer().fit_transform(docs)
    classes = np.unique(y)
    share = np.mean(y == classes[1])
    assert np.abs(X.T @ ((y == classes[1]) - share)).max() < 1 / 0.05
    opt = objective(X, y, classes, np.zeros((1, X.shape[1])), np.array([np.log(share / (1 - share))]), 0.05, "l1")
    model = tmp_path / "m.h5"
    run(1, "fit", "--data", paths["binary", "train"], "--model", model, "--quiet", "-C", 0.05, "--l1-ratio", 1, *TIGHT)
    with h5py.File(model) as f:
        coef, intercept, n_iter = f["coef"][:], f["intercept"][:], int(f.attrs["n_iter"])
    assert not np.any(coef)
    ours = objective(X, y, classes, coef, intercept, 0.05, "l1")
    assert abs(ours - opt) <= 1e-6 * abs(opt), f"{ours!r} vs the closed-form optimum {opt!r} (intercept {intercept} after {n_iter} epochs)"


def test_a_path_that_stops_at_max_iter_warns_as_sklearn(corpora, tmp_path):
    """LogisticRegressionCV warns (ConvergenceWarning) when a fold's fit stops
    at max_iter; textsaga says it once for the job, with the count, --quiet or
    not (0.5 s: three epochs)."""
    _, paths = corpora
    docs, y = read_docs(paths["narrow", "train"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        LogisticRegressionCV(Cs=[1, 3, 10], cv=3, solver="saga", l1_ratios=(1.0,), max_iter=3).fit(TfidfVectorizer().fit_transform(docs), y)
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught)
    p = run(2, "fit", "--data", paths["narrow", "train"], "--model", tmp_path / "m.h5", "--Cs", "1,3,10",
            "--cv", 3, "--l1-ratio", 1, "--max-iter", 3, "--quiet")
    lines = [line for line in p.stderr.splitlines() if "ConvergenceWarning" in line]
    # The path's line (9 fits) and the refit's.
    assert len(lines) == 2 and "in 9 of the path's 9 fits" in lines[0], p.stderr


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
