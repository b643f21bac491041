#!/usr/bin/env bash
# Create a Cloud TPU VM (gcloud compute tpus tpu-vm create).
#
# Usage: launch/create_tpu.sh --name=NAME --zone=ZONE [--accelerator-type=v4-8]
#          [--version=tpu-ubuntu2204-base] [--spot | --preemptible] [--project=P] [--dry-run]
#
#   --accelerator-type  v4-8 (4 chips, one host), v4-16 (two hosts), v5litepod-8, ...
#   --version           TPU software version: tpu-ubuntu2204-base for v4,
#                       v2-alpha-tpuv5-lite for v5e (gcloud compute tpus versions list)
#   --spot              Spot VM: much cheaper, can be preempted at any time
#   --preemptible       the older preemptible TPU (also stopped after 24 h)
#   --dry-run           print the gcloud command instead of running it
#
# Example:
#   launch/create_tpu.sh --name=ens-tpu --zone=us-central2-b --accelerator-type=v4-8 --spot
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NAME="" ZONE="" TYPE=v4-8 VERSION=tpu-ubuntu2204-base MODE=""
for arg in "$@"; do
  case $arg in
    --name=*) NAME=${arg#*=} ;;
    --zone=*) ZONE=${arg#*=} ;;
    --accelerator-type=*) TYPE=${arg#*=} ;;
    --version=*) VERSION=${arg#*=} ;;
    --spot | --preemptible)
      [[ -z $MODE || $MODE == "$arg" ]] || die "--spot and --preemptible exclude each other"
      MODE=$arg ;;
    *) common_option "$arg" || unknown_option "$arg" ;;
  esac
done
require "$NAME" --name
require "$ZONE" --zone
require "$TYPE" --accelerator-type
require "$VERSION" --version

tpu_vm create "$NAME" --zone="$ZONE" --accelerator-type="$TYPE" --version="$VERSION" ${MODE:+"$MODE"}
