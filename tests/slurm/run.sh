#!/usr/bin/env bash
# A real single-node Slurm on this machine: installs slurm-wlm and munge if
# missing, starts munged, slurmctld and slurmd with a private configuration,
# submits scripts/slurm/fit.sbatch with `sbatch --wait -n 2`, checks the model
# and the metrics, and stops the daemons it started (also on failure).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/mpi-env.sh

need=()
for p in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/textsaga-slurm.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 1
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
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
echo "1 passed, 0 failed"
