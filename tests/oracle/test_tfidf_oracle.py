"""textsaga vectorize against scikit-learn's TfidfVectorizer itself: the same
vocabulary, idf and matrix (max |difference| <= 1e-12) for every option, both
input layouts, at 1 to 4 ranks."""

import json
import sys
import unicodedata
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
from sklearn.feature_extraction.text import (
    ENGLISH_STOP_WORDS,
    HashingVectorizer,
    TfidfTransformer,
    TfidfVectorizer,
)
from sklearn.pipeline import make_pipeline

sys.path.insert(0, str(Path(__file__).parent))
from conftest import ROOT, load_matrix, run, run_alone, write_fast_layout, write_jsonl, write_strings_layout  # noqa: E402
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
    "char_2_4_max_df": (["--analyzer", "char", "--ngram-range", "2,4", "--max-df", "0.5"], {"analyzer": "char", "ngram_range": (2, 4), "max_df": 0.5}),
    "char_wb_1_5_min_df": (["--analyzer", "char_wb", "--ngram-range", "1,5", "--min-df", "2", "--strip-accents", "unicode"], {"analyzer": "char_wb", "ngram_range": (1, 5), "min_df": 2, "strip_accents": "unicode"}),
    "token_pattern_bigrams": (["--token-pattern", r"\w+(?:'\w+)?", "--ngram-range", "1,2", "--min-df", "2"], {"token_pattern": r"\w+(?:'\w+)?", "ngram_range": (1, 2), "min_df": 2}),
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


# --hashing N alone is HashingVectorizer(n_features=N)'s default, alternate_sign=True.
@pytest.mark.parametrize("sign_flags,alternate", [([], True), (["--no-alternate-sign"], False), (["--no-alternate-sign", "--alternate-sign"], True)])
@pytest.mark.parametrize("extra,kw", [([], {}), (["--binary", "--sublinear-tf", "--ngram-range", "1,2"], {"binary": True, "sublinear_tf": True, "ngram_range": (1, 2)})])
def test_hashing_matches_sklearn(corpus, tmp_path, sign_flags, alternate, extra, kw):
    d, docs, _ = corpus
    n = 2**10  # small, so collisions (and cancelling signs) happen
    hv_kw = {k: v for k, v in kw.items() if k != "sublinear_tf"}
    hv = HashingVectorizer(n_features=n, alternate_sign=alternate, norm=None, **hv_kw)
    tt = TfidfTransformer(sublinear_tf=kw.get("sublinear_tf", False))
    X = tt.fit_transform(hv.transform(docs))
    flags = ["--hashing", str(n)] + sign_flags + extra
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


def test_vocabulary_file_refusals_and_ignored_flags(corpus, tmp_path):
    """What scikit-learn refuses is refused (a term listed twice; a vocabulary
    with hashing, which HashingVectorizer has no parameter for); the pruning
    flags, which scikit-learn ignores with a fixed vocabulary, are ignored with
    a warning: its matrix (one rank, 0.3 s)."""
    d, docs, _ = corpus
    vocab = tmp_path / "v.txt"
    vocab.write_text("data\nmodel\ndata\n", encoding="utf-8")
    p = run(2, "vectorize", "--data", d / "fast.h5", "-o", tmp_path / "o.h5", "--vocabulary", vocab, check=False)
    assert p.returncode == 1 and "'data' is listed twice (entries 1 and 3)" in p.stderr
    p = run_alone("vectorize", "--data", d / "fast.h5", "-o", tmp_path / "o.h5", "--vocabulary", vocab, "--hashing", "64")
    assert p.returncode == 2 and "--hashing cannot be used with --vocabulary" in p.stderr
    assert not (tmp_path / "o.h5").exists()
    terms = ["the", "machine", "café", "absentword"]
    vocab.write_text("\n".join(terms) + "\n", encoding="utf-8")
    vec = TfidfVectorizer(vocabulary=terms, min_df=3, max_df=0.5, max_features=2)
    X = vec.fit_transform(docs)
    p = run_alone("vectorize", "--data", d / "fast.h5", "-o", tmp_path / "o.h5", "--quiet", "--vocabulary", vocab,
                  "--min-df", "3", "--max-df", "0.5", "--max-features", "2")
    assert p.returncode == 0, p.stderr
    assert_same(tmp_path / "o.h5", X, vec.get_feature_names_out(), vec.idf_)
    lines = [line for line in p.stderr.splitlines() if line.startswith("textsaga: warning:")]
    assert len(lines) == 1 and "--max-features, --min-df, --max-df not used with --vocabulary" in lines[0], p.stderr


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


# Whitespace of every kind Python's str.isspace knows (U+001C..U+001F, U+0085,
# no-break and ideographic spaces), single and in runs, short words, and a
# document of whitespace only: what the character analyzers collapse, split
# at and pad.
WHITESPACE_DOCS = [
    "a\u001cb  c\u00a0\u00a0d\te\u3000f",
    "x \u0085 y\u001d\u001ez",
    "  lead and trail\t\t",
    "\t",
    "",
    "İstanbul ΣΑΣ Straße ǅemal ﬁne",
    "one\ntwo\n\nthree \u2028 four\u200bfive",
]


@pytest.mark.parametrize("flags,kw", [
    (["--analyzer", "char", "--ngram-range", "1,3"], {"analyzer": "char", "ngram_range": (1, 3)}),
    (["--analyzer", "char_wb", "--ngram-range", "4,6", "--no-lowercase"], {"analyzer": "char_wb", "ngram_range": (4, 6), "lowercase": False}),
])
def test_character_analyzers_on_whitespace(corpus, tmp_path, flags, kw):
    """Whitespace runs collapse to one space, a single tab or newline stays a
    character, char_wb pads each word and counts a word shorter than the
    range's lower end once, whole (min_n 4 here)."""
    _, docs, _ = corpus
    docs = WHITESPACE_DOCS * 3 + docs[:60]
    path = tmp_path / "ws.h5"
    write_strings_layout(path, docs, [i % 2 for i in range(len(docs))])
    vec = TfidfVectorizer(**kw)
    X = vec.fit_transform(docs)
    for ranks in (1, 2, 4):
        out = tmp_path / f"ws{ranks}.h5"
        run(ranks, "vectorize", "--data", path, "-o", out, "--quiet", *flags)
        assert_same(out, X, vec.get_feature_names_out(), vec.idf_)


def test_character_analyzers_with_hashing_vocabulary_and_max_features(corpus, tmp_path):
    """char_wb through the hashing trick, a fixed vocabulary of character
    n-grams (spaces inside terms), and max_features cut where totals differ."""
    d, docs, _ = corpus
    hv = HashingVectorizer(n_features=2**10, analyzer="char_wb", ngram_range=(2, 4), alternate_sign=True, norm=None)
    tt = TfidfTransformer()
    X = tt.fit_transform(hv.transform(docs))
    for ranks in (1, 3):
        out = tmp_path / f"h{ranks}.h5"
        run(ranks, "vectorize", "--data", d / "strings.h5", "-o", out, "--quiet", "--hashing", 1024, "--alternate-sign", "--analyzer", "char_wb", "--ngram-range", "2,4")
        assert_same(out, X, idf=tt.idf_)

    seen = TfidfVectorizer(analyzer="char", ngram_range=(1, 3)).fit(docs).get_feature_names_out()
    seen = [t for t in seen if "\n" not in t and "\r" not in t]  # one term a line: no line breaks
    terms = list(np.random.default_rng(3).choice(seen, size=80, replace=False)) + ["never here"]
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(terms) + "\n", encoding="utf-8")
    vec = TfidfVectorizer(vocabulary=terms, analyzer="char", ngram_range=(1, 3))
    X = vec.fit_transform(docs)
    out = tmp_path / "voc.h5"
    run(2, "vectorize", "--data", d / "fast.h5", "-o", out, "--quiet", "--vocabulary", vocab, "--analyzer", "char", "--ngram-range", "1,3")
    assert_same(out, X, vec.get_feature_names_out(), vec.idf_)

    counts = np.asarray(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), use_idf=False, norm=None).fit_transform(docs).sum(axis=0)).ravel()
    totals = np.sort(counts)[::-1]
    k = next(k for k in range(100, len(totals)) if totals[k - 1] != totals[k])
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), max_features=k)
    X = vec.fit_transform(docs)
    for ranks in (1, 3):
        out = tmp_path / f"mf{ranks}.h5"
        run(ranks, "vectorize", "--data", d / "fast.h5", "-o", out, "--quiet", "--analyzer", "char_wb", "--ngram-range", "2,3", "--max-features", k)
        assert_same(out, X, vec.get_feature_names_out(), vec.idf_)


def sklearn_text_cases():
    """Cases of scikit-learn's own test_text.py a command line can express,
    on its corpora (imported from the installed test module)."""
    from sklearn.feature_extraction.tests import test_text as t

    food = list(t.ALL_FOOD_DOCS)
    abc, occ = ["abc", "dea", "eat"], ["aaabc", "abbde"]
    french = ["J'ai mangé du kangourou  ce midi, c'était pas très bon"] * 2 + ["This \n\tis a test, really.\n\n I met Harry yesterday"]
    cyrillic = ["Машинное обучение — обширный подраздел искусственного интеллекта, изучающий методы построения алгоритмов, способных обучаться."]
    return {
        "max_df_1.0": (abc, ["--analyzer", "char"], {"analyzer": "char"}),
        "max_df_0.5": (abc, ["--analyzer", "char", "--max-df", "0.5"], {"analyzer": "char", "max_df": 0.5}),
        "max_df_1": (abc, ["--analyzer", "char", "--max-df", "1"], {"analyzer": "char", "max_df": 1}),
        "min_df_2": (abc, ["--analyzer", "char", "--min-df", "2"], {"analyzer": "char", "min_df": 2}),
        "min_df_0.8": (abc, ["--analyzer", "char", "--min-df", "0.8"], {"analyzer": "char", "min_df": 0.8}),
        "binary_occurrences": (occ, ["--analyzer", "char", "--binary", "--norm", "none", "--no-idf"], {"analyzer": "char", "binary": True, "norm": None, "use_idf": False}),
        "char_3_6_accents": (french, ["--analyzer", "char", "--ngram-range", "3,6", "--strip-accents", "unicode"], {"analyzer": "char", "ngram_range": (3, 6), "strip_accents": "unicode"}),
        "char_wb_3_6_accents": (french, ["--analyzer", "char_wb", "--ngram-range", "3,6", "--strip-accents", "unicode"], {"analyzer": "char_wb", "ngram_range": (3, 6), "strip_accents": "unicode"}),
        "food_char_wb": (food, ["--analyzer", "char_wb", "--ngram-range", "2,4", "--sublinear-tf"], {"analyzer": "char_wb", "ngram_range": (2, 4), "sublinear_tf": True}),
        "food_words": (food, ["--ngram-range", "1,2", "--max-df", "0.7"], {"ngram_range": (1, 2), "max_df": 0.7}),
        "cyrillic_words": (cyrillic, [], {}),
        "cyrillic_char_wb": (cyrillic, ["--analyzer", "char_wb", "--ngram-range", "1,3"], {"analyzer": "char_wb", "ngram_range": (1, 3)}),
    }


@pytest.mark.parametrize("name", list(sklearn_text_cases()))
def test_cases_of_sklearns_test_text(tmp_path, name):
    docs, flags, kw = sklearn_text_cases()[name]
    path = tmp_path / "docs.h5"
    write_strings_layout(path, docs, [i % 2 for i in range(len(docs))])
    vec = TfidfVectorizer(**kw)
    X = vec.fit_transform(docs)
    for ranks in (1, 3):
        out = tmp_path / f"o{ranks}.h5"
        run(ranks, "vectorize", "--data", path, "-o", out, "--quiet", *flags)
        assert_same(out, X, vec.get_feature_names_out(), vec.idf_ if vec.use_idf else None)


def test_whitespace_is_pythons_isspace(tmp_path):
    """Every assigned code point c in "x c c y": with analyzer="char" a
    whitespace c collapses with its twin into one space and any other stays
    twice, so the vocabulary tells textsaga's whitespace from Python's."""
    chars = [chr(c) for c in range(0x01, 0x110000) if not 0xD800 <= c <= 0xDFFF and unicodedata.category(chr(c)) != "Cn"]
    docs = ["|".join("x" + c + c + "y" for c in chars[i : i + 4000]) for i in range(0, len(chars), 4000)]
    path = tmp_path / "ws.h5"
    write_strings_layout(path, docs, [0] * len(docs))
    vec = TfidfVectorizer(analyzer="char", ngram_range=(2, 2), lowercase=False, use_idf=False, norm=None)
    X = vec.fit_transform(docs)
    out = tmp_path / "o.h5"
    run(2, "vectorize", "--data", path, "-o", out, "--quiet", "--analyzer", "char", "--ngram-range", "2,2", "--no-lowercase", "--no-idf", "--norm", "none")
    Y, vocab, _, _ = load_matrix(out)
    expected = list(vec.get_feature_names_out())
    assert vocab == expected, f"differ: {sorted(set(vocab) ^ set(expected))[:20]!r}"
    assert abs(Y - X).max() == 0


@pytest.mark.parametrize("analyzer,flags,kw", [
    ("char_wb", ["--stop-words", "english"], {"stop_words": "english"}),
    ("char", ["--token-pattern", r"\S+", "--stop-words", "english"], {"token_pattern": r"\S+", "stop_words": "english"}),
    ("char", ["--token-pattern", r"(?u)\b\w\w+\b"], {"token_pattern": r"(?u)\b\w\w+\b"}),  # the default: no warning
])
def test_word_flags_are_ignored_with_character_analyzers_as_sklearn_does(corpus, tmp_path, analyzer, flags, kw):
    """sklearn warns ("The parameter 'stop_words' will not be used since
    'analyzer' != 'word'") and ignores them: the same features, the same
    warnings once for the job (not once a rank), and a model without them."""
    d, docs, _ = corpus
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vec = TfidfVectorizer(analyzer=analyzer, ngram_range=(2, 3), **kw)
        X = vec.fit_transform(docs)
    expected = [str(w.message) for w in caught if "will not be used" in str(w.message)]
    out = tmp_path / "o.h5"
    p = run(3, "vectorize", "--data", d / "fast.h5", "-o", out, "--quiet", "--analyzer", analyzer, "--ngram-range", "2,3", *flags)
    assert_same(out, X, vec.get_feature_names_out(), vec.idf_)
    ours = [line for line in p.stderr.splitlines() if line.startswith("textsaga: warning:")]
    assert len(ours) == len(expected), p.stderr
    for line, theirs in zip(ours, expected):
        # sklearn's sentence, in textsaga's line (which names the flag too).
        assert theirs.lower() in line.lower(), (line, theirs)
    model = tmp_path / "m.h5"
    run(2, "fit", "--data", d / "fast.h5", "--model", model, "--quiet", "--max-iter", 1, "--analyzer", analyzer, "--ngram-range", "2,3", *flags)
    with h5py.File(model) as f:
        a = json.loads(f.attrs["params"])["vectorizer"]["analyzer"]
    assert a.get("stop_words") is None and not a["stop_words_english"] and a.get("token_pattern") is None


def sklearn_warning_cases():
    """The settings scikit-learn's test_text.py shows it warning of and going on
    with, on its own inputs (test_vectorizer_stop_words_inconsistent,
    test_countvectorizer_uppercase_in_vocab): (documents, the list the flag's
    file holds, textsaga flags, the vectorizer scikit-learn runs)."""
    from sklearn.feature_extraction.tests import test_text as t

    stop, vocab = ["you've", "you", "you'll", "AND"], ["Sample", "Upper", "Case", "Vocabulary"]
    docs = list(t.JUNK_FOOD_DOCS) + ["hello world", "you'll see: AND you've seen"]
    return {
        "stop_words_inconsistent": (docs, stop, ["--stop-words"], lambda: TfidfVectorizer(stop_words=stop)),
        "stop_words_inconsistent_hashing": (docs, stop, ["--hashing", 64, "--stop-words"],
                                            lambda: make_pipeline(HashingVectorizer(n_features=64, norm=None, stop_words=stop), TfidfTransformer())),
        "uppercase_vocabulary": (vocab + ["upper case"], vocab, ["--vocabulary"], lambda: TfidfVectorizer(vocabulary=vocab)),
        "uppercase_vocabulary_no_lowercase": (vocab + ["upper case"], vocab, ["--no-lowercase", "--vocabulary"],
                                              lambda: TfidfVectorizer(vocabulary=vocab, lowercase=False)),
    }


@pytest.mark.parametrize("name", list(sklearn_warning_cases()))
def test_settings_sklearn_warns_of_run_with_its_warning(tmp_path, binary, name):
    """Stop words that scikit-learn's own preprocessing tokenizes into words
    the list lacks ("you'll" gives "ll"; "AND" lowercased is not "AND"), and
    upper-case terms of a fixed vocabulary while lowercasing: scikit-learn
    warns and goes on; textsaga gives the same features with the same
    warning (its sentence, in textsaga's line), once for 2 ranks, in vectorize
    (and fit), and none where scikit-learn gives none (0.3-0.6 s each)."""
    docs, words, flags, vectorizer = sklearn_warning_cases()[name]
    path, listed = tmp_path / "docs.h5", tmp_path / "words.txt"
    write_strings_layout(path, docs, [i % 2 for i in range(len(docs))])
    listed.write_text("\n".join(words) + "\n", encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vec = vectorizer()
        X = vec.fit_transform(docs)
    expected = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    out = tmp_path / "o.h5"
    p = run(2, "vectorize", "--data", path, "-o", out, "--quiet", *flags, listed)
    fitted = vec if isinstance(vec, TfidfVectorizer) else None
    assert_same(out, X, fitted and fitted.get_feature_names_out(), fitted and fitted.idf_)
    stderrs = [p.stderr]
    if name == "stop_words_inconsistent":  # fit warns through the same code: once is enough
        stderrs.append(run(2, "fit", "--data", path, "--model", tmp_path / "m.h5", "--quiet", "--max-iter", 1, *flags, listed).stderr)
    for stderr in stderrs:
        ours = [line for line in stderr.splitlines() if line.startswith("textsaga: warning:") and "ConvergenceWarning" not in line]
        assert len(ours) == len(expected), (stderr, expected)
        for line, theirs in zip(ours, expected):
            assert theirs.lower() in line.lower(), (line, theirs)


# (token_pattern, extra TfidfVectorizer arguments): the fast scanner's two
# patterns, classes, lookarounds, anchors, lazy repeats, one group (and one
# that does not take part: sklearn counts the empty token), tokens holding
# spaces (their bigrams must not collide), ASCII mode.
TOKEN_PATTERNS = [
    (r"(?u)\b\w+\b", {}),
    (r"\b\w+\b", {"ngram_range": (1, 2), "stop_words": "english"}),
    (r"[^\W\d_]+", {}),
    (r"\w+(?:'\w+)?", {"ngram_range": (1, 2)}),
    (r"\S+", {"min_df": 2}),
    (r"\w+(?: \w+)?", {"ngram_range": (1, 3)}),
    (r"(?a)\w\w+", {}),
    (r"[0-9]{1,3}(?:st|nd|rd|th)?\s\b(\w{2,})\b", {}),
    (r"#\w+|@\w+|(?<=\s)\w{3}(?=\s)", {}),
    (r"\w+$|^\w+|\w+\Z", {}),
    (r"(x)|\w{4,}", {}),
    (r"[^.\n]+?(?:\.|$)", {"ngram_range": (1, 2)}),
    (r"\d+(?:[.,]\d+)*|[A-Z]\w*", {"lowercase": False}),
    (r"\w{2,}?\w", {}),
]


def pattern_flags(kw):
    flags = []
    if "ngram_range" in kw:
        flags += ["--ngram-range", "{},{}".format(*kw["ngram_range"])]
    if "stop_words" in kw:
        flags += ["--stop-words", kw["stop_words"]]
    if "min_df" in kw:
        flags += ["--min-df", str(kw["min_df"])]
    if kw.get("lowercase") is False:
        flags += ["--no-lowercase"]
    return flags


@pytest.mark.parametrize("pattern,kw", TOKEN_PATTERNS)
def test_token_pattern_matches_pythons_re(corpus, tmp_path, pattern, kw):
    """--token-pattern is token_pattern: Python's re.findall over the
    preprocessed text, run by textsaga's own matcher, at 1 and 3 ranks."""
    d, docs, _ = corpus
    vec = TfidfVectorizer(token_pattern=pattern, **kw)
    X = vec.fit_transform(docs)
    for ranks in (1, 3):
        out = tmp_path / f"tp{ranks}.h5"
        run(ranks, "vectorize", "--data", d / "fast.h5", "-o", out, "--quiet", "--token-pattern", pattern, *pattern_flags(kw))
        assert_same(out, X, vec.get_feature_names_out(), vec.idf_)


def test_token_pattern_in_hashing_mode(corpus, tmp_path):
    d, docs, _ = corpus
    hv = HashingVectorizer(n_features=2**10, token_pattern=r"\S+", ngram_range=(1, 2), norm=None)
    tt = TfidfTransformer()
    X = tt.fit_transform(hv.transform(docs))
    out = tmp_path / "h.h5"
    run(2, "vectorize", "--data", d / "strings.h5", "-o", out, "--quiet", "--hashing", 1024, "--token-pattern", r"\S+", "--ngram-range", "1,2")
    assert_same(out, X, idf=tt.idf_)


@pytest.mark.parametrize("pattern,message", [
    (r"(?i)\w+", "the flag (?i)"),
    (r"([0-9]{1,3}(?:st|nd|rd|th))\s\b(\w{2,})\b", "more than 1 capturing group in token pattern"),
    (r"\w*", "can match an empty string"),
    (r"(\w)\1", "a backreference"),
    (r"(?<=\w+)x", "a lookbehind of variable width"),
    (r"[z-a]", "a bad character range"),
])
def test_token_patterns_python_would_run_otherwise_are_refused(corpus, tmp_path, pattern, message):
    d, _, _ = corpus
    p = run_alone("vectorize", "--data", d / "fast.h5", "-o", tmp_path / "o.h5", "--token-pattern", pattern)
    assert p.returncode == 2 and message in p.stderr, p.stderr
    assert not (tmp_path / "o.h5").exists()


@pytest.mark.parametrize("flags,kw", [([], {}), (["--analyzer", "char_wb", "--ngram-range", "2,4", "--sublinear-tf", "--norm", "l1"], {"analyzer": "char_wb", "ngram_range": (2, 4), "sublinear_tf": True, "norm": "l1"})])
def test_float32_output_matches_sklearns_float32(corpus, tmp_path, flags, kw):
    """--dtype float32: the file's values and idf are float32, within 1e-6
    of TfidfVectorizer(dtype=np.float32)'s (computed in float64, rounded once)."""
    d, docs, _ = corpus
    vec = TfidfVectorizer(dtype=np.float32, **kw)
    X = vec.fit_transform(docs)
    for ranks in (1, 2, 3, 4):
        out = tmp_path / f"f32_{ranks}.h5"
        run(ranks, "vectorize", "--data", d / "fast.h5", "-o", out, "--quiet", "--dtype", "float32", *flags)
        with h5py.File(out) as f:
            assert f["X/data"].dtype == np.float32 and f["idf"].dtype == np.float32
        Y, vocab, idf, _ = load_matrix(out)
        assert vocab == list(vec.get_feature_names_out())
        assert np.max(np.abs(idf - vec.idf_)) <= 1e-6
        assert abs(Y - X).max() <= 1e-6
