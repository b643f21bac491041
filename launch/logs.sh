#!/usr/bin/env bash
# Show the log of a run started by launch/run.sh (on worker 0 unless --worker=N): the last
# lines, then follows it (Ctrl-C stops following; the run goes on).
#
# Usage: launch/logs.sh --name=NAME --zone=ZONE [--run=RUN] [--worker=0] [--lines=100]
#          [--no-follow] [--project=P] [--dry-run]
#
#   --run   the run name (run.sh --run-name; default the workdir's last path component);
#           without it, the newest log on the worker
#
# Example:
#   launch/logs.sh --name=ens-tpu --zone=us-central2-b --run=paper_wrn_28_2_c100
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NAME="" ZONE="" RUN_NAME="" WORKER=0 LINES=100 FOLLOW=-F
for arg in "$@"; do
  case $arg in
    --name=*) NAME=${arg#*=} ;;
    --zone=*) ZONE=${arg#*=} ;;
    --run=*) RUN_NAME=${arg#*=} ;;
    --worker=*) WORKER=${arg#*=} ;;
    --lines=*) LINES=${arg#*=} ;;
    --no-follow) FOLLOW="" ;;
    *) common_option "$arg" || unknown_option "$arg" ;;
  esac
done
require "$NAME" --name
require "$ZONE" --zone
[[ $WORKER =~ ^[0-9]+$ ]] || die "--worker must be a worker number (0, 1, ...)"
require_count "$LINES" --lines

if [[ -n $RUN_NAME ]]; then
  log="$LOG_DIR/$(quote_words "$RUN_NAME").log"
else
  # shellcheck disable=SC2016  # expanded on the worker
  log='"$(ls -t '"$LOG_DIR"'/*.log | head -n 1)"'
fi
remote="cd ~ && tail -n $LINES ${FOLLOW:+$FOLLOW }$log"
tpu_vm ssh "$NAME" --zone="$ZONE" --worker="$WORKER" --command="$remote"
