"""What users already have, read as they wrote it (issue 12): compressed JSON
Lines and CSV, Parquet, corpora without labels, h5py's fixed-length strings,
labels stored as whole-number floats. Each is prepared (or read directly),
vectorized at 3 ranks, and held against scikit-learn's TfidfVectorizer on
the same texts."""

import csv
import gzip
import json
import sys
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from sklearn.feature_extraction.text import TfidfVectorizer

sys.path.insert(0, str(Path(__file__).parent))
from conftest import load_matrix, read_model, run  # noqa: E402
from corpora import make_docs, make_labels  # noqa: E402

RANKS = 3
N = 120


@pytest.fixture(scope="module")
def corpus():
    # No document of only whitespace: CSV and Parquet keep them, but an
    # all-blank line is a blank JSON Lines record; keep the formats comparable.
    docs = [d if d.strip() else "blank" for d in make_docs(N, seed=7)]
    return docs, make_labels(N, classes=3, seed=7)


def same_as_sklearn(features, docs, labels=None):
    X, vocab, idf, label = load_matrix(features)
    v = TfidfVectorizer()
    want = v.fit_transform(docs)
    assert vocab == list(v.get_feature_names_out())
    assert np.abs(idf - v.idf_).max() <= 1e-12
    assert abs(X - want).max() <= 1e-12
    if labels is None:
        assert label is None
    else:
        assert [str(x.decode() if isinstance(x, bytes) else x) for x in label] == [str(x) for x in labels]


def write_jsonl(path, docs, labels, opener=open, with_labels=True):
    with opener(path, "wt", encoding="utf-8") as f:
        for d, l in zip(docs, labels):
            rec = {"text": d, "label": l} if with_labels else {"text": d, "id": 1}
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


def zstd_open(path, mode, encoding):
    import io
    return io.TextIOWrapper(zstandard.open(path, "wb"), encoding=encoding)


@pytest.mark.parametrize("kind", ["jsonl.gz", "jsonl.zst", "csv.gz", "tsv.zst", "parquet-snappy", "parquet-zstd", "parquet-gzip"])
def test_prepare_reads_compressed_and_parquet(binary, corpus, tmp_path, kind):
    docs, labels = corpus
    src = tmp_path / ("in." + kind.split("-")[0])
    if kind.startswith("jsonl"):
        write_jsonl(src, docs, labels, gzip.open if kind.endswith("gz") else zstd_open)
    elif kind.startswith(("csv", "tsv")):
        delim = "," if kind.startswith("csv") else "\t"
        opener = gzip.open if kind.endswith("gz") else zstd_open
        with opener(src, "wt", encoding="utf-8") as f:
            w = csv.writer(f, delimiter=delim, lineterminator="\n")
            w.writerow(["label", "text"])
            w.writerows(zip(labels, docs))
    else:
        table = pa.table({"text": docs, "label": pa.array(labels, pa.int64())})
        pq.write_table(table, src, compression=kind.split("-")[1], row_group_size=37)
    out = tmp_path / "c.h5"
    run(1, "prepare", src, "-o", out, "--quiet")
    run(RANKS, "vectorize", "--data", out, "-o", tmp_path / "f.h5", "--quiet")
    same_as_sklearn(tmp_path / "f.h5", docs, labels)


def test_an_unlabelled_corpus_is_for_predict(binary, corpus, tmp_path):
    docs, labels = corpus
    labelled, unlabelled = tmp_path / "l.jsonl", tmp_path / "u.jsonl"
    write_jsonl(labelled, docs, labels)
    write_jsonl(unlabelled, docs, labels, with_labels=False)
    for src, extra in [(unlabelled, []), (labelled, ["--label-field", "none"])]:
        out = tmp_path / "u.h5"
        run(1, "prepare", src, "-o", out, "--quiet", *extra)
        with h5py.File(out) as f:
            assert "label" not in f
        run(RANKS, "vectorize", "--data", out, "-o", tmp_path / "f.h5", "--quiet")
        same_as_sklearn(tmp_path / "f.h5", docs)
        fit = run(RANKS, "fit", "--data", out, "--model", tmp_path / "m.h5", check=False)
        assert fit.returncode == 1 and "fit and evaluate need labels" in fit.stderr
    run(1, "prepare", labelled, "-o", tmp_path / "l.h5", "--quiet")
    run(RANKS, "fit", "--data", tmp_path / "l.h5", "--model", tmp_path / "m.h5", "--max-iter", "3", "--quiet")
    run(RANKS, "predict", "--model", tmp_path / "m.h5", "--data", tmp_path / "u.h5", "-o", tmp_path / "p.h5", "--quiet")
    with h5py.File(tmp_path / "p.h5") as f:
        assert len(f["predicted"]) == len(docs)


def test_fixed_length_strings_and_float_labels(binary, corpus, tmp_path):
    docs, labels = corpus
    fixed = tmp_path / "fixed.h5"
    with h5py.File(fixed, "w") as f:
        # What numpy gives for a list of bytes: NUL-padded fixed-length strings.
        f.create_dataset("text", data=np.array([d.encode() for d in docs], dtype="S"))
        f.create_dataset("label", data=np.array(labels, dtype=np.float64))
    run(RANKS, "vectorize", "--data", fixed, "-o", tmp_path / "f.h5", "--quiet")
    same_as_sklearn(tmp_path / "f.h5", docs, labels)
    # The same fit as with integer labels.
    ints = tmp_path / "ints.h5"
    with h5py.File(ints, "w") as f:
        f["text"] = docs
        f["label"] = np.array(labels, dtype=np.int64)
    for data, model in [(fixed, "a.h5"), (ints, "b.h5")]:
        run(RANKS, "fit", "--data", data, "--model", tmp_path / model, "--max-iter", "5", "--quiet")
    a, b = read_model(tmp_path / "a.h5"), read_model(tmp_path / "b.h5")
    assert np.array_equal(a["coef"], b["coef"]) and np.array_equal(a["classes"], b["classes"])
    # Fixed-length string labels are string labels.
    names = tmp_path / "names.h5"
    with h5py.File(names, "w") as f:
        f["text"] = docs
        f.create_dataset("label", data=np.array([f"class{l}".encode() for l in labels], dtype="S"))
    run(RANKS, "vectorize", "--data", names, "-o", tmp_path / "g.h5", "--quiet")
    same_as_sklearn(tmp_path / "g.h5", docs, [f"class{l}" for l in labels])
