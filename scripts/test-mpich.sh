#!/usr/bin/env bash
# Builds textsaga against Debian's MPICH (beside the OpenMPI build, in
# target/mpich) and runs the MPI integration tests with MPICH's launcher.
# Not part of scripts/test.sh (CI time); run it when touching the MPI layer.
#
# Known gap: under MPICH's Hydra launcher started from the test harness, a
# fit stopped by SIGUSR1 checkpoints and exits 75 on every rank but Hydra
# reports 0, so that one test is skipped here (by hand, `mpirun.mpich`
# returns 75).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/ensure-packages.sh libmpich-dev mpich
export CARGO_TARGET_DIR=target/mpich MPICC=mpicc.mpich TEXTSAGA_MPIRUN=mpirun.mpich
cargo test --release --test vectorize_mpi --test bad_input --test fit_mpi --test prepare --test checkpoint_mpi -- \
    --skip signal_checkpoint_and_resume_give_the_uninterrupted_model
