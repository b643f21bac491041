#!/usr/bin/env bash
# Install ens_kd_tf on every worker of a TPU VM, into ~/ens_kd_tf (replaced if present).
#
# Usage: launch/setup_tpu.sh --name=NAME --zone=ZONE [--repo=URL [--branch=REF]]
#          [--worker=all] [--project=P] [--dry-run]
#
#   default     copy this local checkout (uncommitted changes included; .git, .venv and
#               caches left out): tar it, `gcloud compute tpus tpu-vm scp --worker=all`,
#               unpack on each worker
#   --repo=URL  `git clone --depth=1 URL` on each worker instead (--branch: a branch or tag)
#
# Then on each worker, as README "GPU and TPU" says (user site-packages, system python3):
#   pip install -e '.[tpu]' && pip install --force-reinstall --no-deps 'tensorflow-tpu==2.20.0'
# (2.20.0 is the newest tensorflow-tpu: TensorFlow 2.21 has no TPU wheel.)
#
# Example:
#   launch/setup_tpu.sh --name=ens-tpu --zone=us-central2-b
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Google publishes TensorFlow's libtpu builds on this index, next to PyPI's libtpu.
LIBTPU_INDEX=https://storage.googleapis.com/libtpu-tf-releases/index.html
TF_TPU='tensorflow-tpu==2.20.0'

NAME="" ZONE="" REPO="" BRANCH="" WORKER=all
for arg in "$@"; do
  case $arg in
    --name=*) NAME=${arg#*=} ;;
    --zone=*) ZONE=${arg#*=} ;;
    --repo=*) REPO=${arg#*=} ;;
    --branch=*) BRANCH=${arg#*=} ;;
    --worker=*) WORKER=${arg#*=} ;;
    *) common_option "$arg" || unknown_option "$arg" ;;
  esac
done
require "$NAME" --name
require "$ZONE" --zone
require "$WORKER" --worker
[[ -z $BRANCH || -n $REPO ]] || die "--branch needs --repo=URL"

install="cd $REMOTE_DIR"
install+=" && python3 -m pip install --upgrade pip"
install+=" && python3 -m pip install -e '.[tpu]' -f $LIBTPU_INDEX"
install+=" && python3 -m pip install --force-reinstall --no-deps '$TF_TPU' -f $LIBTPU_INDEX"
install+=" && TPU_LOAD_LIBRARY=0 python3 -c 'import ens_kd_tf, tensorflow as tf;"
install+=" print(\"ens_kd_tf installed with TensorFlow\", tf.__version__)'"

if [[ -n $REPO ]]; then
  clone=(git clone --depth=1 ${BRANCH:+"--branch=$BRANCH"} "$REPO" "$REMOTE_DIR")
  fetch="rm -rf $REMOTE_DIR && $(quote_words "${clone[@]}")"
else
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  tarball="${TMPDIR:-/tmp}/ens_kd_tf_src.tgz"
  run tar -czf "$tarball" --exclude=./.git --exclude=./.venv --exclude=./build \
    --exclude=./dist --exclude='*.egg-info' --exclude=__pycache__ --exclude=.pytest_cache \
    --exclude=.ruff_cache -C "$root" .
  tpu_vm scp "$tarball" "$NAME:ens_kd_tf_src.tgz" --zone="$ZONE" --worker="$WORKER"
  fetch="rm -rf $REMOTE_DIR && mkdir $REMOTE_DIR && tar -xzf ens_kd_tf_src.tgz -C $REMOTE_DIR"
fi
note "on each worker: $fetch && $install"
tpu_vm ssh "$NAME" --zone="$ZONE" --worker="$WORKER" --command="$fetch && $install"
