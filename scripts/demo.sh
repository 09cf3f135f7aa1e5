#!/usr/bin/env bash
# The demo job on 2 ranks, end to end: set up, generate a labelled corpus and a
# held-out set, vectorize with MPI and check the features against scikit-learn,
# fit logistic regression on those features by distributed SAGA, evaluate.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/mpi-env.sh
# One machine: Open MPI over shared memory, without probing for InfiniBand/UCX
# (0.2 s a launch). Leave these out for a launch across nodes.
export OMPI_MCA_pml=${OMPI_MCA_pml:-ob1} OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader}
mkdir -p scratch
bin=target/release/textsaga
$bin generate -o scratch/demo.h5 --docs 20000 --classes 5 --seed 1
$bin generate -o scratch/demo-heldout.h5 --docs 5000 --classes 5 --seed 2
mpirun -n 2 $bin vectorize --data scratch/demo.h5 -o scratch/demo-features.h5
.venv/bin/python scripts/check_features.py scratch/demo.h5 scratch/demo-features.h5
# Vectorized once: the fit reads the checked features (the model fit --data would give, bit for bit).
mpirun -n 2 $bin fit --features scratch/demo-features.h5 --model scratch/demo-model.h5 --metrics scratch/demo-fit.json
mpirun -n 2 $bin evaluate --model scratch/demo-model.h5 --data scratch/demo-heldout.h5
