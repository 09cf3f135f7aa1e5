"""Python helpers shared by the scripts and the oracle tests: reading a
corpus in either HDF5 layout, and scikit-learn's logistic-regression
objective (C * sum_i s_i loss_i + penalty(W))."""

import h5py
import numpy as np
from scipy.special import logsumexp


def read_corpus(path):
    """(documents as str, labels) of a corpus in either layout of INTERFACE.md."""
    with h5py.File(path, "r") as f:
        if isinstance(f["text"], h5py.Group):
            raw = f["text/bytes"][:].tobytes()
            off = f["text/offsets"][:]
            docs = [raw[off[i] : off[i + 1]].decode("utf-8") for i in range(len(off) - 1)]
        else:
            docs = [s.decode("utf-8") for s in f["text"][:]]
        labels = f["label"][:]
    if labels.dtype.kind in "SO":
        labels = np.array([v.decode() if isinstance(v, bytes) else v for v in labels], dtype=object)
    return docs, labels


def objective(X, y, classes, coef, intercept, C=1.0, penalty="l2", l1_ratio=0.0, sample_weight=None):
    """sklearn's objective for LogisticRegression at (coef, intercept)."""
    sw = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    Z = X @ coef.T + intercept
    idx = np.searchsorted(classes, y)
    if coef.shape[0] == 1:
        z = Z[:, 0]
        loss = np.logaddexp(0, z) - (idx == 1) * z
    else:
        loss = logsumexp(Z, axis=1) - Z[np.arange(len(y)), idx]
    l2, l1 = 0.5 * np.sum(coef**2), np.sum(np.abs(coef))
    pen = {"l2": l2, "l1": l1, "elasticnet": (1 - l1_ratio) * l2 + l1_ratio * l1, "none": 0.0}[penalty]
    return float(C * np.sum(sw * loss) + pen)
