# shellcheck shell=bash
# Helpers sourced by the launch/*.sh scripts (not run on its own): help text from the
# script's header comment, the options every script takes (--dry-run, --project=P, -h),
# `run` (execute a command, or only print it with --dry-run) and one-line usage errors.
# With --dry-run, stdout holds one `+ command` line per command (printf %q quoting, so
# it can be pasted into bash) and `# ...` comment lines, nothing else.
#
# Example, in a script:
#   source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
#   for arg in "$@"; do
#     case $arg in
#       --name=*) NAME=${arg#*=} ;;
#       *) common_option "$arg" || unknown_option "$arg" ;;
#     esac
#   done
#   require "$NAME" --name
#   tpu_vm delete "$NAME" --zone="$ZONE" --quiet

# shellcheck disable=SC2034  # used by the scripts that source this file
REMOTE_DIR=ens_kd_tf     # the package checkout on every worker, under $HOME
# shellcheck disable=SC2034
LOG_DIR=ens_kd_tf_logs   # run logs on every worker, under $HOME
DRY_RUN=0
PROJECT=""

# The script's help: its header comment (after the #! line, up to the first other line).
usage() {
  awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
}

# One line on stderr, exit code 2 (bad usage), like `python -m ens_kd_tf.main`.
die() {
  echo "$(basename "$0"): error: $*" >&2
  exit 2
}

unknown_option() {
  die "unknown option '$1' (values go as --option=VALUE; see $(basename "$0") -h)"
}

# common_option ARG: handles --dry-run, --project=P and -h; returns 1 for anything else.
common_option() {
  case $1 in
    --dry-run) DRY_RUN=1 ;;
    --project=*) PROJECT=${1#*=} ;;
    -h | --help) usage; exit 0 ;;
    *) return 1 ;;
  esac
}

# require VALUE OPTION: a required option must be given and non-empty.
require() {
  [[ -n $1 ]] || die "missing required option $2"
}

# require_count VALUE OPTION: a positive integer.
require_count() {
  [[ $1 =~ ^[1-9][0-9]*$ ]] || die "$2 must be a positive integer, got '$1'"
}

# run CMD ARGS...: prints "+ cmd args" shell-quoted (printf %q, so it can be pasted into a
# shell); with --dry-run on stdout and nothing else, otherwise on stderr, then runs it.
run() {
  local line
  line="+$(printf ' %q' "$@")"
  if ((DRY_RUN)); then
    echo "$line"
  else
    echo "$line" >&2
    "$@"
  fi
}

# note TEXT: with --dry-run, "# TEXT" on stdout (e.g. a remote command, readable); else nothing.
note() {
  if ((DRY_RUN)); then echo "# $*"; fi
}

# tpu_vm SUBCOMMAND ARGS...: `gcloud compute tpus tpu-vm ...` through run, plus --project.
tpu_vm() {
  run gcloud compute tpus tpu-vm "$@" ${PROJECT:+"--project=$PROJECT"}
}

# quote_words ARGS...: the arguments as one shell-quoted string (for a remote --command).
quote_words() {
  local out
  out=$(printf '%q ' "$@")
  echo "${out% }"
}
