# The reports pipeline: each orders CSV of the input bucket becomes three reports in the output
# bucket (queue -reports, function -reports), queryable with Athena.

locals {
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

  reports_metric_alarms = {
    "${local.functions.reports}-files-failed" = {
      description = "Files the reports function could not process (their errors/ JSON says why). A bad file is consumed, not retried, and a failed record is not a function error: only this metric shows them."
      namespace   = var.metrics_namespace
      metric_name = "FilesFailed"
      dimensions  = { service = local.functions.reports }
    }
  }
}

module "reports" {
  source = "../modules/queue_consumer"

  name            = local.functions.reports
  role_name       = local.function_roles.reports
  description     = "Orders CSV -> three reports (${local.name_prefix})."
  create_function = local.function_enabled.reports
  image_uri       = local.function_images.reports
  image_command   = ["app.handlers.reports.handler"]

  memory_size          = var.memory_size
  ephemeral_storage_mb = var.ephemeral_storage_mb
  timeout              = var.timeout
  alias_name           = var.function_alias
  log_retention_days   = var.log_retention_days
  kms_key_arn          = aws_kms_key.this.arn

  reserved_concurrent_executions  = var.reserved_concurrency
  batch_size                      = var.batch_size
  maximum_batching_window_seconds = var.maximum_batching_window_seconds
  maximum_concurrency             = var.reserved_concurrency == -1 ? 5 : min(var.reserved_concurrency, 1000)
  max_receive_count               = var.max_receive_count
  sns_topic_arns                  = [local.landing_topic]
  alarm_actions                   = [module.alarms.topic_arn]

  environment = merge(local.telemetry.reports, {
    OUTPUT_BUCKET       = module.output_bucket.bucket_name
    FILES_TABLE         = aws_dynamodb_table.files.name
    SOURCE_WAIT_SECONDS = tostring(var.reports_source_wait_seconds)
  })

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
      # The outcome on the file's registry record (SET only: never erases another's attributes).
      sid       = "RecordOutcomeInFilesTable"
      actions   = ["dynamodb:UpdateItem"]
      resources = [aws_dynamodb_table.files.arn]
    },
    {
      # SSE-KMS objects, through S3 only, of the two buckets only (the key also encrypts SNS,
      # SQS, DynamoDB, logs, ECR, Athena results and the function's environment). With S3
      # Bucket Keys the context is the bucket ARN; the object ARN covers objects written
      # without one.
      sid       = "DecryptStackObjects"
      actions   = ["kms:Decrypt"]
      resources = [aws_kms_key.this.arn]
      conditions = [
        { test = "StringEquals", variable = "kms:ViaService", values = [local.via.s3] },
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
        { test = "StringEquals", variable = "kms:ViaService", values = [local.via.s3] },
        {
          test     = "StringLike"
          variable = "kms:EncryptionContext:aws:s3:arn"
          values   = [module.output_bucket.bucket_arn, module.output_bucket.bucket_objects_arn]
        },
      ]
    },
    local.files_table_kms_statement,
  ]

  # The repository policy must let Lambda pull before a function is created.
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
