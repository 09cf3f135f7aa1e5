"""Shared fixtures for the scikit-learn oracle tests: where the binary is, how
to launch it under MPI, and corpora written the two ways docs/interface.md allows."""

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from textsaga_data import launcher, mpi_env, objective, read_corpus  # noqa: E402,F401
BIN = Path(os.environ.get("TEXTSAGA_BIN", ROOT / "target" / "release" / "textsaga"))
TIMEOUT = 120


def converged(fit):
    """Runs scikit-learn's `fit()` with its ConvergenceWarning an error: a reference that
    stopped at max_iter is no reference (its FutureWarnings, such as LogisticRegressionCV's
    on the legacy attributes these tests read, are let be)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("ignore", FutureWarning)
        return fit()


def launch_env():
    env = mpi_env()
    return env


def run(ranks, *args, check=True):
    """Runs textsaga on `ranks` ranks; returns the CompletedProcess."""
    cmd = launcher(ranks) + [str(BIN)] + [str(a) for a in args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, env=launch_env())
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}\n{p.stderr}")
    return p


def run_alone(*args):
    """Runs textsaga as one rank without a launcher (INTERFACE allows it):
    for refusals, where mpirun's clean-up after a failed rank costs 2 s."""
    return subprocess.run([str(BIN)] + [str(a) for a in args], capture_output=True, text=True, timeout=TIMEOUT, env=launch_env())


def load_matrix(path):
    """(X as CSR, vocabulary list or None, idf or None, labels or None) of a vectorize output."""
    with h5py.File(path, "r") as f:
        shape = tuple(int(s) for s in f["X"].attrs["shape"])
        X = sp.csr_matrix((f["X/data"][:], f["X/indices"][:], f["X/indptr"][:]), shape=shape)
        vocab = [s.decode() for s in f["vocabulary"][:]] if "vocabulary" in f else None
        idf = f["idf"][:] if "idf" in f else None
        label = f["label"][:] if "label" in f else None
    return X, vocab, idf, label


def write_strings_layout(path, docs, labels):
    """What h5py writes for a list of str."""
    with h5py.File(path, "w") as f:
        f["text"] = docs
        f["label"] = labels


def write_fast_layout(path, docs_bytes, labels):
    """The fast layout straight from bytes (lets tests store invalid UTF-8)."""
    offsets = np.zeros(len(docs_bytes) + 1, dtype=np.uint64)
    offsets[1:] = np.cumsum([len(d) for d in docs_bytes])
    with h5py.File(path, "w") as f:
        g = f.create_group("text")
        g["bytes"] = np.frombuffer(b"".join(docs_bytes), dtype=np.uint8)
        g["offsets"] = offsets
        f["label"] = labels


def write_jsonl(path, docs, labels):
    with open(path, "w", encoding="utf-8") as f:
        for d, l in zip(docs, labels):
            f.write(json.dumps({"text": d, "label": l}, ensure_ascii=False) + "\n")


@pytest.fixture(scope="session")
def binary():
    if not BIN.exists():
        pytest.fail(f"{BIN} is missing: run `cargo build --release` (scripts/test.sh does)")
    if shutil.which(os.environ.get("TEXTSAGA_MPIRUN", "mpirun")) is None:
        pytest.fail("mpirun is missing: run scripts/setup.sh")
    return BIN


def read_docs(path):
    """Documents and labels of a corpus in either layout."""
    return read_corpus(path)


def read_model(path):
    with h5py.File(path, "r") as f:
        out = {k: f[k][:] for k in ("coef", "intercept", "classes")}
        out["n_iter"] = int(f.attrs["n_iter"])
        out["objective"] = float(f.attrs["objective"])
        out["params"] = json.loads(f.attrs["params"])
    return out
