#!/usr/bin/env bash
# Installs what textsaga needs on a Debian machine and builds it:
#   - OpenMPI, HDF5 (serial, and built for OpenMPI: outputs are written through
#     MPI-IO), libclang and pkg-config through apt-get (only what is missing);
#   - a Python venv in .venv with scikit-learn and h5py (tests and benchmarks)
#     and matplotlib (the scaling plot);
#   - the release binary, target/release/textsaga.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libopenmpi-dev openmpi-bin libhdf5-dev libhdf5-openmpi-dev libclang-dev clang pkg-config procps)
python3 -c "import venv, ensurepip" 2>/dev/null || packages+=(python3-venv)
scripts/ensure-packages.sh "${packages[@]}"

if ! .venv/bin/python -c "import sklearn, h5py, scipy, pytest, joblib, pyarrow, zstandard, matplotlib" 2>/dev/null; then
    echo "setup: creating .venv with scikit-learn and h5py"
    python3 -m venv .venv
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -r scripts/requirements.txt
fi

if ! command -v cargo >/dev/null; then
    echo "setup: cargo is missing; install Rust (https://rustup.rs) and run again" >&2
    exit 1
fi
cargo build --release --quiet
echo "setup: ready: target/release/textsaga (put it on PATH: export PATH=\"$PWD/target/release:\$PATH\")"
