#!/usr/bin/env bash
# Tear the reports pipeline down: empty both buckets (every object version and delete marker:
# they are versioned) and the ECR repository, then terraform destroy. Asks first unless --yes.
set -euo pipefail

readonly PROG="destroy.sh"

usage() {
  cat <<'EOF_USAGE'
Usage: scripts/destroy.sh [--yes] [--region REGION] [--profile PROFILE] [--owner OWNER]
                          [--env ENV] [--name-prefix PREFIX] [--var-file FILE]
                          [--backend-config FILE|KEY=VALUE]... [--stack-dir DIR]
                          [--endpoint-url URL]

Deletes every object version and delete marker in the stack's input and output buckets and
every image in its ECR repository, then runs terraform destroy. Without --yes it shows what
will be deleted and asks for the name prefix to be typed.

Options (environment variable in brackets):
  --yes                  do not ask (CI)
  --region REGION        AWS region                              [AWS_REGION, AWS_DEFAULT_REGION]
  --profile PROFILE      AWS profile                             [AWS_PROFILE]
  --owner, --env, --name-prefix, --var-file
                         the values used to deploy (so Terraform evaluates the same names)
  --backend-config X     passed to terraform init; repeatable (as for deploy.sh)
  --stack-dir DIR        the Terraform root (default: terraform/reports_pipeline)
  --endpoint-url URL     AWS endpoint override for the aws CLI calls   [AWS_ENDPOINT_URL]
  -h, --help             show this help
EOF_USAGE
}

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stack_dir="$root/terraform/reports_pipeline"
owner="${TF_VAR_owner:-}"
env_name=""
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
profile="${AWS_PROFILE:-}"
endpoint_url="${AWS_ENDPOINT_URL:-}"
name_prefix=""
var_file=""
yes=false
backend_configs=()

while (($# > 0)); do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --yes | -y)
      yes=true
      shift
      ;;
    --owner | --env | --region | --profile | --backend-config | --var-file | --name-prefix | \
      --stack-dir | --endpoint-url)
      (($# >= 2)) && [[ -n "$2" ]] || usage_error "$1 needs a value"
      case "$1" in
        --owner) owner="$2" ;;
        --env) env_name="$2" ;;
        --region) region="$2" ;;
        --profile) profile="$2" ;;
        --backend-config) backend_configs+=("$2") ;;
        --var-file) var_file="$2" ;;
        --name-prefix) name_prefix="$2" ;;
        --stack-dir) stack_dir="$2" ;;
        --endpoint-url) endpoint_url="$2" ;;
      esac
      shift 2
      ;;
    *) usage_error "unknown argument: $1" ;;
  esac
done

resolve_stack_args
for tool in terraform aws; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not on PATH"
done

set_aws_opts
tf() { terraform -chdir="$stack_dir" "$@"; }

init_opts=(-input=false)
for bc in "${backend_configs[@]}"; do init_opts+=("-backend-config=$bc"); done
tf init "${init_opts[@]}" >&2 || die "terraform init failed (pass the --backend-config used to deploy)"

# Reads one output; empty when the state does not have it (nothing deployed, or half deployed).
output() { tf output -raw "$1" 2>/dev/null || true; }
prefix="$(output name_prefix)"
input_bucket="$(output input_bucket)"
output_bucket="$(output output_bucket)"
repository="$(output ecr_repository_name)"
image_uri="$(output image_uri)"

if [[ -z "$prefix$repository" ]]; then
  log "the state has no outputs: nothing seems deployed; running terraform destroy anyway"
fi

if [[ "$yes" != true ]]; then
  [[ -t 0 ]] || die "not a terminal: pass --yes to destroy without a prompt"
  printf 'This deletes EVERY object version in %s and %s, every image in ECR repository %s,\nand every resource of the stack %s (%s).\n' \
    "${input_bucket:-?}" "${output_bucket:-?}" "${repository:-?}" "${prefix:-?}" "$stack_dir" >&2
  read -r -p "Type the name prefix (${prefix:-yes}) to continue: " answer
  [[ "$answer" == "${prefix:-yes}" ]] || die "not confirmed; nothing deleted"
fi

# Deletes all versions and delete markers, 1000 keys per request.
empty_bucket() {
  local bucket="$1" batch
  if ! awsc s3api head-bucket --bucket "$bucket" >/dev/null 2>&1; then
    log "bucket $bucket not found: nothing to empty"
    return 0
  fi
  log "emptying s3://$bucket (all versions and delete markers)"
  while true; do
    batch="$(awsc s3api list-object-versions --bucket "$bucket" --max-items 1000 --output json \
      --query '{Objects: [Versions[].{Key: Key, VersionId: VersionId}, DeleteMarkers[].{Key: Key, VersionId: VersionId}][]}')"
    if [[ -z "$batch" || "$batch" == *'"Objects": []'* || "$batch" == *'"Objects": null'* ]]; then
      break
    fi
    awsc s3api delete-objects --bucket "$bucket" --delete "${batch%\}}, \"Quiet\": true}" >/dev/null
  done
}

[[ -z "$input_bucket" ]] || empty_bucket "$input_bucket"
[[ -z "$output_bucket" ]] || empty_bucket "$output_bucket"

if [[ -n "$repository" ]]; then
  log "deleting the images in ECR repository $repository"
  while true; do
    ids="$(awsc ecr list-images --repository-name "$repository" --max-items 100 --output json \
      --query 'imageIds[].{imageDigest: imageDigest}' 2>/dev/null || echo '[]')"
    [[ -n "$ids" && "$ids" != "[]" && "$ids" != "null" ]] || break
    awsc ecr batch-delete-image --repository-name "$repository" --image-ids "$ids" >/dev/null
  done
fi

tf_vars=(-var "region=$region" -var "owner=${owner:-destroy}")
[[ -z "$env_name" ]] || tf_vars+=(-var "env=$env_name")
[[ -z "$profile" ]] || tf_vars+=(-var "aws_profile=$profile")
[[ -z "$name_prefix" ]] || tf_vars+=(-var "name_prefix=$name_prefix")
[[ -z "$var_file" ]] || tf_vars+=(-var-file "$var_file")
[[ -z "$image_uri" ]] || tf_vars+=(-var "image_uri=$image_uri")

log "terraform destroy"
tf destroy -input=false -auto-approve "${tf_vars[@]}" >&2 || die "terraform destroy failed"
log "destroyed"
