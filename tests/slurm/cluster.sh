# A real single-node Slurm on this machine, for the tests (sourced).
#
#   source tests/slurm/cluster.sh
#   slurm_start "$work"      # munged, slurmctld, slurmd with a private configuration in $work
#   ...                      # sbatch, srun, squeue, scontrol (SLURM_CONF is exported)
#   slurm_stop               # also on failure: call it from an EXIT trap
#
# Ports are chosen free at start (no fixed ports: two test runs may share a machine), and each
# wait is for a state with a bound, never a fixed sleep.

slurm_pids=()

# Waits up to $1 tenths of a second for the command after it to succeed.
slurm_wait_for() {
    local tenths=$1; shift
    for _ in $(seq 1 "$tenths"); do "$@" && return 0; sleep 0.1; done
    "$@"
}

slurm_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

slurm_start() {
    local work=$1 host cpus
    host=$(hostname)
    cpus=$(nproc)
    mkdir -p "$work/state" "$work/spool" "$work/munge" "$work/run"
    dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
    chmod 600 "$work/munge/munge.key"
    munged --key-file="$work/munge/munge.key" --socket="$work/munge/socket" --pid-file="$work/munge/pid" \
        --log-file="$work/munge/log" --seed-file="$work/munge/seed" --force
    slurm_wait_for 100 test -s "$work/munge/pid"
    slurm_pids+=("$(cat "$work/munge/pid")")
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
SlurmctldPort=$(slurm_free_port)
SlurmdPort=$(slurm_free_port)
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
MinJobAge=3600
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
    export SLURM_CONF="$work/slurm.conf"
    slurmctld -f "$SLURM_CONF"
    slurmd -f "$SLURM_CONF"
    slurm_wait_for 100 test -s "$work/run/slurmctld.pid" && slurm_wait_for 100 test -s "$work/run/slurmd.pid"
    slurm_pids+=("$(cat "$work/run/slurmctld.pid")" "$(cat "$work/run/slurmd.pid")")
    slurm_idle() { sinfo -h -o %T 2>/dev/null | grep -qE "idle|mixed"; }
    slurm_wait_for 300 slurm_idle || { echo "slurm: the node did not come up (see $work/slurmd.log)"; return 1; }
}

slurm_stop() {
    local p
    for p in "${slurm_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${slurm_pids[@]}"; do
        slurm_wait_for 50 bash -c "! kill -0 $p 2>/dev/null" || kill -9 "$p" 2>/dev/null || true
    done
}

# A job's state while the controller remembers it (MinJobAge above): PENDING, RUNNING,
# COMPLETED, FAILED, ... ("" once forgotten).
slurm_job_state() {
    scontrol show job -o "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2
}

# Waits (at most $2 seconds) until job $1 has ended; prints its final state.
slurm_wait_job() {
    local job=$1 limit=$2 state start=$SECONDS
    while :; do
        state=$(slurm_job_state "$job")
        case "$state" in
            COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|"") echo "$state"; return 0 ;;
        esac
        if [ $((SECONDS - start)) -ge "$limit" ]; then echo "TIMEOUT_WAITING($state)"; return 1; fi
        sleep 0.5
    done
}
