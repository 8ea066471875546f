#!/usr/bin/env bash
# Point a Lambda function at a new image (by digest), wait until the update is done, publish
# it as a version, move the function's alias (the one its queue invokes) to that version, and
# print the new CodeSha256 as the last line of stdout (progress -> stderr).
set -euo pipefail

readonly PROG="deploy_function.sh"

usage() {
  cat <<'EOF'
Usage: scripts/deploy_function.sh --function NAME --image-uri URI@sha256:DIGEST
                                  [--alias NAME | --no-alias] [--region REGION]
                                  [--profile PROFILE] [--endpoint-url URL]

Runs `aws lambda update-function-code --image-uri ...`, waits for `function-updated`,
publishes a version of exactly that code (`publish-version --code-sha256`), points the alias
at it (`update-alias`), and prints the new CodeSha256. The image must be referenced by digest
(what scripts/build_and_push.sh prints), so the function runs exactly that image. The next
`terraform apply` (without image_uri) keeps this image and this version.

Options (environment variable in brackets):
  --function NAME     function name or ARN, e.g. orders-pipeline-dev-reports  [FUNCTION_NAME]
  --image-uri URI     ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO@sha256:...    [IMAGE_URI]
  --alias NAME        the alias the event source invokes (default: live, as the stack's)
  --no-alias          update $LATEST only (a function without an alias)
  --region REGION     AWS region                   [AWS_REGION, AWS_DEFAULT_REGION]
  --profile PROFILE   AWS CLI profile (optional)   [AWS_PROFILE]
  --endpoint-url URL  AWS endpoint override (optional, tests/emulators) [AWS_ENDPOINT_URL]
  -h, --help          show this help
EOF
}

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

function_name="${FUNCTION_NAME:-}"
alias_name="live"
image_uri="${IMAGE_URI:-}"
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
profile="${AWS_PROFILE:-}"
endpoint_url="${AWS_ENDPOINT_URL:-}"

while (($# > 0)); do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --no-alias)
      alias_name=""
      shift
      ;;
    --function | --image-uri | --alias | --region | --profile | --endpoint-url)
      (($# >= 2)) && [[ -n "$2" ]] || usage_error "$1 needs a value"
      case "$1" in
        --function) function_name="$2" ;;
        --image-uri) image_uri="$2" ;;
        --alias) alias_name="$2" ;;
        --region) region="$2" ;;
        --profile) profile="$2" ;;
        --endpoint-url) endpoint_url="$2" ;;
      esac
      shift 2
      ;;
    *) usage_error "unknown argument: $1" ;;
  esac
done

[[ -n "$function_name" ]] || usage_error "missing --function (or env FUNCTION_NAME)"
[[ -n "$image_uri" ]] || usage_error "missing --image-uri (or env IMAGE_URI)"
[[ -n "$region" ]] || usage_error "missing --region (or env AWS_REGION / AWS_DEFAULT_REGION)"
[[ "$image_uri" =~ ^[^@[:space:]]+@sha256:[0-9a-f]{64}$ ]] ||
  usage_error "--image-uri must be URI@sha256:<64 hex> (a digest, not a tag): $image_uri"

set_aws_opts

log "updating $function_name to $image_uri"
awsc lambda update-function-code --function-name "$function_name" --image-uri "$image_uri" \
  --query '{sha: CodeSha256, status: LastUpdateStatus}' --output text >&2 ||
  die "update-function-code failed for $function_name"

log "waiting for $function_name to finish updating"
awsc lambda wait function-updated --function-name "$function_name" ||
  die "$function_name did not finish updating (see: aws lambda get-function-configuration)"

code_sha="$(awsc lambda get-function-configuration --function-name "$function_name" \
  --query 'CodeSha256' --output text)" || die "cannot read the configuration of $function_name"
[[ -n "$code_sha" && "$code_sha" != "None" ]] || die "$function_name reports no CodeSha256"

if [[ -n "$alias_name" ]]; then
  version="$(awsc lambda publish-version --function-name "$function_name" \
    --code-sha256 "$code_sha" --description "image $image_uri" \
    --query Version --output text)" || die "publish-version failed for $function_name"
  [[ "$version" =~ ^[0-9]+$ ]] || die "publish-version returned no version number (got '$version')"
  awsc lambda update-alias --function-name "$function_name" --name "$alias_name" \
    --function-version "$version" --query FunctionVersion --output text >&2 ||
    die "could not point alias $alias_name of $function_name at version $version"
  log "published version $version; alias $alias_name -> $version"
fi
log "deployed; CodeSha256:"
printf '%s\n' "$code_sha"
