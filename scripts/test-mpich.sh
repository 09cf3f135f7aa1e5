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
# Debian's parallel HDF5 is built for OpenMPI: link the serial one and write in turns.
export CARGO_TARGET_DIR=target/mpich MPICC=mpicc.mpich TEXTSAGA_MPIRUN=mpirun.mpich HDF5_DIR=/usr/lib/x86_64-linux-gnu/hdf5/serial
cargo test --release --no-default-features --features system-libs --test suite -- vectorize_mpi:: bad_input:: fit_mpi:: prepare:: checkpoint_mpi:: \
    --skip signal_checkpoint_and_resume_give_the_uninterrupted_model
