#!/usr/bin/env bash
# Runs every test: unit tests, MPI integration tests at 1-4 ranks, the batch
# workflow on a real Slurm, the non-root cluster build, and the scikit-learn
# oracle tests. Sets up the machine first (scripts/setup.sh).
set -euo pipefail
# (pipefail: a failing test fails the run even when its output is filtered)
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/mpi-env.sh
echo "== docs/cli.md against the binary's --help"
bash scripts/cli_doc.sh --check
echo "== cargo test (unit and MPI integration tests)"
cargo test --release
echo "== real Slurm (munge, slurmctld, slurmd on this machine): the batch templates, time-limit signals under srun and mpirun, requeue and resume, the pipeline"
bash tests/slurm/run.sh 2>&1 | grep -v "^epoch"
echo "== the cluster build: a user without root, PyPI's MPICH, HDF5 from source (scripts/build-user.sh)"
bash tests/cluster/build-user.sh
echo "== scikit-learn oracle tests"
.venv/bin/python -m pytest tests/oracle -q -p no:cacheprovider
