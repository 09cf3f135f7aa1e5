"""--encoding against scikit-learn's TfidfVectorizer(encoding=..., decode_error=...)
fed the same raw bytes: every byte value under each codec and policy, with
the word and character analyzers, at 1 and 3 ranks; prepare's --encoding;
and a model that keeps its encoding for predict and the exported pipeline."""

import subprocess
import sys
from pathlib import Path

import h5py
import joblib
import numpy as np
import pytest
from sklearn.datasets import load_files
from sklearn.feature_extraction.text import TfidfVectorizer

sys.path.insert(0, str(Path(__file__).parent))
from conftest import ROOT, load_matrix, run, run_alone, write_fast_layout  # noqa: E402
from corpora import make_docs, make_labels  # noqa: E402

TOL = 1e-12


def raw_docs(n=200):
    """Bytes of every value: the trap corpus in cp1252 (what it can hold),
    with runs of the 255 byte values but NUL spliced in (a NUL character
    would be a character n-gram HDF5 strings cannot store)."""
    docs = [d.encode("cp1252", errors="ignore") for d in make_docs(n, seed=11)]
    every = bytes(range(1, 256))
    for i in range(0, n, 7):
        k = (i * 37) % 255
        docs[i] = docs[i] + b" x" + every[k:] + every[:k] + b" caf\xe9 \x80uro"
    return docs


def assert_same(out, X, vec):
    Y, vocab, idf, _ = load_matrix(out)
    assert vocab == list(vec.get_feature_names_out())
    assert np.max(np.abs(idf - vec.idf_)) <= TOL
    diff = abs(Y - X)
    assert (diff.max() if diff.nnz else 0.0) <= TOL


@pytest.fixture(scope="module")
def raw(tmp_path_factory, binary):
    d = tmp_path_factory.mktemp("enc")
    docs = raw_docs()
    write_fast_layout(d / "raw.h5", docs, make_labels(len(docs)))
    return d, docs


@pytest.mark.parametrize("encoding,policy", [("latin-1", "strict"), ("cp1252", "replace"), ("cp1252", "ignore"), ("ascii", "replace"), ("utf-8", "ignore")])
@pytest.mark.parametrize("analyzer", [[], ["--analyzer", "char_wb", "--ngram-range", "1,3"]])
def test_codecs_and_policies_match_python(raw, tmp_path, encoding, policy, analyzer):
    d, docs = raw
    kw = {"analyzer": "char_wb", "ngram_range": (1, 3)} if analyzer else {}
    vec = TfidfVectorizer(encoding=encoding, decode_error=policy, **kw)
    X = vec.fit_transform(docs)
    for ranks in (1, 3):
        out = tmp_path / f"o{ranks}.h5"
        run(ranks, "vectorize", "--data", d / "raw.h5", "-o", out, "--quiet", "--encoding", encoding, "--decode-error", policy, *analyzer)
        assert_same(out, X, vec)


def test_strict_cp1252_names_the_byte_python_cannot_decode(raw, tmp_path):
    d, docs = raw
    with pytest.raises(UnicodeDecodeError):
        TfidfVectorizer(encoding="cp1252").fit(docs)
    first = next(i for i, b in enumerate(docs) if any(x in b for x in (0x81, 0x8D, 0x8F, 0x90, 0x9D)))
    p = run(2, "vectorize", "--data", d / "raw.h5", "-o", tmp_path / "o.h5", "--encoding", "Windows-1252", check=False)
    lines = [line for line in p.stderr.splitlines() if line.startswith("textsaga: error")]
    assert p.returncode == 1 and len(lines) == 1, p.stderr
    assert f"document {first}: byte" in lines[0] and "is not cp1252" in lines[0], lines[0]
    assert not (tmp_path / "o.h5").exists()
    p = run_alone("vectorize", "--data", d / "raw.h5", "-o", tmp_path / "o.h5", "--encoding", "koi8-r")
    assert p.returncode == 2 and "'koi8-r' is not an encoding textsaga decodes" in p.stderr
    nul = tmp_path / "nul.h5"
    write_fast_layout(nul, [b"ab\x00cd", b"ef"], [0, 1])
    p = run_alone("vectorize", "--data", nul, "-o", tmp_path / "o.h5", "--analyzer", "char")
    lines = [line for line in p.stderr.splitlines() if line.startswith("textsaga: error")]
    assert p.returncode == 1 and len(lines) == 1 and "holds a NUL character" in lines[0], p.stderr
    assert not (tmp_path / "o.h5").exists()


def test_text_declared_utf8_is_utf8_whatever_the_encoding(tmp_path, binary):
    """h5py's str (declared UTF-8) is text already, as a str is to sklearn;
    h5py's bytes (declared ASCII) are raw bytes the encoding applies to."""
    docs = ["café naïve €uro", "Ölçü straße", "plain words"]
    path = tmp_path / "s.h5"
    with h5py.File(path, "w") as f:
        f["text"] = docs
        f["raw"] = np.array([t.encode("cp1252") for t in docs], dtype=h5py.string_dtype("ascii"))
    want = TfidfVectorizer().fit_transform(docs)
    for dataset in ("text", "raw"):
        out = tmp_path / f"{dataset}.h5"
        run(2, "vectorize", "--data", path, "--text-dataset", dataset, "-o", out, "--quiet", "--encoding", "cp1252")
        assert abs(load_matrix(out)[0] - want).max() <= TOL


def test_prepare_decodes_folders_and_csv(tmp_path, binary):
    """prepare --encoding as load_files(encoding=...) and a cp1252 CSV: the
    prepared corpus holds UTF-8, vectorized without --encoding."""
    docs = [d.encode("cp1252", errors="ignore").decode("cp1252") for d in make_docs(60, seed=3)]
    docs = [d if d.strip() else "blank" for d in docs]
    root = tmp_path / "folder"
    for i, d in enumerate(docs):
        (root / f"c{i % 2}").mkdir(parents=True, exist_ok=True)
        (root / f"c{i % 2}" / f"{i:03}.txt").write_bytes(d.encode("cp1252"))
    bunch = load_files(root, encoding="cp1252", shuffle=False)
    vec = TfidfVectorizer()
    X = vec.fit_transform(bunch.data)
    run(1, "prepare", root, "-o", tmp_path / "f.h5", "--encoding", "cp1252", "--quiet")
    run(3, "vectorize", "--data", tmp_path / "f.h5", "-o", tmp_path / "fo.h5", "--quiet")
    assert_same(tmp_path / "fo.h5", X, vec)

    csv_path = tmp_path / "docs.csv"
    rows = "".join('"' + d.replace('"', '""') + f'",{i % 3}\r\n' for i, d in enumerate(docs))
    csv_path.write_bytes(("text,label\r\n" + rows).encode("cp1252"))
    vec = TfidfVectorizer()
    X = vec.fit_transform(docs)
    run(1, "prepare", csv_path, "-o", tmp_path / "c.h5", "--encoding", "cp1252", "--quiet")
    run(2, "vectorize", "--data", tmp_path / "c.h5", "-o", tmp_path / "co.h5", "--quiet")
    assert_same(tmp_path / "co.h5", X, vec)


def test_model_keeps_its_encoding(raw, tmp_path):
    """fit --encoding latin-1: predict decodes with the model's encoding (no
    flag), and the exported pipeline decodes the same bytes the same way."""
    d, docs = raw
    model, pred, exported = tmp_path / "m.h5", tmp_path / "p.h5", tmp_path / "pipe.joblib"
    run(2, "fit", "--data", d / "raw.h5", "--model", model, "--quiet", "--encoding", "latin-1", "--analyzer", "char_wb", "--ngram-range", "2,3")
    run(2, "predict", "--model", model, "--data", d / "raw.h5", "-o", pred, "--quiet", "--proba")
    subprocess.run([sys.executable, ROOT / "scripts/to_sklearn.py", model, exported], check=True, capture_output=True)
    pipe = joblib.load(exported)
    assert pipe[0].encoding == "latin-1"
    with h5py.File(pred) as f:
        ours, proba = f["predicted"][:], f["proba"][:]
    assert np.array_equal(pipe.predict(docs), ours)
    assert np.max(np.abs(pipe.predict_proba(docs) - proba)) <= 1e-9
