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

# Sets aws_opts from $region, $profile and $endpoint_url (the common flags of every script).
set_aws_opts() {
  aws_opts=(--region "$region")
  [[ -z "$profile" ]] || aws_opts+=(--profile "$profile")
  [[ -z "$endpoint_url" ]] || aws_opts+=(--endpoint-url "$endpoint_url")
}

# Runs the aws CLI with aws_opts.
awsc() { aws "${aws_opts[@]}" "$@"; }

# Prints FILE's absolute path (FILE must exist).
abs_path() { printf '%s/%s\n' "$(cd "$(dirname "$1")" && pwd)" "$(basename "$1")"; }

# deploy.sh and destroy.sh: checks $region, $stack_dir, $var_file and the backend_configs
# array, and makes their paths absolute (terraform runs with -chdir).
resolve_stack_args() {
  local i bc
  [[ -n "$region" ]] || usage_error "missing --region (or env AWS_REGION / AWS_DEFAULT_REGION)"
  [[ -d "$stack_dir" ]] || usage_error "stack directory not found: $stack_dir"
  stack_dir="$(cd "$stack_dir" && pwd)"
  if [[ -n "$var_file" ]]; then
    [[ -f "$var_file" ]] || usage_error "--var-file not found: $var_file"
    var_file="$(abs_path "$var_file")"
  fi
  for i in "${!backend_configs[@]}"; do
    bc="${backend_configs[$i]}"
    if [[ "$bc" != *=* ]]; then
      [[ -f "$bc" ]] || usage_error "--backend-config file not found: $bc"
      backend_configs[i]="$(abs_path "$bc")"
    fi
  done
}
