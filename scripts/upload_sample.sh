#!/usr/bin/env bash
# The sample upload test: upload an orders CSV to the input bucket, wait for the pipeline's
# manifest in the output bucket, print the three reports. Works against real AWS and against
# `orders-pipeline local` (--endpoint-url).
set -euo pipefail

readonly PROG="upload_sample.sh"
readonly REPORTS=(most_profitable_region top_ship_mode_by_category orders_by_category)

usage() {
  cat <<'EOF'
Usage: scripts/upload_sample.sh --input-bucket BUCKET --output-bucket BUCKET
                                [--file PATH] [--key KEY] [--timeout SECONDS]
                                [--interval SECONDS] [--region REGION] [--profile PROFILE]
                                [--endpoint-url URL]

Uploads PATH to s3://INPUT/KEY, polls s3://OUTPUT/_manifests/dt=<UTC date>/<KEY minus .csv>.json
until a manifest newer than the upload appears, and prints the three reports. Exits 1 on a
timeout or a manifest with status "failed" (the error JSON is printed), 2 on usage errors.

Options (environment variable in brackets):
  --input-bucket B    e.g. orders-pipeline-dev-input                 [INPUT_BUCKET]
  --output-bucket B   e.g. orders-pipeline-dev-output                [OUTPUT_BUCKET]
  --file PATH         default: assessment_assets/sample_orders.csv
  --key KEY           object key, [A-Za-z0-9._-]+.csv; default: sample_orders.csv
  --timeout SECONDS   how long to wait for the manifest (default 120)
  --interval SECONDS  poll interval (default 2)
  --region REGION     AWS region [AWS_REGION, AWS_DEFAULT_REGION]; us-east-1 with --endpoint-url
  --profile PROFILE   AWS CLI profile (optional)   [AWS_PROFILE]
  --endpoint-url URL  e.g. the endpoint `orders-pipeline local` prints  [AWS_ENDPOINT_URL]
  -h, --help          show this help

Needs: python3, and the aws CLI: a global `aws` if there is one, else the project's own
.venv/bin/aws (installed by `make setup`).
EOF
}

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

root="$PROJECT_ROOT"
input_bucket="${INPUT_BUCKET:-}"
output_bucket="${OUTPUT_BUCKET:-}"
file="$root/assessment_assets/sample_orders.csv"
key="sample_orders.csv"
timeout=120
interval=2
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
profile="${AWS_PROFILE:-}"
endpoint_url="${AWS_ENDPOINT_URL:-}"

while (($# > 0)); do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --input-bucket | --output-bucket | --file | --key | --timeout | --interval | --region | \
      --profile | --endpoint-url)
      (($# >= 2)) && [[ -n "$2" ]] || usage_error "$1 needs a value"
      case "$1" in
        --input-bucket) input_bucket="$2" ;;
        --output-bucket) output_bucket="$2" ;;
        --file) file="$2" ;;
        --key) key="$2" ;;
        --timeout) timeout="$2" ;;
        --interval) interval="$2" ;;
        --region) region="$2" ;;
        --profile) profile="$2" ;;
        --endpoint-url) endpoint_url="$2" ;;
      esac
      shift 2
      ;;
    *) usage_error "unknown argument: $1" ;;
  esac
done

[[ -n "$input_bucket" ]] || usage_error "missing --input-bucket (or env INPUT_BUCKET)"
[[ -n "$output_bucket" ]] || usage_error "missing --output-bucket (or env OUTPUT_BUCKET)"
if [[ -z "$region" ]]; then
  [[ -n "$endpoint_url" ]] ||
    usage_error "missing --region (or env AWS_REGION / AWS_DEFAULT_REGION)"
  region="us-east-1"
fi
[[ -f "$file" && -r "$file" ]] || usage_error "--file $file is not a readable file"
[[ "$key" =~ ^[A-Za-z0-9._-]+\.csv$ ]] ||
  usage_error "--key must match [A-Za-z0-9._-]+.csv (got '$key')"
[[ "$timeout" =~ ^[0-9]+$ ]] || usage_error "--timeout must be whole seconds (got '$timeout')"
[[ "$interval" =~ ^[0-9]+([.][0-9]+)?$ ]] || usage_error "--interval must be seconds"
command -v python3 >/dev/null || die "python3 is needed to read the manifest JSON"

set_aws_opts

# Downloads s3://$1/$2 to $3 and prints its LastModified; status 3 if there is no such object.
fetch() {
  local out rc=0
  out="$(awsc s3api get-object --bucket "$1" --key "$2" "$3" \
    --query LastModified --output text 2>&1)" || rc=$?
  if ((rc == 0)); then
    printf '%s\n' "$out"
  elif [[ "$out" == *NoSuchKey* || "$out" == *"(404)"* ]]; then
    return 3
  else
    printf '%s\n' "$out" >&2
    return 1
  fi
}

source_name="${key%.csv}"
workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT

# dt is the UTC date of the upload event; around midnight it may be either day.
dates=("$(date -u +%F)")
log "uploading $file to s3://$input_bucket/$key"
awsc s3api put-object --bucket "$input_bucket" --key "$key" --body "$file" \
  --content-type text/csv --query ETag --output text >&2 ||
  die "upload to s3://$input_bucket/$key failed"
uploaded_at="$(awsc s3api head-object --bucket "$input_bucket" --key "$key" \
  --query LastModified --output text)" || die "cannot read s3://$input_bucket/$key after the upload"
[[ "$(date -u +%F)" == "${dates[0]}" ]] || dates+=("$(date -u +%F)")

# Exit status 0: the manifest is at least as new as the upload, and its "status|dt|read|rejected"
# is printed; 3: it is older (from an earlier upload of the same key); else: unreadable.
manifest_check() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
from datetime import datetime
from email.utils import parsedate_to_datetime

path, manifest_lm, uploaded_lm = sys.argv[1:4]
def ts(s):  # the CLI prints ISO 8601 or RFC 1123 (HTTP date) depending on the API
    try:
        return datetime.fromisoformat(s.strip().replace("Z", "+00:00"))
    except ValueError:
        return parsedate_to_datetime(s)
if ts(manifest_lm) < ts(uploaded_lm):
    sys.exit(3)
with open(path, encoding="utf-8") as fh:
    m = json.load(fh)
rows = m.get("rows") or {}
fields = (m.get("status"), m.get("dt"), rows.get("read"), rows.get("rejected"))
print("|".join("" if f is None else str(f) for f in fields))
PY
}

# Prints a CSV file as an aligned table (quoted fields with commas stay whole).
print_table() {
  python3 - "$1" <<'PY'
import csv, sys

with open(sys.argv[1], newline="", encoding="utf-8") as fh:
    rows = list(csv.reader(fh))
widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(max(map(len, rows), default=0))]
for r in rows:
    print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
PY
}

deadline=$((SECONDS + timeout))
found=""
log "waiting up to ${timeout}s for the manifest of $key in s3://$output_bucket/_manifests/"
while [[ -z "$found" ]]; do
  for dt in "${dates[@]}"; do
    manifest_key="_manifests/dt=$dt/$source_name.json"
    rc=0
    manifest_lm="$(fetch "$output_bucket" "$manifest_key" "$workdir/manifest.json")" || rc=$?
    ((rc != 3)) || continue
    ((rc == 0)) || die "cannot read s3://$output_bucket/$manifest_key (check the bucket and permissions)"
    rc=0
    summary="$(manifest_check "$workdir/manifest.json" "$manifest_lm" "$uploaded_at")" || rc=$?
    if ((rc == 0)); then
      found="$manifest_key"
      break
    fi
    ((rc == 3)) || die "s3://$output_bucket/$manifest_key is not a readable manifest"
  done
  [[ -z "$found" ]] || break
  if ((SECONDS >= deadline)); then
    die "timed out after ${timeout}s: no manifest for s3://$input_bucket/$key at s3://$output_bucket/_manifests/dt=${dates[*]}/$source_name.json; is the function deployed and subscribed? check its logs and the reports DLQ"
  fi
  sleep "$interval"
done

IFS="|" read -r status manifest_dt rows_read rows_rejected <<<"$summary"
dt="${manifest_dt:-$dt}"
if [[ "$status" != "ok" ]]; then
  printf 'manifest s3://%s/%s:\n' "$output_bucket" "$found"
  cat "$workdir/manifest.json"
  printf '\n'
  error_key="errors/dt=$dt/$source_name.json"
  if fetch "$output_bucket" "$error_key" "$workdir/error.json" >/dev/null 2>&1; then
    printf 'error s3://%s/%s:\n' "$output_bucket" "$error_key"
    cat "$workdir/error.json"
    printf '\n'
  fi
  die "the pipeline reported status '$status' for s3://$input_bucket/$key"
fi

log "processed: $rows_read rows read, $rows_rejected rejected (manifest s3://$output_bucket/$found)"
for report in "${REPORTS[@]}"; do
  report_key="$report/dt=$dt/$source_name.csv"
  fetch "$output_bucket" "$report_key" "$workdir/$report.csv" >/dev/null ||
    die "the manifest is there but s3://$output_bucket/$report_key cannot be read"
  printf '\n== %s  (s3://%s/%s)\n' "$report" "$output_bucket" "$report_key"
  print_table "$workdir/$report.csv"
done
