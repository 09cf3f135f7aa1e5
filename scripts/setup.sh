#!/usr/bin/env bash
# Installs what textsaga needs on a Debian machine and builds it:
#   - OpenMPI, HDF5 (serial, and built for OpenMPI: outputs are written through
#     MPI-IO), libclang, pkg-config, and the zstd and libffi libraries that
#     two crates link instead of compiling them, through apt-get (only what
#     is missing);
#   - a Python venv in .venv with scikit-learn and h5py (tests and benchmarks)
#     and matplotlib (the scaling plot);
#   - the release binary, target/release/textsaga.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libopenmpi-dev openmpi-bin libhdf5-dev libhdf5-openmpi-dev libclang-dev clang pkg-config libzstd-dev libffi-dev procps)
python3 -c "import venv, ensurepip" 2>/dev/null || packages+=(python3-venv)
scripts/ensure-packages.sh "${packages[@]}"

if ! command -v cargo >/dev/null; then
    echo "setup: cargo is missing; install Rust (https://rustup.rs) and run again" >&2
    exit 1
fi

# The venv (mostly downloads) is made while cargo builds (mostly CPU): on a
# fresh machine that hides most of its time.
venv_pid=""
venv_log=$(mktemp)
if ! .venv/bin/python -c "import sklearn, h5py, scipy, pytest, joblib, pyarrow, zstandard, matplotlib" 2>/dev/null; then
    echo "setup: creating .venv with scikit-learn and h5py (beside the build)"
    (
        python3 -m venv .venv
        .venv/bin/pip install -q --upgrade pip
        .venv/bin/pip install -q -r scripts/requirements.txt
    ) >"$venv_log" 2>&1 &
    venv_pid=$!
fi

build=0
cargo build --release --quiet || build=$?
if [ -n "$venv_pid" ] && ! wait "$venv_pid"; then
    cat "$venv_log" >&2
    echo "setup: the Python venv (.venv) could not be made: see pip's messages above" >&2
    exit 1
fi
rm -f "$venv_log"
[ "$build" = 0 ] || { echo "setup: cargo build failed (above)" >&2; exit 1; }
echo "setup: ready: target/release/textsaga (put it on PATH: export PATH=\"$PWD/target/release:\$PATH\")"
