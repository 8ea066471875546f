data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  # Every name derives from the prefix (an account may only let the deploying principal create
  # resources whose names begin with its own name).
  name_prefix = coalesce(var.name_prefix, "${var.project}-${var.env}")
  account_id  = data.aws_caller_identity.current.account_id
  partition   = data.aws_partition.current.partition
  dns_suffix  = data.aws_partition.current.dns_suffix

  # Bucket names are global (anyone's account may hold "orders-pipeline-dev-input") and IAM
  # names are account-wide (the same env in two regions would collide): those carry the account
  # and region. Everything else is regional and keeps the plain prefix.
  bucket_prefix = "${local.name_prefix}-${local.account_id}-${var.region}"

  names = {
    ecr_repository = local.name_prefix
    input_bucket   = "${local.bucket_prefix}-input"
    output_bucket  = "${local.bucket_prefix}-output"
    audit_bucket   = "${local.bucket_prefix}-audit"
    landing_topic  = "${local.name_prefix}-landing"
    reports_queue  = "${local.name_prefix}-reports" # its DLQ: <prefix>-reports-dlq
    reports_fn     = "${local.name_prefix}-reports"
    reports_role   = "${local.name_prefix}-reports-${var.region}"
    alarm_topic    = "${local.name_prefix}-alarms"
    audit_trail    = "${local.name_prefix}-audit"
    kms_alias      = "alias/${local.name_prefix}"
    glue_database  = replace(local.name_prefix, "-", "_")
    athena_wg      = local.name_prefix
  }

  # ARNs known before anything exists (the ECR and KMS policies name them).
  reports_fn_arn  = "arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:${local.names.reports_fn}"
  landing_topic   = "arn:${local.partition}:sns:${var.region}:${local.account_id}:${local.names.landing_topic}"
  alarm_topic     = "arn:${local.partition}:sns:${var.region}:${local.account_id}:${local.names.alarm_topic}"
  audit_trail_arn = "arn:${local.partition}:cloudtrail:${var.region}:${local.account_id}:trail/${local.names.audit_trail}"

  athena_results = "_athena/"

  # The output bucket's layout (design.md, "where outputs go"), defined once: the reports
  # function writes, replaces and deletes objects under these prefixes and nowhere else ...
  report_output_prefixes = [
    "most_profitable_region",
    "top_ship_mode_by_category",
    "orders_by_category",
    "rejected_rows",
    "errors",
    "_manifests",
  ]
  # ... and keeps one small state object per source here (conditional PUTs; read back; never
  # deleted).
  report_state_prefix = "_state"
}

# --- the image the function runs ---------------------------------------------------------------
# image_uri or image_digest names it. Without either, the stack keeps the image the function
# already runs (read from the function), so a plain `terraform plan` is a drift check at every
# stage; before any image exists there is no function at all (deploy.sh's first apply, or a
# half-deployed stack that destroy.sh must still be able to tear down).

data "aws_lambda_functions" "all" {
  count = var.image_uri == null && var.image_digest == null ? 1 : 0
}

locals {
  function_deployed = length(data.aws_lambda_functions.all) > 0 && contains(
    try(data.aws_lambda_functions.all[0].function_names, []), local.names.reports_fn
  )
}

data "aws_lambda_function" "deployed" {
  count = local.function_deployed ? 1 : 0

  function_name = local.names.reports_fn
}

locals {
  image_uri = (
    var.image_uri != null ? var.image_uri :
    var.image_digest != null ? "${module.ecr.repository_url}@${var.image_digest}" :
    one(data.aws_lambda_function.deployed[*].image_uri)
  )
  function_enabled = var.image_uri != null || var.image_digest != null || local.function_deployed
}

# --- platform: key (kms.tf), image repository, buckets, fan-out, alarms, audit ---------------

module "ecr" {
  source = "../modules/ecr_repository"

  name                       = local.names.ecr_repository
  untagged_image_expiry_days = var.ecr_untagged_image_expiry_days
  kms_key_arn                = aws_kms_key.this.arn
  force_delete               = var.force_destroy
  lambda_function_arns       = [local.reports_fn_arn]
}

module "input_bucket" {
  source = "../modules/s3_bucket"

  name                            = local.names.input_bucket
  kms_key_arn                     = aws_kms_key.this.arn
  force_destroy                   = var.force_destroy
  current_version_expiration_days = var.input_retention_days
}

module "output_bucket" {
  source = "../modules/s3_bucket"

  name          = local.names.output_bucket
  kms_key_arn   = aws_kms_key.this.arn
  force_destroy = var.force_destroy
  expiration_rules = [{
    id     = "expire-athena-results"
    prefix = local.athena_results
    days   = 30
  }]
}

module "reports_queue" {
  source = "../modules/sqs_queue"

  name                            = local.names.reports_queue
  function_timeout_seconds        = var.timeout
  maximum_batching_window_seconds = var.maximum_batching_window_seconds
  max_receive_count               = var.max_receive_count
  # SSE-SQS: messages hold only S3 event metadata (bucket, key, size), no order data; SQS-managed
  # keys cost nothing. (A queue on the stack key would also work: kms.tf lets SNS use it.)
  kms_key_arn   = null
  alarm_actions = [module.alarms.topic_arn]
}

module "fanout" {
  source = "../modules/s3_sns_sqs_fanout"

  topic_name  = local.names.landing_topic
  bucket_name = module.input_bucket.bucket_name
  bucket_arn  = module.input_bucket.bucket_arn
  events      = ["s3:ObjectCreated:*"]
  # Every created object is published: the reports function takes .csv in any letter case and
  # .csv.gz and logs why it ignores anything else, and every consumer sees every upload.
  filter_suffix = null
  kms_key_arn   = aws_kms_key.this.arn
  queues = {
    reports = { arn = module.reports_queue.queue_arn, url = module.reports_queue.queue_url }
  }
}

module "alarms" {
  source = "../modules/alarms"

  topic_name     = local.names.alarm_topic
  alarm_email    = var.alarm_email
  function_names = [local.names.reports_fn]
  kms_key_arn    = aws_kms_key.this.arn

  metric_alarms = {
    "${local.names.reports_fn}-files-failed" = {
      description = "Files the reports function could not process (their errors/ JSON says why). A bad file is consumed, not retried, and a failed record is not a function error: only this metric shows them."
      namespace   = var.metrics_namespace
      metric_name = "FilesFailed"
      dimensions  = { service = local.names.reports_fn }
    }
  }
}

module "audit_trail" {
  source = "../modules/audit_trail"
  count  = var.audit_trail_enabled ? 1 : 0

  trail_name             = local.names.audit_trail
  bucket_name            = local.names.audit_bucket
  kms_key_arn            = aws_kms_key.this.arn
  data_event_bucket_arns = [module.input_bucket.bucket_arn, module.output_bucket.bucket_arn]
  log_retention_days     = var.audit_log_retention_days
  force_destroy          = var.force_destroy
}

# --- the reports pipeline ----------------------------------------------------------------------

module "reports_function" {
  source = "../modules/lambda_image_function"
  count  = local.function_enabled ? 1 : 0

  function_name        = local.names.reports_fn
  role_name            = local.names.reports_role
  description          = "Orders CSV -> three reports (${local.name_prefix})."
  image_uri            = local.image_uri
  image_command        = ["app.handlers.reports.handler"]
  memory_size          = var.memory_size
  ephemeral_storage_mb = var.ephemeral_storage_mb
  timeout              = var.timeout
  kms_key_arn          = aws_kms_key.this.arn
  alias_name           = var.function_alias

  reserved_concurrent_executions = var.reserved_concurrency
  log_retention_days             = var.log_retention_days

  environment = {
    OUTPUT_BUCKET = module.output_bucket.bucket_name
    # The service dimension of the function's EMF metrics: unique per stack, so the FilesFailed
    # alarm of one environment never counts another's files.
    POWERTOOLS_SERVICE_NAME      = local.names.reports_fn
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
    LOG_LEVEL                    = var.log_level
  }

  # Exactly the calls the handler makes (the module adds its queue, its log group and X-Ray).
  policy_statements = [
    {
      # GET with If-Match on the event's ETag (no VersionId: s3:GetObjectVersion is not needed).
      sid       = "ReadInputObjects"
      actions   = ["s3:GetObject"]
      resources = [module.input_bucket.bucket_objects_arn]
    },
    {
      # Without it a missing key reads as 403 AccessDenied instead of 404 NoSuchKey.
      sid       = "ListInputBucket"
      actions   = ["s3:ListBucket"]
      resources = [module.input_bucket.bucket_arn]
    },
    {
      # Write the outputs of a run and delete the ones a new upload no longer produces.
      # PutObject covers multipart uploads (create, parts, complete); an interrupted one is
      # aborted. Not _state/ (below), not _athena/, not anything else.
      sid       = "ReplaceOwnOutputs"
      actions   = ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"]
      resources = [for p in local.report_output_prefixes : "${module.output_bucket.bucket_arn}/${p}/*"]
    },
    {
      # One state object per source, written with If-None-Match / If-Match and read back.
      sid       = "KeepSourceState"
      actions   = ["s3:GetObject", "s3:PutObject"]
      resources = ["${module.output_bucket.bucket_arn}/${local.report_state_prefix}/*"]
    },
    {
      # SSE-KMS objects, through S3 only, of the two buckets only (the key also encrypts SNS,
      # logs, ECR, Athena results and the function's environment). With S3 Bucket Keys the
      # context is the bucket ARN; the object ARN covers objects written without one.
      sid       = "DecryptStackObjects"
      actions   = ["kms:Decrypt"]
      resources = [aws_kms_key.this.arn]
      conditions = [
        { test = "StringEquals", variable = "kms:ViaService", values = ["s3.${var.region}.${local.dns_suffix}"] },
        {
          test     = "StringLike"
          variable = "kms:EncryptionContext:aws:s3:arn"
          values = [
            module.input_bucket.bucket_arn, module.input_bucket.bucket_objects_arn,
            module.output_bucket.bucket_arn, module.output_bucket.bucket_objects_arn,
          ]
        },
      ]
    },
    {
      sid       = "EncryptOutputObjects"
      actions   = ["kms:GenerateDataKey"]
      resources = [aws_kms_key.this.arn]
      conditions = [
        { test = "StringEquals", variable = "kms:ViaService", values = ["s3.${var.region}.${local.dns_suffix}"] },
        {
          test     = "StringLike"
          variable = "kms:EncryptionContext:aws:s3:arn"
          values   = [module.output_bucket.bucket_arn, module.output_bucket.bucket_objects_arn]
        },
      ]
    },
  ]

  sqs_event_source = {
    queue_arn                          = module.reports_queue.queue_arn
    batch_size                         = var.batch_size
    maximum_batching_window_in_seconds = var.maximum_batching_window_seconds
    maximum_concurrency                = var.reserved_concurrency == -1 ? 5 : min(var.reserved_concurrency, 1000)
  }

  # The repository policy must let Lambda pull before the function is created.
  depends_on = [module.ecr]
}

module "analytics" {
  source = "../modules/athena_reports"

  database_name         = local.names.glue_database
  workgroup_name        = local.names.athena_wg
  bucket_name           = module.output_bucket.bucket_name
  results_prefix        = local.athena_results
  kms_key_arn           = aws_kms_key.this.arn
  expected_bucket_owner = local.account_id
}
