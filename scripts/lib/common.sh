# shellcheck shell=bash
# Shared by the scripts in scripts/: error and progress output. The caller sets PROG.

die() {
  printf '%s: error: %s\n' "$PROG" "$1" >&2
  exit "${2:-1}"
}

usage_error() {
  printf '%s: error: %s (see --help)\n' "$PROG" "$1" >&2
  exit 2
}

log() { printf '[%s] %s\n' "$PROG" "$*" >&2; }
