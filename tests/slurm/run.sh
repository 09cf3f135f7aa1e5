#!/usr/bin/env bash
# The batch workflow on a real single-node Slurm (munged, slurmctld and slurmd started here with
# a private configuration: tests/slurm/cluster.sh; stopped on exit, also on failure):
#
#  0. job.sh's rules (file locking on Lustre, the launcher srun offers), with stand-in commands;
#  1. fit.sbatch under `sbatch --wait`: the model, and metrics that name srun as the launcher;
#     with -c 2, one rank of two threads on two cores under each launcher, the one-thread model;
#  2. Slurm's own time-limit signal, under each launcher (srun --mpi=pmix and mpirun inside the
#     allocation): a one-minute job with --signal=B:USR1@58; the batch shell's trap passes the
#     signal to the ranks, they checkpoint and exit 75, the job requeues itself, resumes at the
#     epoch it reached, and ends with the uninterrupted fit's model, bit for bit;
#  3. the requeue cap: a job stopped with --max-requeues 0 ends with 75 and is not requeued;
#  4. pipeline.sh: prepare (train and test) -> plan -> vectorize -> fit -> evaluate as dependent
#     jobs, all COMPLETED; the model equals a direct fit at the rank count the plan chose;
#  5. sweep.sh: a strong-scaling series, its CSV and picture;
#  6. signals from outside sent to srun itself, and SIGTERM to a batch job's shell under srun.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/mpi-env.sh
source tests/slurm/cluster.sh

scripts/ensure-packages.sh slurm-wlm munge

work=$(mktemp -d /tmp/textsaga-slurm.XXXXXX)
cleanup() {
    slurm_stop
    [ -n "${KEEP_SLURM_TEST:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
slurm_start "$work"
sinfo
passed=0
ok() { passed=$((passed + 1)); echo "slurm test: ok: $1"; }
fail() { echo "slurm test: FAILED: $1"; for f in "$work"/*.log; do echo "== $f"; tail -20 "$f"; done; exit 1; }

bin=$PWD/target/release/textsaga
export TEXTSAGA_BIN=$bin

# 0. job.sh's rules on what a site has, through stand-in commands: a folder on Lustre turns
# HDF5's file locks off (a local one keeps them); srun offering only pmi2 is launched with it.
fake=$work/fake-bin
mkdir -p "$fake"
printf '#!/bin/sh\necho lustre\n' > "$fake/stat"
printf '#!/bin/sh\nprintf "MPI plugin types are...\\n\\tnone\\n\\tpmi2\\n"\n' > "$fake/srun"
chmod +x "$fake/stat" "$fake/srun"
rule() { env -u HDF5_USE_FILE_LOCKING SLURM_JOB_ID=1 PATH="$1" bash -c 'source scripts/slurm/job.sh; ts_file_locking /tmp >/dev/null; ts_pick_launcher; echo "${HDF5_USE_FILE_LOCKING:-on} ${ts_launch[*]}"'; }
[ "$(rule "$fake:$PATH")" = "FALSE srun --mpi=pmi2" ] || fail "job.sh on Lustre with pmi2: $(rule "$fake:$PATH")"
[ "$(rule "$PATH")" = "on srun --mpi=pmix" ] || fail "job.sh on a local folder with this Slurm: $(rule "$PATH")"
# Installed as build-user.sh lays it out (PREFIX/bin, PREFIX/share/textsaga/slurm), job.sh finds
# the binary beside it with nothing on PATH.
mkdir -p "$work/prefix/bin" "$work/prefix/share/textsaga/slurm"
cp scripts/slurm/job.sh "$work/prefix/share/textsaga/slurm/" && cp "$bin" "$work/prefix/bin/"
found=$(env -u TEXTSAGA_BIN PATH=/usr/bin:/bin bash -c "source $work/prefix/share/textsaga/slurm/job.sh; ts_binary")
[ "$found" = "$work/prefix/bin/textsaga" ] || fail "job.sh in an installed prefix found '$found'"
ok "job.sh: file locking off on Lustre only; the launcher srun offers; the binary of its prefix"
py=$PWD/.venv/bin/python
same_model() {
    "$py" - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
assert np.array_equal(a["coef"][:], b["coef"][:]) and np.array_equal(a["intercept"][:], b["intercept"][:]), \
    f"{sys.argv[1]} differs from {sys.argv[2]}"
PY
}

# 1. A fit through sbatch --wait.
$bin generate -o "$work/corpus.h5" --docs 3000 --classes 4 --seed 1 --quiet
(cd "$work" && sbatch --wait -n 2 "$OLDPWD/scripts/slurm/fit.sbatch" --data "$work/corpus.h5" --model "$work/model.h5") >/dev/null \
    || fail "fit.sbatch exited non-zero"
test -f "$work/model.h5" || fail "fit.sbatch wrote no model"
python3 - "$work" <<'PY' || fail "fit.sbatch's metrics"
import json, sys
m = json.load(open(sys.argv[1] + "/model.h5.metrics.json"))
assert m["ranks"] == 2 and m["launcher"] == "srun" and m["documents"] == 3000 and m["epochs"] >= 1, m
PY
ok "fit.sbatch: 2 ranks through srun"

# 1b. Threads a rank from --cpus-per-task, under each launcher: one rank of two threads, on two
# cores (no warning that they take turns), gives the model of one thread, bit for bit. (This
# Slurm binds no task, TaskPlugin=task/none: only mpirun's binding, which job.sh undoes, is shown.)
mpirun -n 1 $bin fit --data "$work/corpus.h5" --model "$work/one-thread.h5" --solver lbfgs --threads 1 --quiet
for launcher in srun mpirun; do
    (cd "$work" && TEXTSAGA_LAUNCHER=$launcher sbatch --wait -n 1 -c 2 --output "$work/hybrid-$launcher.log" "$OLDPWD/scripts/slurm/fit.sbatch" \
        --data "$work/corpus.h5" --model "$work/hybrid-$launcher.h5" --solver lbfgs) >/dev/null || fail "$launcher: the hybrid fit exited non-zero"
    grep -q "1 ranks x 2 threads" "$work/hybrid-$launcher.log" || fail "$launcher: the job's rank ran without its two threads"
    ! grep -q "take turns" "$work/hybrid-$launcher.log" || fail "$launcher: the rank was bound to one core"
    same_model "$work/one-thread.h5" "$work/hybrid-$launcher.h5" || fail "$launcher: two threads gave another model"
done
ok "fit.sbatch -c 2: one rank of two threads on two cores under srun and mpirun, the one-thread model"

# 2. The time-limit signal under each launcher, both jobs at once. The pause after each epoch
# (a test hook that changes no arithmetic) keeps the fit running past Slurm's periodic check.
epochs=50
mpirun -n 2 $bin fit --data "$work/corpus.h5" --model "$work/reference.h5" --max-iter $epochs --tol 0 --quiet
declare -A tl_job
for launcher in srun mpirun; do
    tl_job[$launcher]=$(cd "$work" && TEXTSAGA_LAUNCHER=$launcher TEXTSAGA_TEST_EPOCH_PAUSE_MS=1000 sbatch --parsable -n 2 \
        --time=1 --signal=B:USR1@58 --output "$work/timelimit-$launcher.log" "$OLDPWD/scripts/slurm/fit.sbatch" \
        --data "$work/corpus.h5" --model "$work/timelimit-$launcher.h5" --max-iter $epochs --tol 0)
done
for launcher in srun mpirun; do
    job=${tl_job[$launcher]}
    requeued() { grep -q "requeueing job $job" "$work/timelimit-$launcher.log" 2>/dev/null; }
    slurm_wait_for 1200 requeued || fail "$launcher: the time-limit signal did not stop and requeue job $job"
    # Slurm holds a requeued job (BeginTime); release it, with time enough to finish this once.
    # Only once the first run's batch step is gone, and in a later second than its end: slurmd
    # refuses a credential issued in the second its old one was revoked ("credential revoked").
    held() { scontrol show job -o "$job" | grep -q "JobState=PENDING Reason=BeginTime"; }
    gone() { grep -q "\[$job.batch\] done with job" "$work/slurmd.log"; }
    slurm_wait_for 300 held && slurm_wait_for 300 gone || fail "$launcher: job $job is not held after its requeue"
    now=$(date +%s)
    slurm_wait_for 20 bash -c "[ \$(date +%s) -gt $now ]"
    scontrol update JobId="$job" StartTime=now TimeLimit=10
done
for launcher in srun mpirun; do
    job=${tl_job[$launcher]} log="$work/timelimit-$launcher.log"
    state=$(slurm_wait_job "$job" 300) || fail "$launcher: job $job did not end ($state)"
    cat "$log"
    [ "$state" = COMPLETED ] || fail "$launcher: job $job ended $state"
    grep -q "got SIGUSR1: passing it to the ranks" "$log" || fail "$launcher: the batch shell did not get the time-limit signal"
    stopped=$(sed -n 's/.*stopped by a signal at epoch \([0-9]*\).*/\1/p' "$log" | head -1)
    resumed=$(sed -n 's/.*resuming at epoch \([0-9]*\).*/\1/p' "$log" | head -1)
    [ -n "$stopped" ] && [ "$stopped" -lt $epochs ] || fail "$launcher: no stop before the last epoch"
    [ "$resumed" = "$stopped" ] || fail "$launcher: stopped at epoch $stopped but resumed at '${resumed}'"
    same_model "$work/reference.h5" "$work/timelimit-$launcher.h5" || fail "$launcher: the resumed model differs"
    ok "$launcher: time-limit signal, checkpoint at epoch $stopped, requeued, resumed there, the uninterrupted model bit for bit"
done

# 3. The requeue cap: stopped with --max-requeues 0, the job ends and is not requeued.
job=$(cd "$work" && TEXTSAGA_TEST_EPOCH_PAUSE_MS=1000 sbatch --parsable -n 2 --output "$work/cap.log" \
    "$OLDPWD/scripts/slurm/fit.sbatch" --data "$work/corpus.h5" --model "$work/cap.h5" --max-iter $epochs --tol 0 --max-requeues 0)
first_epoch() { grep -q "^epoch *1 " "$work/cap.log" 2>/dev/null; }
slurm_wait_for 600 first_epoch || fail "cap: the fit did not start"
scancel --batch --signal=USR1 "$job"
state=$(slurm_wait_job "$job" 120) || fail "cap: job $job did not end ($state)"
[ "$state" = FAILED ] && grep -q "not requeueing" "$work/cap.log" && ! test -f "$work/cap.h5" || fail "cap: job $job ended $state"
scontrol show job -o "$job" | grep -q "Restarts=0" || fail "cap: job $job was requeued"
ok "requeue cap: stopped with --max-requeues 0, exit 75, not requeued"

# 4. The whole workflow as dependent jobs.
python3 - "$work" <<'PY'
import json, random, sys
rng = random.Random(7)
words = [f"w{i}" for i in range(3000)]
topics = {c: rng.sample(words, 40) for c in ("sport", "science", "music")}
for name, n in (("train", 3000), ("test", 600)):
    with open(f"{sys.argv[1]}/{name}.jsonl", "w") as f:
        for _ in range(n):
            c = rng.choice(sorted(topics))
            text = " ".join(rng.choice(topics[c]) if rng.random() < 0.3 else rng.choice(words) for _ in range(rng.randint(20, 80)))
            f.write(json.dumps({"text": text, "label": c}) + "\n")
PY
cat > "$work/run.conf" <<CONF
INPUT=(train.jsonl)
TEST_INPUT=(test.jsonl)
WORKDIR=pipeline
VECTORIZER_FLAGS=(--ngram-range 1,2 --min-df 2)
FIT_FLAGS=(-C 2)
RANKS=auto
MAX_RANKS=2
MEM_PER_RANK_GB=
TIME_FIT=00:10:00
CONF
dry=$(scripts/slurm/pipeline.sh "$work/run.conf" --dry-run 2>&1) || fail "pipeline --dry-run: $dry"
[ "$(grep -c "would run: sbatch" <<< "$dry")" = 3 ] && [ ! -s "$work/pipeline/pipeline.jobs" ] || fail "pipeline --dry-run: $dry"
scripts/slurm/pipeline.sh "$work/run.conf"
jobs_file=$work/pipeline/pipeline.jobs
all_submitted() { [ "$(grep -c . "$jobs_file")" -ge 6 ]; }
slurm_wait_for 1200 all_submitted || fail "pipeline: the plan job did not submit the rest ($(cat "$jobs_file"))"
while read -r stage job; do
    state=$(slurm_wait_job "$job" 300) || fail "pipeline: $stage job $job did not end"
    echo "slurm test: pipeline $stage job $job $state"
    [ "$state" = COMPLETED ] || fail "pipeline: $stage job $job ended $state"
done < "$jobs_file"
ranks=$(sed -n 's/^  "recommended": \([0-9]*\),$/\1/p' "$work/pipeline/plan.json")
grep -q "on $ranks tasks" "$work"/pipeline/logs/textsaga-fit-*.log || fail "pipeline: fit did not run at the planned $ranks ranks"
# Vectorized once: the fit read features.h5 and tokenized nothing.
! grep -q "tokenize" "$work"/pipeline/logs/textsaga-fit-*.log || fail "pipeline: the fit vectorized the corpus again"
grep -q "accuracy" "$work"/pipeline/logs/textsaga-evaluate-*.log || fail "pipeline: evaluate printed no accuracy"
mpirun -n "$ranks" $bin fit --data "$work/pipeline/corpus.h5" --model "$work/direct.h5" --ngram-range 1,2 --min-df 2 -C 2 --quiet
same_model "$work/direct.h5" "$work/pipeline/model.h5" || fail "pipeline: its model differs from a direct fit"
grep -h "accuracy" "$work"/pipeline/logs/textsaga-evaluate-*.log | head -2
ok "pipeline: prepare x2 -> plan -> vectorize -> fit --features -> evaluate, all COMPLETED, the model of a direct $ranks-rank fit from the text"

# 5. A strong-scaling series through Slurm: one job per rank count, then the CSV and the plot.
SWEEP_POLL_SECONDS=1 bash scripts/slurm/sweep.sh --ranks 1,2 --data "$work/corpus.h5" --out "$work/sweep" -- --chdir "$work"
head -3 "$work/sweep/scaling.csv"
test "$(grep -c . "$work/sweep/scaling.csv")" = 3 && grep -q "<svg" "$work/sweep/scaling.svg" && test -s "$work/sweep/scaling.png" \
    || fail "sweep wrote no scaling report"
ok "sweep: scaling.csv, scaling.svg and scaling.png (matplotlib)"
# 6. Signals sent to srun itself, while a 2-rank vectorize holds its partial output file (a test
# hook: the ranks wait there for the signal, so the command is running whatever the machine's
# speed). USR1 and USR2 reach every rank: exit 128 + the signal, one line, the previous output as
# it was, no partial file. TERM makes srun kill its step outright (SIGKILL, exit 137): the previous
# output is still as it was, the killed job's partial file stays, and the next run to that path
# removes it. Then TERM sent to a batch job's shell (scancel --batch) under srun: job.sh passes it
# to the ranks through scancel, so they stop cleanly (143), and the job is not requeued.
signalled_srun() { # SIGNAL LOG: a vectorize over previous.h5 under srun, stopped by SIGNAL
    local sig=$1 log=$2 pid code=0
    echo "the previous output" > "$work/previous.h5"
    TEXTSAGA_TEST_AWAIT_SIGNAL=partial srun -n 2 --mpi=pmix "$bin" vectorize --data "$work/corpus.h5" -o "$work/previous.h5" -q 2> "$log" &
    pid=$!
    awaiting() { grep -q "awaits a signal at partial" "$log"; }
    slurm_wait_for 600 awaiting || { kill -KILL "$pid"; fail "srun $sig: the job never reached its output"; }
    kill "-$sig" "$pid"
    slurm_wait_for 600 bash -c "! kill -0 $pid 2>/dev/null" || { kill -KILL "$pid"; fail "srun $sig: still running"; }
    wait "$pid" || code=$?
    echo "$code"
}
partials() { find "$work" -maxdepth 1 -name '.previous.h5.textsaga-partial.*' | grep -c . || true; }
for sig in USR1 USR2 TERM; do
    log=$work/srun-$sig.log
    code=$(signalled_srun "$sig" "$log")
    [ "$(cat "$work/previous.h5")" = "the previous output" ] || fail "srun $sig: the previous output changed"
    if [ "$sig" = TERM ]; then
        [ "$code" = 137 ] && grep -q "forcing job termination" "$log" || fail "srun TERM: exit $code, not srun's kill: $(cat "$log")"
        [ "$(partials)" = 1 ] || fail "srun TERM: the killed job's partial file is not there ($(partials))"
        srun -n 2 --mpi=pmix "$bin" vectorize --data "$work/corpus.h5" -o "$work/previous.h5" -q || fail "vectorize after the kill"
        [ "$(partials)" = 0 ] || fail "the next run left the killed job's partial file"
        ok "srun given SIGTERM kills its step (137): the previous output kept; the next run removed the partial file"
    else
        want=$((128 + $(kill -l "$sig")))
        [ "$code" = "$want" ] && [ "$(grep -c "^textsaga: error: stopped by SIG$sig" "$log")" = 1 ] && [ "$(grep -c "^textsaga: error" "$log")" = 1 ] \
            || fail "srun $sig: exit $code (wanted $want): $(cat "$log")"
        [ "$(partials)" = 0 ] || fail "srun $sig: a partial file was left"
        ok "srun passes SIG$sig to every rank: exit $want, one line, the previous output kept, no partial file"
    fi
done
echo "the previous output" > "$work/previous.h5"
job=$(cd "$work" && TEXTSAGA_LAUNCHER=srun TEXTSAGA_TEST_AWAIT_SIGNAL=partial sbatch --parsable -n 2 --output "$work/term.log" \
    "$OLDPWD/scripts/slurm/vectorize.sbatch" --data "$work/corpus.h5" -o "$work/previous.h5")
awaiting() { grep -q "awaits a signal at partial" "$work/term.log" 2>/dev/null; }
slurm_wait_for 600 awaiting || fail "term: the job never reached its output"
scancel --batch --signal=TERM "$job"
state=$(slurm_wait_job "$job" 300) || fail "term: job $job did not end ($state)"
cat "$work/term.log"
[ "$state" = FAILED ] && grep -q "^textsaga: error: stopped by SIGTERM" "$work/term.log" && grep -q "not requeueing" "$work/term.log" \
    || fail "term: job $job ended $state"
[ "$(cat "$work/previous.h5")" = "the previous output" ] && [ "$(partials)" = 0 ] || fail "term: the output changed or a partial file was left"
scontrol show job -o "$job" | grep -q "Restarts=0" && scontrol show job -o "$job" | grep -q "ExitCode=143:0" || fail "term: job $job: $(scontrol show job -o "$job")"
ok "SIGTERM to a batch job's shell under srun: the ranks stop cleanly (143), nothing written, not requeued"
echo "$passed passed, 0 failed"
