#!/usr/bin/env bash
# One command to deploy the platform (reports, file registry, table loader):
#   1. terraform init (the S3 backend, with --profile when given);
#   2. terraform apply of the ECR repository alone (-target): the function needs an image digest,
#      and the image needs a repository to be pushed to;
#   3. scripts/build_and_push.sh: build the arm64 image, push it, read its digest;
#   4. terraform apply of the whole stack with that image (by digest);
#   5. scripts/upload_sample.sh: upload the sample orders file and wait for its reports.
# Safe to run again: every step converges (an existing image tag is reused, not rebuilt).
set -euo pipefail

readonly PROG="deploy.sh"

usage() {
  cat <<'EOF'
Usage: scripts/deploy.sh --owner OWNER [--env ENV] [--region REGION] [--profile PROFILE]
                         [--backend-config FILE|KEY=VALUE]... [--var-file FILE]
                         [--name-prefix PREFIX] [--alarm-email EMAIL] [--tag TAG]
                         [--reserved-concurrency N] [--stack-dir DIR] [--endpoint-url URL]
                         [--sample-timeout SECONDS] [--auto-approve]

Deploys terraform/platform: ECR repository first, then the image (build and push),
then the whole stack with the image digest, then the sample upload test.

Options (environment variable in brackets):
  --owner OWNER          Owner tag on every resource            [TF_VAR_owner]
                         (may also come from --var-file or terraform.tfvars)
  --env ENV              environment, part of the names (default in the stack: dev)
  --region REGION        AWS region                             [AWS_REGION, AWS_DEFAULT_REGION]
  --profile PROFILE      AWS profile for the aws CLI and for terraform: the S3 state
                         backend (init, plan, apply) and the provider    [AWS_PROFILE]
  --backend-config X     passed to `terraform init -backend-config=X`; repeatable. A file
                         (bucket = "...", key = "...", region = "...", use_lockfile = true)
                         or KEY=VALUE. Needed on the first run in a working copy.
  --var-file FILE        extra terraform variables file
  --name-prefix PREFIX   prefix of every resource name (default: orders-pipeline-<env>)
  --alarm-email EMAIL    subscribe this address to the alarm topic
  --tag TAG              image tag (default: git short SHA of a clean work tree; with
                         uncommitted changes a --tag is required, see build_and_push.sh)
  --reserved-concurrency N
                         reserve N concurrent executions for the function (default: none;
                         needs an account concurrency quota of at least 100 + N)
  --stack-dir DIR        the Terraform root (default: terraform/platform)
  --endpoint-url URL     AWS endpoint override for the aws CLI steps (emulators)  [AWS_ENDPOINT_URL]
  --sample-timeout S     how long the sample upload test waits for the reports (default 180)
  --auto-approve         do not ask before each terraform apply
  -h, --help             show this help

Needs: terraform >= 1.11, docker with buildx, the aws CLI (on PATH, or the project's
.venv/bin/aws from `make setup`); see terraform/README.md.
EOF
}

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

root="$PROJECT_ROOT"
stack_dir="$root/terraform/platform"
owner="${TF_VAR_owner:-}"
env_name=""
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
profile="${AWS_PROFILE:-}"
endpoint_url="${AWS_ENDPOINT_URL:-}"
name_prefix=""
alarm_email=""
tag=""
var_file=""
sample_timeout=180
reserved_concurrency=""
auto_approve=false
backend_configs=()

while (($# > 0)); do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --auto-approve)
      auto_approve=true
      shift
      ;;
    --owner | --env | --region | --profile | --backend-config | --var-file | --name-prefix | \
      --alarm-email | --tag | --stack-dir | --endpoint-url | --sample-timeout | \
      --reserved-concurrency)
      (($# >= 2)) && [[ -n "$2" ]] || usage_error "$1 needs a value"
      case "$1" in
        --owner) owner="$2" ;;
        --env) env_name="$2" ;;
        --region) region="$2" ;;
        --profile) profile="$2" ;;
        --backend-config) backend_configs+=("$2") ;;
        --var-file) var_file="$2" ;;
        --name-prefix) name_prefix="$2" ;;
        --alarm-email) alarm_email="$2" ;;
        --tag) tag="$2" ;;
        --stack-dir) stack_dir="$2" ;;
        --endpoint-url) endpoint_url="$2" ;;
        --sample-timeout) sample_timeout="$2" ;;
        --reserved-concurrency) reserved_concurrency="$2" ;;
      esac
      shift 2
      ;;
    *) usage_error "unknown argument: $1" ;;
  esac
done

resolve_stack_args
if [[ -z "$owner" && -z "$var_file" && ! -f "$stack_dir/terraform.tfvars" ]]; then
  usage_error "missing --owner (or TF_VAR_owner, a --var-file or terraform.tfvars setting owner)"
fi
[[ "$sample_timeout" =~ ^[0-9]+$ ]] || usage_error "--sample-timeout must be a number of seconds"
if [[ -n "$reserved_concurrency" ]] && ! [[ "$reserved_concurrency" =~ ^[0-9]+$ && "$reserved_concurrency" -ge 2 ]]; then
  usage_error "--reserved-concurrency must be a whole number >= 2 (leave it out to reserve none)"
fi

command -v terraform >/dev/null 2>&1 ||
  die "terraform is not on PATH (see terraform/README.md, Prerequisites)"

# Terraform arguments shared by both applies.
tf_vars=(-var "region=$region")
[[ -z "$owner" ]] || tf_vars+=(-var "owner=$owner")
[[ -z "$env_name" ]] || tf_vars+=(-var "env=$env_name")
[[ -z "$profile" ]] || tf_vars+=(-var "aws_profile=$profile")
[[ -z "$name_prefix" ]] || tf_vars+=(-var "name_prefix=$name_prefix")
[[ -z "$alarm_email" ]] || tf_vars+=(-var "alarm_email=$alarm_email")
[[ -z "$reserved_concurrency" ]] || tf_vars+=(-var "reserved_concurrency=$reserved_concurrency")
[[ -z "$var_file" ]] || tf_vars+=(-var-file "$var_file")
apply_opts=(-input=false)
if [[ "$auto_approve" == true ]]; then apply_opts+=(-auto-approve); fi

# Options for the aws CLI based scripts (and the aws CLI itself: a global one, or .venv/bin/aws).
set_aws_opts

log "1/5 terraform init ($stack_dir)"
tf_init ||
  die "terraform init failed. On the first run pass --backend-config (see terraform/README.md, State)."

log "2/5 terraform apply: the ECR repository alone (the function needs an image first)"
tf apply "${apply_opts[@]}" "${tf_vars[@]}" -target=module.ecr >&2 ||
  die "terraform apply of the ECR repository failed"
repository="$(tf output -raw ecr_repository_name)" ||
  die "cannot read the ecr_repository_name output"

log "3/5 build and push the image to $repository"
build_opts=(--repository "$repository" "${aws_opts[@]}")
[[ -z "$tag" ]] || build_opts+=(--tag "$tag")
image_uri="$("$root/scripts/build_and_push.sh" "${build_opts[@]}" | tail -n 1)" ||
  die "scripts/build_and_push.sh failed"
[[ "$image_uri" =~ ^[^@[:space:]]+@sha256:[0-9a-f]{64}$ ]] ||
  die "scripts/build_and_push.sh did not print URI@sha256:<digest> (got '$image_uri')"

log "4/5 terraform apply: the whole stack with $image_uri"
tf apply "${apply_opts[@]}" "${tf_vars[@]}" -var "image_uri=$image_uri" >&2 ||
  die "terraform apply of the stack failed"
input_bucket="$(tf output -raw input_bucket)"
output_bucket="$(tf output -raw output_bucket)"

log "5/5 sample upload test: s3://$input_bucket -> s3://$output_bucket"
"$root/scripts/upload_sample.sh" --input-bucket "$input_bucket" --output-bucket "$output_bucket" \
  --timeout "$sample_timeout" "${aws_opts[@]}" ||
  die "the sample upload test failed: see the function's logs (/aws/lambda/$(tf output -raw function_name)) and the DLQ"

log "deployed: function $(tf output -raw function_name) (alias $(tf output -raw function_alias_arn), version $(tf output -raw function_version)), image $image_uri"
tf output >&2
