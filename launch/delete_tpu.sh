#!/usr/bin/env bash
# Delete a TPU VM (without asking: --quiet). Runs in its gs:// workdir are kept.
#
# Usage: launch/delete_tpu.sh --name=NAME --zone=ZONE [--project=P] [--dry-run]
#
# Example:
#   launch/delete_tpu.sh --name=ens-tpu --zone=us-central2-b
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NAME="" ZONE=""
for arg in "$@"; do
  case $arg in
    --name=*) NAME=${arg#*=} ;;
    --zone=*) ZONE=${arg#*=} ;;
    *) common_option "$arg" || unknown_option "$arg" ;;
  esac
done
require "$NAME" --name
require "$ZONE" --zone

tpu_vm delete "$NAME" --zone="$ZONE" --quiet
