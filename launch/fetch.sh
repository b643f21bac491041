#!/usr/bin/env bash
# Copy a run's results from its gs:// workdir to this machine: results.json, report.md and
# report.png (whichever exist), with `gcloud storage cp`.
#
# Usage: launch/fetch.sh --workdir=gs://BUCKET/RUN [--dest=results/RUN] [--dry-run]
#
# Everything else stays in the bucket: `gcloud storage ls -r gs://BUCKET/RUN`, and
# `gcloud storage cp -r` what you need (checkpoints/ can be large).
#
# Example:
#   launch/fetch.sh --workdir=gs://BUCKET/paper_wrn_28_2_c100
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

WORKDIR="" DEST=""
for arg in "$@"; do
  case $arg in
    --workdir=*) WORKDIR=${arg#*=} ;;
    --dest=*) DEST=${arg#*=} ;;
    *) common_option "$arg" || unknown_option "$arg" ;;
  esac
done
require "$WORKDIR" --workdir
WORKDIR=${WORKDIR%/}
DEST=${DEST:-results/$(basename "$WORKDIR")}

run mkdir -p "$DEST"
for file in results.json report.md report.png; do
  run gcloud storage cp "$WORKDIR/$file" "$DEST/" ${PROJECT:+"--project=$PROJECT"} ||
    echo "warning: no $WORKDIR/$file (is the run complete?)" >&2
done
