"""`fit --features` against scikit-learn: features made outside textsaga (a
scipy CSR matrix written with h5py, as a user brings their own) reach
LogisticRegression's optimum on that matrix at 1-3 ranks, for both solvers,
and that model predicts on such files as scikit-learn does;
`vectorize`'s file is the TfidfVectorizer matrix, and a model fitted from it
predicts on raw text as scikit-learn's pipeline does."""

import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

sys.path.insert(0, str(Path(__file__).parent))
from conftest import objective, read_docs, read_model, run, run_alone  # noqa: E402

TIGHT = ["--tol", "1e-10", "--max-iter", "3000"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("features")
    paths = {}
    for part, seed in [("train", 1), ("test", 2)]:
        paths[part] = d / f"{part}.h5"
        run(1, "generate", "-o", paths[part], "--docs", 500, "--classes", 3, "--vocab-size", 1200,
            "--mean-length", 25, "--topic-words", 5, "--topic-share", 0.1, "--seed", seed, "--quiet")
    return d, paths


def write_scipy(path, X, y, unsorted=False):
    """What a user writes with h5py for a scipy CSR matrix and its labels;
    `unsorted` reverses each row's column order (scipy allows it)."""
    X = X.tocsr()
    indices, data = X.indices.copy(), X.data.copy()
    if unsorted:
        for a, b in zip(X.indptr[:-1], X.indptr[1:]):
            indices[a:b], data[a:b] = indices[a:b][::-1].copy(), data[a:b][::-1].copy()
    with h5py.File(path, "w") as f:
        f["data"], f["indices"], f["indptr"] = data, indices.astype(np.int32), X.indptr.astype(np.int32)
        f.attrs["shape"] = X.shape
        f["label"] = y


@pytest.mark.parametrize("solver", ["saga", "lbfgs"])
def test_own_features_reach_sklearns_optimum(corpus, tmp_path, solver):
    d, paths = corpus
    docs, y = read_docs(paths["train"])
    # Bigrams with min_df and sublinear tf: a matrix textsaga's defaults would not make.
    X = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit_transform(docs)
    feats = tmp_path / "own.h5"
    write_scipy(feats, X, y, unsorted=True)
    ref = LogisticRegression(solver="saga", C=1.0, tol=1e-12, max_iter=20000).fit(X, y)
    opt = objective(X, y, ref.classes_, ref.coef_, ref.intercept_, 1.0, "l2")
    for ranks in (1, 2, 3):
        model = tmp_path / f"m{ranks}.h5"
        run(ranks, "fit", "--features", feats, "--model", model, "--solver", solver, "--quiet", *TIGHT)
        m = read_model(model)
        assert list(m["classes"]) == list(ref.classes_)
        assert m["params"]["external_features"] is True
        ours = objective(X, y, ref.classes_, m["coef"], m["intercept"], 1.0, "l2")
        assert abs(ours - opt) <= 1e-6 * abs(opt), f"{solver} at {ranks} ranks: {ours!r} vs sklearn's {opt!r}"
    with h5py.File(model) as f:
        assert "vocabulary" not in f and "idf" not in f
    # No vectorizer in the model: it refuses text and says what it takes...
    p = run_alone("predict", "--model", model, "--data", paths["test"], "-o", tmp_path / "p.h5")
    assert p.returncode == 1 and "predicts on features files only" in p.stderr, p.stderr
    # ...and predicts on features files as scikit-learn does.
    run(2, "predict", "--model", model, "--features", feats, "-o", tmp_path / "p.h5", "--proba", "--quiet")
    with h5py.File(tmp_path / "p.h5") as f:
        assert np.max(np.abs(ref.predict_proba(X) - f["proba"][:])) <= 1e-5
        assert list(f["id"][:]) == list(range(X.shape[0]))


def test_a_model_from_vectorize_predicts_text_as_sklearns_pipeline(corpus, tmp_path):
    d, paths = corpus
    docs, y = read_docs(paths["train"])
    test_docs, _ = read_docs(paths["test"])
    feats, model, pred = tmp_path / "f.h5", tmp_path / "m.h5", tmp_path / "p.h5"
    run(2, "vectorize", "--data", paths["train"], "-o", feats, "--ngram-range", "1,2", "--min-df", "2", "--quiet")
    run(3, "fit", "--features", feats, "--model", model, "--quiet", *TIGHT)
    run(2, "predict", "--model", model, "--data", paths["test"], "-o", pred, "--proba", "--quiet")
    pipe = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2),
                         LogisticRegression(solver="saga", tol=1e-12, max_iter=20000)).fit(docs, y)
    with h5py.File(pred) as f:
        assert np.max(np.abs(pipe.predict_proba(test_docs) - f["proba"][:])) <= 1e-5
        assert np.mean(pipe.predict(test_docs).astype(f["predicted"].dtype) == f["predicted"][:]) >= 0.99
