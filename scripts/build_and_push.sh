#!/usr/bin/env bash
# Build the Lambda image for linux/arm64, push it to ECR and print `URI@sha256:...` as the
# last line of stdout (progress goes to stderr), so callers can do:
#   image="$(scripts/build_and_push.sh --repository orders-pipeline-dev | tail -n 1)"
set -euo pipefail

readonly PROG="build_and_push.sh"

usage() {
  cat <<'EOF'
Usage: scripts/build_and_push.sh --repository NAME [--region REGION] [--profile PROFILE]
                                 [--tag TAG] [--endpoint-url URL]

Builds the image (docker buildx, linux/arm64, --provenance=false so Lambda accepts the
manifest), logs in to ECR, pushes URI:TAG and prints URI@sha256:<digest> as the last line.
The repository has immutable tags: if TAG is already there, build and push are skipped
and the existing image is reused.

Options (environment variable in brackets):
  --repository NAME   ECR repository name, e.g. orders-pipeline-dev   [ECR_REPOSITORY]
  --region REGION     AWS region                   [AWS_REGION, AWS_DEFAULT_REGION]
  --profile PROFILE   AWS CLI profile (optional)   [AWS_PROFILE]
  --tag TAG           image tag (default: git short SHA of HEAD)
  --endpoint-url URL  AWS endpoint override (optional, tests/emulators) [AWS_ENDPOINT_URL]
  -h, --help          show this help

Needs: aws CLI, docker with buildx (and QEMU/binfmt when the host is not arm64).
EOF
}

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

repository="${ECR_REPOSITORY:-}"
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
profile="${AWS_PROFILE:-}"
endpoint_url="${AWS_ENDPOINT_URL:-}"
tag=""

while (($# > 0)); do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --repository | --region | --profile | --tag | --endpoint-url)
      (($# >= 2)) && [[ -n "$2" ]] || usage_error "$1 needs a value"
      case "$1" in
        --repository) repository="$2" ;;
        --region) region="$2" ;;
        --profile) profile="$2" ;;
        --tag) tag="$2" ;;
        --endpoint-url) endpoint_url="$2" ;;
      esac
      shift 2
      ;;
    *) usage_error "unknown argument: $1" ;;
  esac
done

[[ -n "$repository" ]] || usage_error "missing --repository (or env ECR_REPOSITORY)"
[[ -n "$region" ]] || usage_error "missing --region (or env AWS_REGION / AWS_DEFAULT_REGION)"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [[ -z "$tag" ]]; then
  tag="$(git rev-parse --short HEAD 2>/dev/null)" ||
    die "cannot compute the default tag (git short SHA) in $root; pass --tag"
  if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
    log "warning: uncommitted changes are not part of tag $tag; commit them or pass --tag"
  fi
fi
[[ "$tag" =~ ^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$ ]] || usage_error "invalid --tag: $tag"

set_aws_opts

# Prints the digest of $tag, nothing if the tag is not in the repository; fails otherwise.
image_digest() {
  local out rc=0
  out="$(awsc ecr describe-images --repository-name "$repository" \
    --image-ids "imageTag=$tag" --query 'imageDetails[0].imageDigest' --output text 2>&1)" ||
    rc=$?
  if ((rc == 0)); then
    printf '%s\n' "$out"
  elif [[ "$out" != *ImageNotFoundException* ]]; then
    printf '%s\n' "$out" >&2
    die "cannot look up tag $tag in ECR repository $repository"
  fi
}

log "looking up ECR repository $repository in $region"
repo_uri="$(awsc ecr describe-repositories --repository-names "$repository" \
  --query 'repositories[0].repositoryUri' --output text)" ||
  die "ECR repository $repository not found in $region (scripts/deploy.sh creates it)"
[[ "$repo_uri" == */* ]] || die "unexpected repository URI from ECR: '$repo_uri'"
registry="${repo_uri%%/*}"
image="$repo_uri:$tag"

digest="$(image_digest)"
if [[ -n "$digest" ]]; then
  log "$image already exists (immutable tag): skipping build and push"
else
  log "building $image for linux/arm64"
  docker buildx build --platform linux/arm64 --provenance=false --load -t "$image" . >&2 ||
    die "docker build failed; nothing was pushed"
  log "logging in to $registry"
  awsc ecr get-login-password | docker login --username AWS --password-stdin "$registry" >&2 ||
    die "docker login to $registry failed"
  log "pushing $image"
  docker push "$image" >&2 || die "docker push of $image failed"
  digest="$(image_digest)"
fi

[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] ||
  die "could not read the digest of $image from ECR (got '$digest')"
log "image: $repo_uri@$digest"
printf '%s@%s\n' "$repo_uri" "$digest"
