#!/usr/bin/env bash
# Tear the platform down: empty its buckets (every object version and delete marker:
# they are versioned) and the ECR repository, then terraform destroy. Works at every stage,
# including a half-deployed stack (the key and the repository, no image, no function). Asks
# first unless --yes.
set -euo pipefail

readonly PROG="destroy.sh"

usage() {
  cat <<'EOF_USAGE'
Usage: scripts/destroy.sh [--yes] [--region REGION] [--profile PROFILE] [--owner OWNER]
                          [--env ENV] [--name-prefix PREFIX] [--var-file FILE]
                          [--backend-config FILE|KEY=VALUE]... [--stack-dir DIR]
                          [--endpoint-url URL]

Deletes every object version and delete marker in the stack's buckets (input, partner feed,
output, audit trail) and every image in its ECR repository, then runs terraform destroy. Without --yes it
shows what will be deleted and asks for the name prefix to be typed. Stops with an error,
deleting nothing more, when S3 or ECR refuses to delete something.

Options (environment variable in brackets):
  --yes                  do not ask (CI)
  --region REGION        AWS region                              [AWS_REGION, AWS_DEFAULT_REGION]
  --profile PROFILE      AWS profile for the aws CLI and for terraform (state backend and
                         provider)                               [AWS_PROFILE]
  --owner, --env, --name-prefix, --var-file
                         the values used to deploy (so Terraform evaluates the same names)
  --backend-config X     passed to terraform init; repeatable (as for deploy.sh)
  --stack-dir DIR        the Terraform root (default: terraform/platform)
  --endpoint-url URL     AWS endpoint override for the aws CLI calls   [AWS_ENDPOINT_URL]
  -h, --help             show this help

Needs: terraform >= 1.11; the aws CLI (on PATH, or the project's .venv/bin/aws).
EOF_USAGE
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
command -v terraform >/dev/null 2>&1 || die "terraform is not on PATH"
set_aws_opts

tf_init || die "terraform init failed (pass the --backend-config used to deploy)"

# Reads one output; empty when the state does not have it (nothing deployed, or half deployed).
output() {
  local value
  value="$(tf output -raw "$1" 2>/dev/null)" || return 0
  [[ "$value" == "null" ]] || printf '%s\n' "$value"
}
prefix="$(output name_prefix)"
buckets=()
for name in input_bucket partner_feed_bucket output_bucket audit_bucket; do
  bucket="$(output "$name")"
  [[ -z "$bucket" ]] || buckets+=("$bucket")
done
repository="$(output ecr_repository_name)"

if [[ -z "$prefix$repository" ]]; then
  log "the state has no outputs: nothing seems deployed; running terraform destroy anyway"
fi

if [[ "$yes" != true ]]; then
  [[ -t 0 ]] || die "not a terminal: pass --yes to destroy without a prompt"
  printf 'This deletes EVERY object version in %s, every image in ECR repository %s,\nand every resource of the stack %s (%s).\n' \
    "${buckets[*]:-(no bucket)}" "${repository:-?}" "${prefix:-?}" "$stack_dir" >&2
  read -r -p "Type the name prefix (${prefix:-yes}) to continue: " answer
  [[ "$answer" == "${prefix:-yes}" ]] || die "not confirmed; nothing deleted"
fi

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT

# Deletes every version and delete marker of bucket $1. One listing page holds at most 1,000
# entries, versions and delete markers together (S3's MaxKeys counts both), and the batch is
# cut to 1,000 again (DeleteObjects' limit) whatever the listing returned. Every key S3 could
# not delete stops the script: the next listing would return it again, for ever.
empty_bucket() {
  local bucket="$1" batch="$workdir/batch.json" previous="$workdir/previous.json" errors deleted=0 n
  local out rc=0
  out="$(awsc s3api head-bucket --bucket "$bucket" 2>&1)" || rc=$?
  if ((rc != 0)); then
    if [[ "$out" == *"(404)"* || "$out" == *NoSuchBucket* || "$out" == *"Not Found"* ]]; then
      log "bucket $bucket not found: nothing to empty"
      return 0
    fi
    printf '%s\n' "$out" >&2
    die "cannot access s3://$bucket (above); nothing was deleted from it"
  fi
  # shellcheck disable=SC2016 # `true` is a JMESPath literal, not a command substitution
  local query='{Objects: [Versions[].{Key: Key, VersionId: VersionId}, DeleteMarkers[].{Key: Key, VersionId: VersionId}][] | [:1000], Quiet: `true`}'
  log "emptying s3://$bucket (all versions and delete markers)"
  rm -f "$previous"
  while true; do
    awsc s3api list-object-versions --bucket "$bucket" --max-keys 1000 --output json \
      --query "$query" >"$batch" || die "cannot list the object versions of s3://$bucket"
    grep -q '^ *"Key": ' "$batch" || break
    if [[ -f "$previous" ]] && cmp -s "$batch" "$previous"; then
      die "s3://$bucket still lists the same versions after deleting them; nothing more was deleted"
    fi
    n="$(grep -c '^ *"Key": ' "$batch")"
    errors="$(awsc s3api delete-objects --bucket "$bucket" --delete "file://$batch" \
      --query 'Errors[].[Key, VersionId, Code, Message]' --output text)" ||
      die "DeleteObjects failed on s3://$bucket"
    if [[ -n "$errors" && "$errors" != "None" ]]; then
      printf '%s\n' "$errors" | head -n 20 >&2
      die "S3 refused to delete $(printf '%s\n' "$errors" | wc -l | tr -d ' ') of $n versions in s3://$bucket (key, version, code, message above); fix that, then run destroy.sh again"
    fi
    deleted=$((deleted + n))
    cp "$batch" "$previous"
  done
  log "s3://$bucket is empty ($deleted versions and delete markers deleted)"
}

for bucket in "${buckets[@]}"; do empty_bucket "$bucket"; done

# Deletes every image of the repository, 100 per request (BatchDeleteImage's limit).
empty_repository() {
  local ids failures out rc
  log "deleting the images in ECR repository $repository"
  while true; do
    rc=0
    out="$(awsc ecr list-images --repository-name "$repository" --max-items 100 --output json \
      --query 'imageIds[].{imageDigest: imageDigest}' 2>&1)" || rc=$?
    if ((rc != 0)); then
      [[ "$out" == *RepositoryNotFoundException* ]] && return 0
      printf '%s\n' "$out" >&2
      die "cannot list the images of ECR repository $repository"
    fi
    ids="$out"
    [[ -n "$ids" && "$ids" != "[]" && "$ids" != "null" ]] || break
    failures="$(awsc ecr batch-delete-image --repository-name "$repository" --image-ids "$ids" \
      --query 'failures[].[imageId.imageDigest, failureCode, failureReason]' --output text)" ||
      die "BatchDeleteImage failed on ECR repository $repository"
    if [[ -n "$failures" && "$failures" != "None" ]]; then
      printf '%s\n' "$failures" >&2
      die "ECR refused to delete images of $repository (above)"
    fi
  done
}

[[ -z "$repository" ]] || empty_repository

# No image variable: the stack keeps what the function runs, or has no function.
tf_vars=(-var "region=$region" -var "owner=${owner:-destroy}")
[[ -z "$env_name" ]] || tf_vars+=(-var "env=$env_name")
[[ -z "$profile" ]] || tf_vars+=(-var "aws_profile=$profile")
[[ -z "$name_prefix" ]] || tf_vars+=(-var "name_prefix=$name_prefix")
[[ -z "$var_file" ]] || tf_vars+=(-var-file "$var_file")

log "terraform destroy"
tf destroy -input=false -auto-approve "${tf_vars[@]}" >&2 || die "terraform destroy failed"
log "destroyed"
