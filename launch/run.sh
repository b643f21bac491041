#!/usr/bin/env bash
# Run any config on every worker of a TPU VM, in the background (nohup), logging to
# ~/ens_kd_tf_logs/<run>.log on each worker; returns once the run has started.
#
# Usage: launch/run.sh --name=NAME --zone=ZONE --config=configs/FILE.py[:PRESETS]
#          --workdir=gs://BUCKET/RUN [--config.FIELD=VALUE ...] [--until-done]
#          [--max-attempts=20] [--retry-delay=60] [--done-file=results.json]
#          [--run-name=RUN] [--worker=all] [--project=P] [--dry-run]
#
#   --config.FIELD=VALUE  passed on to `python -m ens_kd_tf.main` (any number of them)
#   --until-done          rerun after a crash (launch/until_done.sh on the VM) until
#                         WORKDIR/DONE_FILE says "complete": true, at most --max-attempts
#                         times; the package resumes from its last checkpoint
#   --done-file           the file under WORKDIR that ends --until-done (default results.json)
#   --run-name            log name (default: the workdir's last path component)
#
# A spot VM that is preempted is gone, with its processes: recreate it, set it up and run
# the same command again (launch/README.md, "Crashes and preemption"); the run resumes.
#
# Example:
#   launch/run.sh --name=ens-tpu --zone=us-central2-b \
#     --config=configs/paper.py:cifar100,wrn_28_2,tpu --workdir=gs://BUCKET/paper_wrn_28_2_c100 \
#     --config.data.data_dir=gs://BUCKET/tfds --config.ensemble.num_members=10 --until-done
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NAME="" ZONE="" CONFIG="" WORKDIR="" RUN_NAME="" WORKER=all
UNTIL_DONE=0 MAX_ATTEMPTS=20 RETRY_DELAY=60 DONE_FILE=results.json
overrides=()
for arg in "$@"; do
  case $arg in
    --name=*) NAME=${arg#*=} ;;
    --zone=*) ZONE=${arg#*=} ;;
    --config=*) CONFIG=${arg#*=} ;;
    --config.*=*) overrides+=("$arg") ;;
    --workdir=*) WORKDIR=${arg#*=} ;;
    --run-name=*) RUN_NAME=${arg#*=} ;;
    --worker=*) WORKER=${arg#*=} ;;
    --until-done) UNTIL_DONE=1 ;;
    --max-attempts=*) MAX_ATTEMPTS=${arg#*=} ;;
    --retry-delay=*) RETRY_DELAY=${arg#*=} ;;
    --done-file=*) DONE_FILE=${arg#*=} ;;
    *) common_option "$arg" || unknown_option "$arg" ;;
  esac
done
require "$NAME" --name
require "$ZONE" --zone
require "$CONFIG" --config
require "$WORKDIR" --workdir
require "$WORKER" --worker
require_count "$MAX_ATTEMPTS" --max-attempts
[[ $RETRY_DELAY =~ ^[0-9]+$ ]] || die "--retry-delay must be a number of seconds"
WORKDIR=${WORKDIR%/}
RUN_NAME=${RUN_NAME:-$(basename "$WORKDIR")}
[[ $RUN_NAME =~ ^[A-Za-z0-9._-]+$ ]] || die "--run-name must be letters, digits, . _ -"
if [[ $WORKDIR != gs://* ]]; then
  echo "warning: --workdir=$WORKDIR is not gs://: it lives on the VM's disk, which a" \
    "preemption deletes, and multi-host workers do not share it" >&2
fi

command=(python3 -m ens_kd_tf.main "--config=$CONFIG" "--workdir=$WORKDIR"
  ${overrides[@]+"${overrides[@]}"})
if ((UNTIL_DONE)); then
  command=(bash launch/until_done.sh "--done=$WORKDIR/$DONE_FILE" "--max-attempts=$MAX_ATTEMPTS"
    "--retry-delay=$RETRY_DELAY" -- "${command[@]}")
fi
log="\$HOME/$LOG_DIR/$RUN_NAME.log"
remote="cd ~/$REMOTE_DIR && mkdir -p ~/$LOG_DIR"
remote+=" && { nohup $(quote_words "${command[@]}") >> $log 2>&1 < /dev/null & }"
remote+=" && echo \"started $RUN_NAME on \$(hostname), log: $log\""
note "on each worker: $remote"
tpu_vm ssh "$NAME" --zone="$ZONE" --worker="$WORKER" --command="$remote"
