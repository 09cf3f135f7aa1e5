"""Compares a `textsaga vectorize` output with scikit-learn's TfidfVectorizer
(defaults) on the same corpus and prints the largest difference.

usage: check_features.py CORPUS.h5 FEATURES.h5
"""

import sys
from pathlib import Path

import h5py
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from textsaga_data import read_corpus  # noqa: E402


def main():
    corpus, features = sys.argv[1], sys.argv[2]
    docs, _ = read_corpus(corpus)
    vec = TfidfVectorizer()
    X = vec.fit_transform(docs)
    with h5py.File(features, "r") as f:
        Y = sp.csr_matrix((f["X/data"][:], f["X/indices"][:], f["X/indptr"][:]), shape=tuple(f["X"].attrs["shape"]))
        vocab = [s.decode() for s in f["vocabulary"][:]]
    same_vocab = vocab == list(vec.get_feature_names_out())
    diff = abs(X - Y).max()
    print(f"check: {X.shape[0]} documents, {X.shape[1]} terms; same vocabulary as scikit-learn: {same_vocab}; "
          f"max |textsaga - scikit-learn| = {diff:.3g}")
    sys.exit(0 if same_vocab and diff <= 1e-12 else 1)


if __name__ == "__main__":
    main()
