"""textsaga vectorize against scikit-learn's TfidfVectorizer itself: the same
vocabulary, idf and matrix (max |difference| <= 1e-12) for every option, both
input layouts, at 1 to 4 ranks."""

import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import (
    ENGLISH_STOP_WORDS,
    HashingVectorizer,
    TfidfTransformer,
    TfidfVectorizer,
)

sys.path.insert(0, str(Path(__file__).parent))
from conftest import ROOT, load_matrix, run, write_fast_layout, write_jsonl, write_strings_layout  # noqa: E402
from corpora import make_docs, make_labels  # noqa: E402

TOL = 1e-12
N_DOCS = 400

# (flags for textsaga, keyword arguments for TfidfVectorizer)
OPTIONS = {
    "defaults": ([], {}),
    "ngram_1_2": (["--ngram-range", "1,2"], {"ngram_range": (1, 2)}),
    "ngram_2_3": (["--ngram-range", "2,3"], {"ngram_range": (2, 3)}),
    "min_df_count": (["--min-df", "3"], {"min_df": 3}),
    "min_df_fraction": (["--min-df", "0.02"], {"min_df": 0.02}),
    "max_df_fraction": (["--max-df", "0.05"], {"max_df": 0.05}),
    "max_df_count": (["--max-df", "40"], {"max_df": 40}),
    "df_both": (["--min-df", "2", "--max-df", "0.5"], {"min_df": 2, "max_df": 0.5}),
    "sublinear": (["--sublinear-tf"], {"sublinear_tf": True}),
    "no_smooth": (["--no-smooth-idf"], {"smooth_idf": False}),
    "no_idf": (["--no-idf"], {"use_idf": False}),
    "norm_l1": (["--norm", "l1"], {"norm": "l1"}),
    "norm_none": (["--norm", "none"], {"norm": None}),
    "binary": (["--binary"], {"binary": True}),
    "stop_words": (["--stop-words", "english"], {"stop_words": "english"}),
    "stop_words_bigrams": (["--stop-words", "english", "--ngram-range", "1,2"], {"stop_words": "english", "ngram_range": (1, 2)}),
    "strip_ascii": (["--strip-accents", "ascii"], {"strip_accents": "ascii"}),
    "strip_unicode": (["--strip-accents", "unicode"], {"strip_accents": "unicode"}),
    "no_lowercase": (["--no-lowercase"], {"lowercase": False}),
    "no_lowercase_strip": (["--no-lowercase", "--strip-accents", "unicode"], {"lowercase": False, "strip_accents": "unicode"}),
    "everything": (
        ["--ngram-range", "1,3", "--min-df", "2", "--max-df", "0.9", "--sublinear-tf", "--binary", "--norm", "l1", "--strip-accents", "unicode"],
        {"ngram_range": (1, 3), "min_df": 2, "max_df": 0.9, "sublinear_tf": True, "binary": True, "norm": "l1", "strip_accents": "unicode"},
    ),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, binary):
    d = tmp_path_factory.mktemp("corpus")
    docs = make_docs(N_DOCS, seed=7)
    labels = make_labels(N_DOCS)
    write_strings_layout(d / "strings.h5", docs, labels)
    write_jsonl(d / "docs.jsonl", docs, labels)
    run(1, "prepare", d / "docs.jsonl", "-o", d / "fast.h5", "--quiet")
    return d, docs, labels


def assert_same(out, X, vocab=None, idf=None, labels=None):
    Y, yvocab, yidf, ylabels = load_matrix(out)
    assert Y.shape == X.shape
    if vocab is not None:
        assert yvocab == list(vocab)
    if idf is not None:
        assert np.max(np.abs(yidf - idf)) <= TOL
    diff = abs(Y - X)
    assert (diff.max() if diff.nnz else 0.0) <= TOL
    if labels is not None:
        assert list(ylabels) == list(labels)


@pytest.mark.parametrize("layout", ["strings", "fast"])
@pytest.mark.parametrize("name", list(OPTIONS))
def test_vectorize_matches_sklearn(corpus, tmp_path, name, layout):
    d, docs, labels = corpus
    flags, kwargs = OPTIONS[name]
    vec = TfidfVectorizer(**kwargs)
    X = vec.fit_transform(docs)
    idf = vec.idf_ if vec.use_idf else None
    for ranks in (1, 2, 3, 4):
        out = tmp_path / f"out{ranks}.h5"
        run(ranks, "vectorize", "--data", d / f"{layout}.h5", "-o", out, "--quiet", *flags)
        assert_same(out, X, vec.get_feature_names_out(), idf, labels)


@pytest.mark.parametrize("alternate", [False, True])
@pytest.mark.parametrize("extra,kw", [([], {}), (["--binary", "--sublinear-tf", "--ngram-range", "1,2"], {"binary": True, "sublinear_tf": True, "ngram_range": (1, 2)})])
def test_hashing_matches_sklearn(corpus, tmp_path, alternate, extra, kw):
    d, docs, _ = corpus
    n = 2**10  # small, so collisions (and cancelling signs) happen
    hv = HashingVectorizer(n_features=n, alternate_sign=alternate, norm=None, binary=kw.get("binary", False), ngram_range=kw.get("ngram_range", (1, 1)))
    tt = TfidfTransformer(sublinear_tf=kw.get("sublinear_tf", False))
    X = tt.fit_transform(hv.transform(docs))
    flags = ["--hashing", str(n)] + (["--alternate-sign"] if alternate else []) + extra
    for ranks in (1, 3):
        out = tmp_path / "h.h5"
        run(ranks, "vectorize", "--data", d / "strings.h5", "-o", out, "--quiet", *flags)
        assert_same(out, X, idf=tt.idf_)
        assert load_matrix(out)[1] is None  # no vocabulary in hashing mode


def test_max_features_without_ties_matches_sklearn(corpus, tmp_path):
    d, docs, _ = corpus
    counts = np.asarray(TfidfVectorizer(use_idf=False, norm=None).fit_transform(docs).sum(axis=0)).ravel()
    totals = np.sort(counts)[::-1]
    # Pick a cut where the k-th and (k+1)-th totals differ, so sklearn's order among ties cannot matter.
    k = next(k for k in range(50, len(totals)) if totals[k - 1] != totals[k])
    vec = TfidfVectorizer(max_features=k)
    X = vec.fit_transform(docs)
    for ranks in (1, 2, 4):
        out = tmp_path / "mf.h5"
        run(ranks, "vectorize", "--data", d / "fast.h5", "-o", out, "--quiet", "--max-features", k)
        assert_same(out, X, vec.get_feature_names_out(), vec.idf_)


def test_max_features_ties_keep_first_in_vocabulary_order(corpus, tmp_path):
    """At a cut through tied totals sklearn's choice depends on numpy's SIMD
    sort; textsaga keeps the terms that sort first, which is sklearn's rule
    with a stable argsort. Emulate exactly that with sklearn's own counts."""
    d, docs, _ = corpus
    full = TfidfVectorizer()
    full.fit(docs)
    counts = np.asarray(TfidfVectorizer(use_idf=False, norm=None).fit_transform(docs).sum(axis=0)).ravel()
    totals = np.sort(counts)[::-1]
    k = next(k for k in range(50, len(totals)) if totals[k - 1] == totals[k])
    keep = np.sort((-counts).argsort(kind="stable")[:k])
    terms = full.get_feature_names_out()[keep]
    vec = TfidfVectorizer(vocabulary=terms)
    Xfixed = vec.fit_transform(docs)
    # With a fixed vocabulary idf comes from the same documents, so it equals the pruned fit's.
    out = tmp_path / "ties.h5"
    run(3, "vectorize", "--data", d / "strings.h5", "-o", out, "--quiet", "--max-features", k)
    assert_same(out, Xfixed, list(terms), vec.idf_)


@pytest.mark.parametrize("policy", ["replace", "ignore"])
def test_decode_error_policies_match_sklearn(tmp_path, binary, policy):
    raw = [b"caf\xc3\xa9 ok", b"ab\xffcd ef", b"\xe2\x82 broken\xc3", b"plain text", b"x\x80\x80yz", b""]
    raw = raw * 5
    path = tmp_path / "bad.h5"
    write_fast_layout(path, raw, [i % 2 for i in range(len(raw))])
    vec = TfidfVectorizer(decode_error=policy)
    X = vec.fit_transform(raw)
    for ranks in (1, 2, 3):
        out = tmp_path / "o.h5"
        run(ranks, "vectorize", "--data", path, "-o", out, "--quiet", "--decode-error", policy)
        assert_same(out, X, vec.get_feature_names_out(), vec.idf_)


def test_stop_word_file_matches_sklearns_list(corpus, tmp_path):
    """--stop-words FILE is stop_words=[the file's lines]: matched after
    lowercasing (a capitalised entry matches nothing), before the n-grams;
    lines that are no token (spaces inside, one letter) match nothing."""
    d, docs, _ = corpus
    words = ["the", "and", "of", "café", "LEARNING", "learning", "x", "des mots", "ölçü"]
    stop = tmp_path / "stop.txt"
    stop.write_bytes(("\n".join(words[:4]) + "\r\n" + "\n".join(words[4:]) + "\n\n").encode())
    vec = TfidfVectorizer(stop_words=words, ngram_range=(1, 2))
    X = vec.fit_transform(docs)
    for ranks in (1, 3):
        out = tmp_path / f"stop{ranks}.h5"
        run(ranks, "vectorize", "--data", d / "fast.h5", "-o", out, "--quiet", "--stop-words", stop, "--ngram-range", "1,2")
        assert_same(out, X, vec.get_feature_names_out(), vec.idf_)


@pytest.mark.parametrize("extra,kw", [([], {}), (["--ngram-range", "1,2", "--sublinear-tf", "--norm", "l1"], {"ngram_range": (1, 2), "sublinear_tf": True, "norm": "l1"})])
def test_vocabulary_file_matches_sklearns_fixed_vocabulary(corpus, tmp_path, extra, kw):
    """--vocabulary FILE is vocabulary=[the file's lines]: columns in the
    file's order (not sorted), terms outside it ignored, a term the corpus
    never has kept as an empty column, nothing pruned."""
    d, docs, _ = corpus
    seen = TfidfVectorizer(ngram_range=(1, 2)).fit(docs).get_feature_names_out()
    rng = np.random.default_rng(5)
    terms = list(rng.choice(seen, size=min(60, len(seen)), replace=False)) + ["zzz never seen", "absentword"]
    rng.shuffle(terms)
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(terms) + "\n", encoding="utf-8")
    vec = TfidfVectorizer(vocabulary=terms, **kw)
    X = vec.fit_transform(docs)
    for ranks in (1, 3):
        out = tmp_path / f"voc{ranks}.h5"
        run(ranks, "vectorize", "--data", d / "fast.h5", "-o", out, "--quiet", "--vocabulary", vocab, *extra)
        assert_same(out, X, vec.get_feature_names_out(), vec.idf_)


def test_vocabulary_file_refusals(corpus, tmp_path):
    d, _, _ = corpus
    vocab = tmp_path / "v.txt"
    vocab.write_text("data\nmodel\ndata\n", encoding="utf-8")
    p = run(2, "vectorize", "--data", d / "fast.h5", "-o", tmp_path / "o.h5", "--vocabulary", vocab, check=False)
    assert p.returncode == 1 and "'data' is listed twice (entries 1 and 3)" in p.stderr
    p = run(2, "vectorize", "--data", d / "fast.h5", "-o", tmp_path / "o.h5", "--vocabulary", vocab, "--min-df", "2", check=False)
    assert p.returncode == 2 and "--min-df cannot be used with --vocabulary" in p.stderr
    assert not (tmp_path / "o.h5").exists()


def test_stop_word_list_is_sklearns():
    listed = {
        line.strip()
        for line in (ROOT / "src/text/english_stop_words.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert listed == set(ENGLISH_STOP_WORDS)


def test_word_characters_match_python_re(tmp_path, binary):
    """Every code point Python's Unicode database assigns: textsaga's tokens
    equal sklearn's, so its notion of a word character is Python's `\\w`."""
    chars = [
        chr(c)
        for c in range(0x80, 0x110000)
        if not 0xD800 <= c <= 0xDFFF and unicodedata.category(chr(c)) != "Cn"
    ]
    docs = [" ".join("a" + c + "b" for c in chars[i : i + 2000]) for i in range(0, len(chars), 2000)]
    path = tmp_path / "chars.h5"
    write_strings_layout(path, docs, [0] * len(docs))
    vec = TfidfVectorizer(lowercase=False)
    X = vec.fit_transform(docs)
    out = tmp_path / "o.h5"
    run(2, "vectorize", "--data", path, "-o", out, "--quiet", "--no-lowercase")
    Y, vocab, _, _ = load_matrix(out)
    expected = list(vec.get_feature_names_out())
    missing = sorted(set(expected) - set(vocab))
    extra = sorted(set(vocab) - set(expected))
    assert not missing and not extra, f"missing {missing[:20]!r}, extra {extra[:20]!r}"
    assert abs(Y - X).max() <= TOL
