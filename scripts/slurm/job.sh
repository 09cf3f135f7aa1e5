# What every textsaga batch job does, shared by scripts/slurm/*.sbatch (sourced, not run):
#
#   - finds the binary: $TEXTSAGA_BIN, else `textsaga` on PATH, else the one installed beside
#     these scripts (PREFIX/bin by scripts/build-user.sh), else target/release/textsaga of the
#     source tree these scripts are in, or under the submit directory;
#   - finds the launcher at run time: $TEXTSAGA_LAUNCHER (srun | mpirun), else
#     `srun --mpi=pmix` or `--mpi=pmi2`, whichever `srun --mpi=list` offers, else `mpirun`
#     inside the allocation;
#   - forwards the stop signal to the ranks under either launcher: the templates ask Slurm for
#     `--signal=B:USR1@300` (the batch shell gets it 5 minutes before the time limit) and the
#     trap here passes USR1 (and TERM, USR2) on to the launcher, which passes it to every rank;
#     the ranks write their checkpoint and exit 75 (fit), or stop with nothing half-written.
#     SIGTERM is the exception: neither launcher passes it on (docs/signals.md). srun given it
#     kills its step at once (SIGKILL), so TERM goes to the step's tasks through
#     `scancel --signal=TERM`; mpirun given it sends the ranks SIGTERM and then SIGKILL, each after
#     `odls_base_sigkill_timeout` seconds (1 by default: too short for a checkpoint), set here to
#     $OMPI_MCA_odls_base_sigkill_timeout or 10 (20 s in all, within Slurm's KillWait of 30);
#   - requeues a job stopped that way, at most --max-requeues N times (default 5, or
#     $TEXTSAGA_MAX_REQUEUES): a job that keeps being stopped must not requeue forever. A job
#     that got SIGTERM (scancel, or the time limit itself) is never requeued: a cancel wins;
#   - sets HDF5_USE_FILE_LOCKING=FALSE when the job's folder or the submit folder is on a
#     parallel or network file system (Lustre, GPFS, BeeGFS, NFS, Ceph), where HDF5's locks
#     fail or hang (set it yourself for outputs elsewhere);
#   - logs one line a job: job, restart, tasks, nodes, launcher, binary, command.
#
# Functions: ts_setup NAME ARGS... (parses the job's own options out of ARGS into ts_args),
# ts_run COMMAND ARGS... (launches, waits, requeues; exits with textsaga's exit code).

ts_name=textsaga-job
ts_max_requeues=${TEXTSAGA_MAX_REQUEUES:-5}
ts_args=()

ts_die() { echo "$ts_name: error: $1" >&2; exit "${2:-1}"; }

# Where these scripts live (this file is sourced from its own folder).
ts_script_dir() {
    (cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
}

ts_binary() {
    local here
    here=$(ts_script_dir)
    if [ -n "${TEXTSAGA_BIN:-}" ]; then echo "$TEXTSAGA_BIN"
    elif command -v textsaga >/dev/null 2>&1; then command -v textsaga
    elif [ -x "$here/../../../bin/textsaga" ]; then (cd "$here/../../../bin" && echo "$PWD/textsaga")
    elif [ -x "$here/../../target/release/textsaga" ]; then (cd "$here/../../target/release" && echo "$PWD/textsaga")
    elif [ -x "${SLURM_SUBMIT_DIR:-.}/target/release/textsaga" ]; then echo "${SLURM_SUBMIT_DIR:-.}/target/release/textsaga"
    else return 1
    fi
}

# The launcher, as words of an array: ts_launch.
ts_pick_launcher() {
    local offered
    case "${TEXTSAGA_LAUNCHER:-auto}" in
        srun) ts_launch=(srun "--mpi=${TEXTSAGA_SRUN_MPI:-pmix}") ;;
        mpirun) ts_launch=(mpirun) ;;
        auto)
            offered=$(srun --mpi=list 2>&1 || true)
            site=$(scontrol show config 2>/dev/null | awk '$1 == "MpiDefault" {print $3}' || true)
            if [ -z "${SLURM_JOB_ID:-}" ]; then ts_launch=(mpirun)
            # The user's or the site's own choice (SLURM_MPI_TYPE, MpiDefault) is kept.
            elif [ -n "${SLURM_MPI_TYPE:-}" ] || { [ -n "$site" ] && [ "$site" != none ]; }; then ts_launch=(srun)
            elif grep -qw pmix <<< "$offered"; then ts_launch=(srun --mpi=pmix)
            elif grep -qw pmi2 <<< "$offered"; then ts_launch=(srun --mpi=pmi2)
            else ts_launch=(mpirun)
            fi ;;
        *) ts_die "TEXTSAGA_LAUNCHER must be srun, mpirun or auto, not '$TEXTSAGA_LAUNCHER'" 2 ;;
    esac
    # mpirun's grace before its SIGTERM, and again before its SIGKILL (see the header).
    [ "${ts_launch[0]}" != mpirun ] || export OMPI_MCA_odls_base_sigkill_timeout=${OMPI_MCA_odls_base_sigkill_timeout:-10}
    # Threads a rank (`--cpus-per-task N`, which textsaga's --threads defaults to): srun no longer
    # takes the job's --cpus-per-task (Slurm 22.05+), and Open MPI's mpirun binds each rank to one
    # core; either way a rank's threads would take turns on one core.
    if [ "${SLURM_CPUS_PER_TASK:-1}" -gt 1 ] 2>/dev/null; then
        if [ "${ts_launch[0]}" = srun ]; then export SRUN_CPUS_PER_TASK=${SRUN_CPUS_PER_TASK:-$SLURM_CPUS_PER_TASK}
        elif mpirun --version 2>/dev/null | grep -q "Open MPI"; then ts_launch+=(--bind-to none)
        fi
    fi
}

# HDF5's file locks fail or hang on parallel and network file systems.
ts_file_locking() {
    local dir=$1 fs
    [ -z "${HDF5_USE_FILE_LOCKING:-}" ] || return 0
    fs=$(stat -f -c %T "$dir" 2>/dev/null || true)
    case "$fs" in
        lustre|gpfs|beegfs|nfs*|cifs|smb*|fuse*|panfs|wekafs|ceph*)
            export HDF5_USE_FILE_LOCKING=FALSE
            echo "$ts_name: $dir is on $fs: HDF5_USE_FILE_LOCKING=FALSE" ;;
    esac
}

# `module load $TEXTSAGA_MODULES` (pipeline.sh's MODULES) when set.
ts_modules() {
    [ -n "${TEXTSAGA_MODULES:-}" ] || return 0
    type module >/dev/null 2>&1 || source /etc/profile.d/modules.sh 2>/dev/null || source /etc/profile.d/lmod.sh 2>/dev/null || true
    type module >/dev/null 2>&1 || ts_die "TEXTSAGA_MODULES is set but this node has no 'module' command"
    # shellcheck disable=SC2086
    module load $TEXTSAGA_MODULES || ts_die "module load $TEXTSAGA_MODULES failed"
}

# Takes the job's own options out of the arguments: --max-requeues N.
ts_setup() {
    ts_name=$1; shift
    while [ $# -gt 0 ]; do
        case "$1" in
            --max-requeues) ts_max_requeues=${2:?--max-requeues needs a number}; shift 2 ;;
            --max-requeues=*) ts_max_requeues=${1#--max-requeues=}; shift ;;
            *) ts_args+=("$1"); shift ;;
        esac
    done
    [[ "$ts_max_requeues" =~ ^[0-9]+$ ]] || ts_die "--max-requeues takes a count, not '$ts_max_requeues'" 2
    ts_modules
    ts_bin=$(ts_binary) || ts_die "cannot find textsaga: set TEXTSAGA_BIN, put it on PATH (scripts/build-user.sh --prefix DIR installs DIR/bin/textsaga), or submit from the source tree"
    ts_pick_launcher
    # The job's folder (where relative outputs go) and the submit folder.
    ts_file_locking "$PWD"
    ts_file_locking "${SLURM_SUBMIT_DIR:-$PWD}"
}

# Passes a stop signal on to the launcher (srun and mpirun both hand it to every rank).
ts_forward() {
    echo "$ts_name: got SIG$1: passing it to the ranks (they checkpoint where they can and stop)"
    ts_trapped=1
    if [ "$1" = TERM ]; then ts_cancelled=1; else ts_signalled=1; fi
    # srun kills its step outright on SIGTERM: the job's steps (not this shell) get it from Slurm.
    if [ "$1" = TERM ] && [ "${ts_launch[0]}" = srun ] && [ -n "${SLURM_JOB_ID:-}" ]; then
        scancel --signal=TERM "$SLURM_JOB_ID" && return
    fi
    [ -n "${ts_pid:-}" ] && kill "-$1" "$ts_pid" 2>/dev/null
}

ts_requeue() {
    local restarts=${SLURM_RESTART_COUNT:-0}
    if [ -z "${SLURM_JOB_ID:-}" ]; then return; fi
    if [ "$restarts" -ge "$ts_max_requeues" ]; then
        echo "$ts_name: stopped by a signal with $restarts of at most $ts_max_requeues requeues done (--max-requeues): not requeueing; resubmit the same command to go on"
        return
    fi
    echo "$ts_name: stopped by a signal; requeueing job $SLURM_JOB_ID (requeue $((restarts + 1)) of at most $ts_max_requeues)"
    scontrol requeue "$SLURM_JOB_ID" || echo "$ts_name: scontrol requeue failed (is the partition set to allow requeues?)"
}

# Runs `textsaga COMMAND ARGS...` under the launcher and exits with its code.
ts_run() {
    local code
    echo "$ts_name: job ${SLURM_JOB_ID:-none} (restart ${SLURM_RESTART_COUNT:-0}) on ${SLURM_NTASKS:-?} tasks, ${SLURM_JOB_NUM_NODES:-?} nodes: ${ts_launch[*]} $ts_bin $*"
    trap 'ts_forward USR1' USR1
    trap 'ts_forward USR2' USR2
    trap 'ts_forward TERM' TERM
    # In the background, so that the traps run while it works (bash runs a trap only between
    # commands); `wait` returns early when one runs, so wait again until the launcher is gone.
    "${ts_launch[@]}" "$ts_bin" "$@" &
    ts_pid=$!
    local prev=""
    while :; do
        ts_trapped=""
        wait "$ts_pid"
        code=$?
        # A trap ended the wait (128 + its signal): wait again for the launcher's own status.
        if [ -n "$ts_trapped" ] && [ "$code" -gt 128 ]; then prev=$code; continue; fi
        # ...unless the launcher had ended just before, and its status was that one.
        [ "$code" = 127 ] && [ -n "$prev" ] && code=$prev
        break
    done
    trap - USR1 USR2 TERM
    if [ -n "${ts_cancelled:-}" ]; then
        echo "$ts_name: stopped by SIGTERM (a cancel or the time limit): not requeueing"
        exit "$code"
    fi
    # 75: stopped after writing a checkpoint; 128 + USR1, USR2 or TERM: stopped with nothing to
    # resume from (the run starts again).
    case "$code" in
        75) ts_requeue ;;
        138|140|143) [ -z "${ts_signalled:-}" ] || ts_requeue ;;
    esac
    exit "$code"
}
