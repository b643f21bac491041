#!/usr/bin/env bash
# Runs ON a TPU VM worker (started by `launch/run.sh --until-done`): reruns a command after a
# crash until DONE (a results.json, local or gs://) says "complete": true. The package
# resumes from its last checkpoint, so a rerun continues the run. Exit codes 2 (bad input)
# and 3 (a run that cannot go on, e.g. NaN loss) of `python -m ens_kd_tf.main` are final.
#
# Usage: launch/until_done.sh --done=PATH [--max-attempts=20] [--retry-delay=60] [--dry-run]
#          -- CMD...
#
# Example (on the VM, from ~/ens_kd_tf):
#   launch/until_done.sh --done=gs://BUCKET/run/results.json -- \
#     python3 -m ens_kd_tf.main --config=configs/paper.py:cifar100,wrn_28_2,tpu \
#     --workdir=gs://BUCKET/run
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DONE="" MAX_ATTEMPTS=20 RETRY_DELAY=60
while (($#)); do
  case $1 in
    --done=*) DONE=${1#*=} ;;
    --max-attempts=*) MAX_ATTEMPTS=${1#*=} ;;
    --retry-delay=*) RETRY_DELAY=${1#*=} ;;
    --) shift; break ;;
    *) common_option "$1" || unknown_option "$1" ;;
  esac
  shift
done
require "$DONE" --done
require_count "$MAX_ATTEMPTS" --max-attempts
[[ $RETRY_DELAY =~ ^[0-9]+$ ]] || die "--retry-delay must be a number of seconds"
(($#)) || die "missing the command to run after --"
if ((DRY_RUN)); then run "$@"; exit 0; fi  # the command it would run (until done)

# Exit 0 when $1 holds JSON with "complete": true. gs:// goes through tf.io.gfile, without
# letting TensorFlow grab the TPU (TPU_LOAD_LIBRARY=0).
is_done() {
  TPU_LOAD_LIBRARY=0 TF_CPP_MIN_LOG_LEVEL=3 python3 - "$1" 2>/dev/null <<'EOF'
import json, sys
path = sys.argv[1]
if "://" in path:
    import tensorflow as tf
    opener = tf.io.gfile.GFile
else:
    opener = open
with opener(path, "r") as f:
    sys.exit(0 if json.loads(f.read()).get("complete") is True else 1)
EOF
}

say() { echo "[until_done $(date -u '+%Y-%m-%d %H:%M:%S')] $*"; }

attempt=0
while ! is_done "$DONE"; do
  if ((attempt >= MAX_ATTEMPTS)); then
    say "giving up: $DONE is still not complete after $MAX_ATTEMPTS attempts"
    exit 1
  fi
  attempt=$((attempt + 1))
  say "attempt $attempt/$MAX_ATTEMPTS: $*"
  rc=0
  "$@" || rc=$?
  case $rc in
    0) is_done "$DONE" && break
       say "the command succeeded but $DONE is not complete; stopping"
       exit 1 ;;
    2 | 3) say "exit code $rc (bad input, or a run that cannot go on): not retrying"
       exit "$rc" ;;
    *) say "exit code $rc; retrying in ${RETRY_DELAY}s"
       sleep "$RETRY_DELAY" ;;
  esac
done
say "done: $DONE is complete"
