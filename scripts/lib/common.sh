# shellcheck shell=bash
# Shared by the scripts in scripts/: error and progress output, the aws CLI, terraform. The
# caller sets PROG.

die() {
  printf '%s: error: %s\n' "$PROG" "$1" >&2
  exit "${2:-1}"
}

usage_error() {
  printf '%s: error: %s (see --help)\n' "$PROG" "$1" >&2
  exit 2
}

log() { printf '[%s] %s\n' "$PROG" "$*" >&2; }

# The project root (scripts/lib/../..).
PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Sets aws_cli to the aws CLI to use: a global `aws` if there is one, else the project's own
# (awscli is a dev dependency: `make setup` puts it in .venv/bin/aws).
resolve_aws_cli() {
  if command -v aws >/dev/null 2>&1; then
    aws_cli="$(command -v aws)"
  elif [[ -x "$PROJECT_ROOT/.venv/bin/aws" ]]; then
    aws_cli="$PROJECT_ROOT/.venv/bin/aws"
  else
    die "no aws CLI: neither \`aws\` on PATH nor $PROJECT_ROOT/.venv/bin/aws; run \`make setup\` (it installs the project's own) or install the AWS CLI"
  fi
}

# Sets aws_opts from $region, $profile and $endpoint_url (the common flags of every script),
# and aws_cli.
set_aws_opts() {
  aws_opts=(--region "$region")
  [[ -z "$profile" ]] || aws_opts+=(--profile "$profile")
  [[ -z "$endpoint_url" ]] || aws_opts+=(--endpoint-url "$endpoint_url")
  resolve_aws_cli
}

# Runs the aws CLI with aws_opts.
awsc() { "$aws_cli" "${aws_opts[@]}" "$@"; }

# Runs terraform in $stack_dir. With --profile, AWS_PROFILE carries it to everything terraform
# does: the S3 backend (init, and reading or locking the state in plan, apply and destroy) and
# the provider.
tf() {
  if [[ -n "$profile" ]]; then
    AWS_PROFILE="$profile" terraform -chdir="$stack_dir" "$@"
  else
    terraform -chdir="$stack_dir" "$@"
  fi
}

# terraform init with the --backend-config values. With a profile, it joins them: the S3
# backend then records it and reads the state with it even where AWS_PROFILE is not set, and
# it wins over credentials in the environment, as --profile does for the aws CLI. Without
# --backend-config, init reuses the backend already configured in the stack directory (AWS_PROFILE
# still carries the profile).
tf_init() {
  local opts=(-input=false) bc
  for bc in "${backend_configs[@]}"; do opts+=("-backend-config=$bc"); done
  if [[ -n "$profile" && ${#backend_configs[@]} -gt 0 ]]; then
    opts+=("-backend-config=profile=$profile")
  fi
  tf init "${opts[@]}" >&2
}

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
