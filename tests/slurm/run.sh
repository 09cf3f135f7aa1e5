#!/usr/bin/env bash
# A real single-node Slurm on this machine: installs slurm-wlm and munge if
# missing, starts munged, slurmctld and slurmd with a private configuration,
# submits scripts/slurm/fit.sbatch with `sbatch --wait -n 2`, checks the model
# and the metrics, and stops the daemons it started (also on failure).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/mpi-env.sh

scripts/ensure-packages.sh slurm-wlm munge

work=$(mktemp -d /tmp/textsaga-slurm.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 1
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    [ -n "${KEEP_SLURM_TEST:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

host=$(hostname)
cpus=$(nproc)
mkdir -p "$work/state" "$work/spool" "$work/munge" "$work/run"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 600 "$work/munge/munge.key"
munged --key-file="$work/munge/munge.key" --socket="$work/munge/socket" --pid-file="$work/munge/pid" \
    --log-file="$work/munge/log" --seed-file="$work/munge/seed" --force
pids+=("$(cat "$work/munge/pid")")

cat > "$work/slurm.conf" <<CONF
ClusterName=textsaga-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$work/munge/socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/run/slurmctld.pid
SlurmdPidFile=$work/run/slurmd.pid
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
export SLURM_CONF="$work/slurm.conf"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
sleep 2
pids+=("$(cat "$work/run/slurmctld.pid")" "$(cat "$work/run/slurmd.pid")")
for i in $(seq 1 30); do
    sinfo -h -o %T 2>/dev/null | grep -qE "idle|mixed" && break
    sleep 1
done
sinfo

bin=target/release/textsaga
$bin generate -o "$work/corpus.h5" --docs 3000 --classes 4 --seed 1 --quiet
export TEXTSAGA_BIN="$PWD/$bin"
(cd "$work" && sbatch --wait -n 2 "$OLDPWD/scripts/slurm/fit.sbatch" --data "$work/corpus.h5" --model "$work/model.h5")
cat "$work"/textsaga-fit-*.log
test -f "$work/model.h5" || { echo "slurm test: no model written"; exit 1; }
python3 - "$work" <<'PY'
import json, sys
m = json.load(open(sys.argv[1] + "/model.h5.metrics.json"))
assert m["ranks"] == 2, m["ranks"]
assert m["launcher"] == "srun", m["launcher"]
assert m["documents"] == 3000 and m["epochs"] >= 1, m
print(f"slurm test: ok ({m['ranks']} ranks via {m['launcher']}, {m['epochs']} epochs, objective {m['objective']:.6g})")
PY

# Requeue: the time-limit signal (sent here by scancel) makes the ranks checkpoint and exit 75;
# the script requeues the job, which resumes and must finish with the uninterrupted model.
$bin generate -o "$work/big.h5" --docs 60000 --classes 10 --seed 4 --quiet
mpirun -n 2 $bin fit --data "$work/big.h5" --model "$work/reference.h5" --max-iter 30 --tol 0 --quiet
job=$(cd "$work" && sbatch --parsable -n 2 "$OLDPWD/scripts/slurm/fit.sbatch" --data "$work/big.h5" --model "$work/requeued.h5" --max-iter 30 --tol 0)
for i in $(seq 1 100); do
    [ "$(squeue -h -j "$job" -o %T 2>/dev/null)" = RUNNING ] && break
    sleep 0.2
done
sleep 1.5
scancel --signal=USR1 "$job"
for i in $(seq 1 300); do
    state=$(squeue -h -j "$job" -o "%T %r" 2>/dev/null || true)
    [ -n "$state" ] || break
    # Slurm holds a requeued job for two minutes (BeginTime); no need to wait here.
    [ "$state" = "PENDING BeginTime" ] && scontrol update JobId="$job" StartTime=now
    sleep 1
done
cat "$work"/textsaga-fit-"$job".log
grep -q "requeueing job $job" "$work/textsaga-fit-$job.log" || { echo "slurm test: the job was not requeued"; exit 1; }
grep -q "resuming at epoch" "$work/textsaga-fit-$job.log" || { echo "slurm test: the requeued job did not resume"; exit 1; }
.venv/bin/python - "$work" <<'PY'
import sys, h5py, numpy as np
w = sys.argv[1]
a, b = h5py.File(w + "/reference.h5"), h5py.File(w + "/requeued.h5")
assert np.array_equal(a["coef"][:], b["coef"][:]) and np.array_equal(a["intercept"][:], b["intercept"][:]), "requeued model differs"
print("slurm test: requeued job resumed to the uninterrupted model, bit for bit")
PY

# A strong-scaling series through Slurm: one job per rank count, then the CSV and the plot.
SWEEP_POLL_SECONDS=1 TEXTSAGA_BIN="$PWD/$bin" bash scripts/slurm/sweep.sh --ranks 1,2 --data "$work/corpus.h5" --out "$work/sweep" -- --chdir "$work"
head -3 "$work/sweep/scaling.csv"
test "$(grep -c . "$work/sweep/scaling.csv")" = 3 && grep -q "<svg" "$work/sweep/scaling.svg" || { echo "slurm test: sweep wrote no scaling report"; exit 1; }
echo "3 passed, 0 failed"
