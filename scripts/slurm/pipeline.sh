#!/usr/bin/env bash
# Submits a whole textsaga workflow as dependent Slurm jobs (--dependency=afterok):
#
#   prepare (1 rank; the test set too, if any) -> plan -> vectorize -> fit -> evaluate
#
#   scripts/slurm/pipeline.sh CONFIG [--dry-run]
#
# CONFIG is a bash file of settings: scripts/slurm/pipeline.conf is the annotated template.
# Each job is sized by the sizing rule: with RANKS=auto a short `plan` job runs
# `textsaga plan` on the prepared corpus and submits vectorize, fit and evaluate at the ranks it
# recommends (at most MAX_RANKS, memory a rank MEM_PER_RANK_GB); with CORPUS= (no prepare) the
# plan runs here at once. The job ids go to WORKDIR/pipeline.jobs, one "stage id" a line, and
# each job's log to WORKDIR/logs. --dry-run prints the sbatch commands instead of running them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
self="$here/$(basename "$0")"
prog=pipeline.sh
die() { echo "$prog: error: $1" >&2; exit "${2:-1}"; }

config="" stage=submit dry=0
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) dry=1; shift ;;
        --after-prepare) stage=after-prepare; shift ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option '$1' (see --help)" 2 ;;
        *) [ -z "$config" ] || die "one CONFIG file, please (got '$config' and '$1')" 2; config=$1; shift ;;
    esac
done
[ -n "$config" ] || die "give the CONFIG file (template: $here/pipeline.conf)" 2
[ -f "$config" ] || die "no config file '$config'" 2
config=$(cd "$(dirname "$config")" && echo "$PWD/$(basename "$config")")

INPUT=() TEST_INPUT=() CORPUS="" PREPARE_FLAGS=() VECTORIZER_FLAGS=() FIT_FLAGS=() EVALUATE_FLAGS=()
SBATCH_FLAGS=() MODULES="" RANKS=auto MAX_RANKS=256 MEM_PER_RANK_GB=4 MAX_REQUEUES=5 WORKDIR=""
TIME_PREPARE=01:00:00 TIME_VECTORIZE=01:00:00 TIME_FIT=04:00:00 TIME_EVALUATE=00:30:00
# shellcheck source=/dev/null
source "$config"
[ -n "$WORKDIR" ] || die "$config: set WORKDIR (where the outputs go)"
[ ${#INPUT[@]} -gt 0 ] || [ -n "$CORPUS" ] || die "$config: set INPUT (raw records) or CORPUS (a prepared corpus.h5)"
[ "$RANKS" = auto ] || [[ "$RANKS" =~ ^[1-9][0-9]*$ ]] || die "$config: RANKS is a number or auto, not '$RANKS'"
[ -z "$MEM_PER_RANK_GB" ] || [[ "$MEM_PER_RANK_GB" =~ ^[1-9][0-9]*$ ]] || die "$config: MEM_PER_RANK_GB is a whole number of GB, not '$MEM_PER_RANK_GB'"
# Relative paths are the config file's folder's, whichever folder a stage runs in.
cd "$(dirname "$config")"
abs() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
for i in "${!INPUT[@]}"; do INPUT[i]=$(abs "${INPUT[i]}"); done
for i in "${!TEST_INPUT[@]}"; do TEST_INPUT[i]=$(abs "${TEST_INPUT[i]}"); done
[ -z "$CORPUS" ] || CORPUS=$(abs "$CORPUS")
mkdir -p "$WORKDIR/logs"
WORKDIR=$(cd "$WORKDIR" && pwd)
corpus=${CORPUS:-$WORKDIR/corpus.h5}
test_corpus=$corpus
[ ${#TEST_INPUT[@]} -eq 0 ] || test_corpus=$WORKDIR/test.h5
export TEXTSAGA_MODULES="$MODULES" TEXTSAGA_SLURM_DIR="$here"
# The jobs' own rules (job.sh): the binary they would find, the modules they load.
source "$here/job.sh"
ts_name=$prog
TEXTSAGA_BIN=$(ts_binary) || die "cannot find textsaga: set TEXTSAGA_BIN or put it on PATH"
export TEXTSAGA_BIN

# Submits one job; prints its id (or, with --dry-run, the command and a made-up id).
submit() {
    local stage=$1; shift
    local cmd=(sbatch --parsable --chdir "$WORKDIR" --output "$WORKDIR/logs/textsaga-$stage-%j.log" "${SBATCH_FLAGS[@]}" "$@")
    if [ "$dry" = 1 ]; then
        echo "$prog: would run: ${cmd[*]}" >&2
        echo "<$stage>"
        return
    fi
    local id
    if ! id=$("${cmd[@]}"); then
        # Nothing half-submitted: the jobs this run already queued would wait for nothing.
        [ -z "${queued[*]:-}" ] || scancel "${queued[@]}" 2>/dev/null || true
        die "sbatch refused the $stage job (above)${queued[*]:+; cancelled the jobs submitted before it: ${queued[*]}}"
    fi
    id=${id%%;*}
    queued+=("$id")
    echo "$stage $id" >> "$WORKDIR/pipeline.jobs"
    echo "$prog: submitted $stage as job $id" >&2
    echo "$id"
}

queued=()
mem=()
[ -z "$MEM_PER_RANK_GB" ] || mem=(--mem-per-cpu "$((MEM_PER_RANK_GB * 1024))M")

# After prepare: size the jobs from the corpus, then vectorize -> fit -> evaluate.
after_prepare() {
    local ranks=$RANKS plan vec fit solver=auto f
    if [ "$ranks" = auto ]; then
        # Size the fit by the mode it will run: a --Cs path runs SAGA; --solver names one.
        for ((f = 0; f < ${#FIT_FLAGS[@]}; f++)); do
            case "${FIT_FLAGS[f]}" in
                --Cs|--Cs=*) solver=saga ;;
                --solver) solver=${FIT_FLAGS[f + 1]:-auto} ;;
                --solver=*) solver=${FIT_FLAGS[f]#--solver=} ;;
            esac
        done
        ts_modules
        plan=$("$TEXTSAGA_BIN" plan --data "$corpus" --json --max-ranks "$MAX_RANKS" --mem-per-rank "${MEM_PER_RANK_GB:-4}" \
            --solver "$solver" "${VECTORIZER_FLAGS[@]}") || die "textsaga plan failed on $corpus (above)"
        [ "$dry" = 1 ] || echo "$plan" > "$WORKDIR/plan.json"
        ! grep -q '^  "fits_memory": null' <<< "$plan" \
            || die "no rank count up to MAX_RANKS=$MAX_RANKS holds this corpus in ${MEM_PER_RANK_GB:-4} GB a rank: raise MEM_PER_RANK_GB or MAX_RANKS (plan: $WORKDIR/plan.json)"
        ranks=$(sed -n 's/^  "recommended": \([0-9]*\),\{0,1\}$/\1/p' <<< "$plan")
        [ -n "$ranks" ] || die "textsaga plan gave no recommendation"
        echo "$prog: textsaga plan recommends $ranks ranks (WORKDIR/plan.json)" >&2
    fi
    vec=$(submit vectorize -n "$ranks" --time "$TIME_VECTORIZE" "${mem[@]}" "$here/vectorize.sbatch" \
        --data "$corpus" -o "$WORKDIR/features.h5" "${VECTORIZER_FLAGS[@]}")
    # Vectorize once: the fit (each point of a C path, each requeue) reads the rows vectorize wrote.
    fit=$(submit fit -n "$ranks" --time "$TIME_FIT" "${mem[@]}" --dependency "afterok:$vec" "$here/fit.sbatch" \
        --features "$WORKDIR/features.h5" --model "$WORKDIR/model.h5" --max-requeues "$MAX_REQUEUES" "${FIT_FLAGS[@]}")
    [ "$test_corpus" != "$corpus" ] || echo "$prog: no TEST_INPUT: evaluate scores the training corpus (an optimistic figure)" >&2
    submit evaluate -n "$ranks" --time "$TIME_EVALUATE" "${mem[@]}" --dependency "afterok:$fit" "$here/evaluate.sbatch" \
        --model "$WORKDIR/model.h5" --data "$test_corpus" "${EVALUATE_FLAGS[@]}" >/dev/null
}

if [ "$stage" = after-prepare ]; then
    after_prepare
    exit 0
fi
[ "$dry" = 1 ] || : > "$WORKDIR/pipeline.jobs"
if [ ${#INPUT[@]} -eq 0 ]; then
    [ -f "$corpus" ] || die "CORPUS=$corpus does not exist"
    after_prepare
    exit 0
fi
deps=$(submit prepare -n 1 --time "$TIME_PREPARE" "${mem[@]}" "$here/prepare.sbatch" "${INPUT[@]}" -o "$corpus" "${PREPARE_FLAGS[@]}")
if [ ${#TEST_INPUT[@]} -gt 0 ]; then
    deps+=:$(submit prepare-test -n 1 --time "$TIME_PREPARE" "${mem[@]}" "$here/prepare.sbatch" "${TEST_INPUT[@]}" -o "$test_corpus" "${PREPARE_FLAGS[@]}")
fi
args=("$self" --after-prepare "$config")
[ "$dry" = 0 ] || args+=(--dry-run)
submit plan -n 1 --time 00:10:00 --dependency "afterok:$deps" --wrap "$(printf '%q ' bash "${args[@]}")" >/dev/null
echo "$prog: the plan job submits vectorize, fit and evaluate once prepare is done; job ids in $WORKDIR/pipeline.jobs" >&2
