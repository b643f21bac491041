#!/usr/bin/env bash
# Train the L members of an ensemble in parallel, member i on its own TPU VM, all into one
# gs:// workdir (configs/ensemble.py with --config.member=i: member i only, seed + i, in
# WORKDIR/members/seed_<seed + i>/). Then prints the command that evaluates the ensemble
# once every member is done. The VMs must exist and be set up (create_tpu.sh, setup_tpu.sh).
#
# Usage: launch/train_members.sh (--name=PREFIX --num-members=L | --names=VM0,VM1,...)
#          --zone=ZONE --workdir=gs://BUCKET/RUN
#          [--config=configs/ensemble.py:cifar100,wrn_28_10,tpu] [--config.FIELD=VALUE ...]
#          [--until-done] [--max-attempts=20] [--project=P] [--dry-run]
#
#   --name=PREFIX  VMs PREFIX-0 ... PREFIX-(L-1)
#   --names=...    one VM per member, in member order (L = how many)
#   the other options as in launch/run.sh; do not set --config.member or
#   --config.ensemble.num_members yourself
#
# Example:
#   launch/train_members.sh --name=ens --num-members=10 --zone=us-central2-b \
#     --workdir=gs://BUCKET/ens_wrn_28_10_c100 --config.data.data_dir=gs://BUCKET/tfds --until-done
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PREFIX="" NAMES="" NUM_MEMBERS="" ZONE="" WORKDIR="" SEED=0
CONFIG=configs/ensemble.py:cifar100,wrn_28_10,tpu
passed=() overrides=() dry=()   # options run.sh gets as they are; --config.* overrides
for arg in "$@"; do
  case $arg in
    --name=*) PREFIX=${arg#*=} ;;
    --names=*) NAMES=${arg#*=} ;;
    --num-members=*) NUM_MEMBERS=${arg#*=} ;;
    --zone=*) ZONE=${arg#*=} ;;
    --workdir=*) WORKDIR=${arg#*=} ;;
    --config=*) CONFIG=${arg#*=} ;;
    --config.member=* | --config.ensemble.num_members=*)
      die "$arg is set by this script (use --num-members or --names)" ;;
    --config.seed=*) SEED=${arg#*=}; overrides+=("$arg") ;;
    --config.*=*) overrides+=("$arg") ;;
    --until-done | --max-attempts=* | --project=*) passed+=("$arg") ;;
    --dry-run) dry=(--dry-run) ;;
    *) common_option "$arg" || unknown_option "$arg" ;;
  esac
done
require "$ZONE" --zone
require "$WORKDIR" --workdir
[[ $CONFIG == configs/ensemble.py* ]] || die "--config must be configs/ensemble.py[:PRESETS]"
[[ $SEED =~ ^[0-9]+$ ]] || die "--config.seed must be a non-negative integer"
[[ -z $PREFIX || -z $NAMES ]] || die "give --name=PREFIX or --names=..., not both"
if [[ -n $NAMES ]]; then
  IFS=, read -r -a vms <<< "$NAMES"
  NUM_MEMBERS=${NUM_MEMBERS:-${#vms[@]}}
  ((NUM_MEMBERS == ${#vms[@]})) || die "--num-members=$NUM_MEMBERS but --names has ${#vms[@]}"
else
  require "$PREFIX" "--name (or --names)"
  require "$NUM_MEMBERS" --num-members
  require_count "$NUM_MEMBERS" --num-members
  vms=()
  for ((i = 0; i < NUM_MEMBERS; i++)); do vms+=("$PREFIX-$i"); done
fi
require_count "$NUM_MEMBERS" --num-members
WORKDIR=${WORKDIR%/}
here=$(dirname "${BASH_SOURCE[0]}")

for ((i = 0; i < NUM_MEMBERS; i++)); do
  bash "$here/run.sh" --name="${vms[i]}" --zone="$ZONE" --config="$CONFIG" \
    --workdir="$WORKDIR" --run-name="$(basename "$WORKDIR")-member$i" \
    --done-file="members/seed_$((SEED + i))/results.json" ${dry[@]+"${dry[@]}"} \
    ${passed[@]+"${passed[@]}"} \
    ${overrides[@]+"${overrides[@]}"} --config.ensemble.num_members="$NUM_MEMBERS" \
    --config.member="$i"
done

final=(launch/run.sh --name="${vms[0]}" --zone="$ZONE" --config="$CONFIG" --workdir="$WORKDIR"
  ${passed[@]+"${passed[@]}"} ${overrides[@]+"${overrides[@]}"}
  --config.ensemble.num_members="$NUM_MEMBERS")
echo "# When all $NUM_MEMBERS members are done (gcloud storage ls" \
  "'$WORKDIR/members/seed_*/results.json' lists $NUM_MEMBERS files), evaluate the ensemble:"
quote_words "${final[@]}"
