#!/usr/bin/env bash
# Runs every test: unit tests, MPI integration tests at 1-4 ranks, and the
# scikit-learn oracle tests. Sets up the machine first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/mpi-env.sh
echo "== cargo test (unit and MPI integration tests)"
cargo test --release
echo "== scikit-learn oracle tests"
.venv/bin/python -m pytest tests/oracle -q -p no:cacheprovider
