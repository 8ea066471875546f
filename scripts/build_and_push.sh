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
manifest), checks it is linux/arm64, logs in to ECR, pushes URI:TAG and prints
URI@sha256:<digest> as the last line. The repository has immutable tags: if TAG is already
there, build and push are skipped and the existing image is reused. Either way the image in
ECR must be a single-platform linux/arm64 image (Lambda rejects an image index): anything else
is an error and no URI is printed.

The default tag is the git short SHA of HEAD, and only for a clean work tree: with
uncommitted changes (tracked files, or untracked files that are not ignored) the image
would not be what the commit says, and an existing image of that tag would be reused
stale. Commit, or pass --tag.

Options (environment variable in brackets):
  --repository NAME   ECR repository name, e.g. orders-pipeline-dev   [ECR_REPOSITORY]
  --region REGION     AWS region                   [AWS_REGION, AWS_DEFAULT_REGION]
  --profile PROFILE   AWS CLI profile (optional)   [AWS_PROFILE]
  --tag TAG           image tag (default: git short SHA of HEAD; a clean tree only)
  --endpoint-url URL  AWS endpoint override (optional, tests/emulators) [AWS_ENDPOINT_URL]
  -h, --help          show this help

Needs: docker with buildx (and QEMU/binfmt when the host is not arm64), curl, python3, the
aws CLI (on PATH, or the project's .venv/bin/aws from `make setup`).
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

root="$PROJECT_ROOT"
cd "$root"

if [[ -z "$tag" ]]; then
  tag="$(git rev-parse --short HEAD 2>/dev/null)" ||
    die "cannot compute the default tag (git short SHA) in $root; pass --tag"
  dirty="$(git status --porcelain 2>/dev/null)" || die "git status failed in $root; pass --tag"
  if [[ -n "$dirty" ]]; then
    printf '%s\n' "$dirty" | head -n 10 >&2
    die "the work tree has uncommitted changes (above): an image tagged $tag would not be commit $tag (and an existing $tag would be reused, stale). Commit them, or pass --tag"
  fi
fi
[[ "$tag" =~ ^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$ ]] || usage_error "invalid --tag: $tag"

set_aws_opts

# Prints "<digest> <manifest media type>" of $tag, nothing if the tag is not in the
# repository; fails otherwise.
image_digest() {
  local out rc=0
  out="$(awsc ecr describe-images --repository-name "$repository" \
    --image-ids "imageTag=$tag" \
    --query 'imageDetails[0].[imageDigest, imageManifestMediaType]' --output text 2>&1)" ||
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

# Lambda runs a single-platform image manifest; an index (what buildx makes with provenance
# attestations or several platforms) is rejected when the function is created.
readonly SINGLE_PLATFORM_MEDIA_TYPES=(
  application/vnd.docker.distribution.manifest.v2+json
  application/vnd.oci.image.manifest.v1+json
)

# Prints "<os>/<architecture>" from the config blob of the image $1 (a digest) in ECR.
registry_platform() {
  local manifest config url
  manifest="$(awsc ecr batch-get-image --repository-name "$repository" \
    --image-ids "imageDigest=$1" --query 'images[0].imageManifest' --output text)" ||
    die "cannot read the manifest of $repo_uri@$1 from ECR"
  config="$(printf '%s' "$manifest" | python3 -c '
import json, sys
print(json.load(sys.stdin).get("config", {}).get("digest", ""))')" ||
    die "the manifest of $repo_uri@$1 is not JSON"
  [[ "$config" =~ ^sha256:[0-9a-f]{64}$ ]] || die "the manifest of $repo_uri@$1 names no config blob"
  url="$(awsc ecr get-download-url-for-layer --repository-name "$repository" \
    --layer-digest "$config" --query downloadUrl --output text)" ||
    die "cannot get the config blob of $repo_uri@$1 from ECR"
  curl -fsSL "$url" | python3 -c '
import json, sys
c = json.load(sys.stdin)
print(c.get("os", "") + "/" + c.get("architecture", ""))' ||
    die "cannot read the config blob of $repo_uri@$1"
}

# Dies unless $digest is a digest and $media_type a single-platform image manifest.
require_single_platform() {
  local t
  [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] ||
    die "could not read the digest of $image from ECR (got '$found')"
  for t in "${SINGLE_PLATFORM_MEDIA_TYPES[@]}"; do [[ "$media_type" != "$t" ]] || return 0; done
  die "$image in ECR is a '$media_type', not a single-platform image manifest: Lambda rejects it. Build with --platform linux/arm64 --provenance=false (as this script does) and push a new tag"
}

found="$(image_digest)"
if [[ -n "$found" ]]; then
  log "$image already exists (immutable tag): skipping build and push"
  read -r digest media_type <<<"$found"
  require_single_platform
  platform="$(registry_platform "$digest")" || exit 1
  [[ "$platform" == linux/arm64 ]] ||
    die "$image in ECR is for '$platform', not linux/arm64: Lambda (arm64) cannot run it; push a new tag"
else
  log "building $image for linux/arm64"
  docker buildx build --platform linux/arm64 --provenance=false --load -t "$image" . >&2 ||
    die "docker build failed; nothing was pushed"
  platform="$(docker image inspect --format '{{.Os}}/{{.Architecture}}' "$image")" ||
    die "cannot inspect the image just built ($image)"
  [[ "$platform" == linux/arm64 ]] ||
    die "the image built is $platform, not linux/arm64; nothing was pushed (is QEMU/binfmt set up for arm64?)"
  log "logging in to $registry"
  awsc ecr get-login-password | docker login --username AWS --password-stdin "$registry" >&2 ||
    die "docker login to $registry failed"
  log "pushing $image"
  docker push "$image" >&2 || die "docker push of $image failed"
  found="$(image_digest)"
  digest="" media_type=""
  read -r digest media_type <<<"$found" || true
  require_single_platform
fi

log "image: $repo_uri@$digest ($media_type, linux/arm64)"
printf '%s@%s\n' "$repo_uri" "$digest"
