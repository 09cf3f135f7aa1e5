"""Python helpers shared by the scripts and the oracle tests: launching
textsaga under MPI, reading a corpus in either HDF5 layout, and
scikit-learn's logistic-regression objective (C * sum_i s_i loss_i +
penalty(W))."""

import os
import subprocess

import h5py
import numpy as np
from scipy.special import logsumexp


def launcher(ranks):
    """The launcher prefix for `ranks` processes: $TEXTSAGA_MPIRUN (default
    mpirun), oversubscribed when it is Open MPI's."""
    mpirun = os.environ.get("TEXTSAGA_MPIRUN", "mpirun")
    out = subprocess.run([mpirun, "--version"], capture_output=True, text=True).stdout
    if "Open MPI" in out or "OpenRTE" in out:
        return [mpirun, "--oversubscribe", "-n", str(ranks)]
    return [mpirun, "-n", str(ranks)]


def mpi_env():
    """The environment for a launch on this machine: Open MPI may run as root
    (containers, CI), and talks through shared memory only, without probing
    for InfiniBand/UCX (0.2 s a launch; set OMPI_MCA_pml and OMPI_MCA_btl
    yourself to launch across nodes)."""
    env = dict(os.environ)
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    env.setdefault("OMPI_MCA_pml", "ob1")
    env.setdefault("OMPI_MCA_btl", "self,vader")
    return env


def read_corpus(path):
    """(documents as str, labels or None) of a corpus in either layout of docs/interface.md."""
    with h5py.File(path, "r") as f:
        if isinstance(f["text"], h5py.Group):
            raw = f["text/bytes"][:].tobytes()
            off = f["text/offsets"][:]
            docs = [raw[off[i] : off[i + 1]].decode("utf-8") for i in range(len(off) - 1)]
        else:
            docs = [s.decode("utf-8") for s in f["text"][:]]
        labels = f["label"][:] if "label" in f else None
    if labels is not None and labels.dtype.kind in "SO":
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
