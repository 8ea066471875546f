data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  # Every name derives from the prefix (an account may only let the deploying principal create
  # resources whose names begin with its own name).
  name_prefix = coalesce(var.name_prefix, "${var.project}-${var.env}")

  names = {
    ecr_repository = local.name_prefix
    input_bucket   = "${local.name_prefix}-input"
    output_bucket  = "${local.name_prefix}-output"
    landing_topic  = "${local.name_prefix}-landing"
    reports_queue  = "${local.name_prefix}-reports" # its DLQ: <prefix>-reports-dlq
    reports_fn     = "${local.name_prefix}-reports"
    alarm_topic    = "${local.name_prefix}-alarms"
    kms_alias      = "alias/${local.name_prefix}"
    glue_database  = replace(local.name_prefix, "-", "_")
    athena_wg      = local.name_prefix
  }

  account_id     = data.aws_caller_identity.current.account_id
  partition      = data.aws_partition.current.partition
  athena_results = "_athena/"

  image_uri = (
    var.image_uri != null ? var.image_uri :
    var.image_digest != null ? "${module.ecr.repository_url}@${var.image_digest}" : null
  )
}

module "ecr" {
  source = "../modules/ecr_repository"

  name             = local.names.ecr_repository
  keep_last_images = var.ecr_keep_last_images
  kms_key_arn      = aws_kms_key.this.arn
  force_delete     = var.force_destroy
}

module "input_bucket" {
  source = "../modules/s3_bucket"

  name          = local.names.input_bucket
  kms_key_arn   = aws_kms_key.this.arn
  force_destroy = var.force_destroy
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
  # keys cost nothing and need no key policy for SNS.
  kms_key_arn   = null
  alarm_actions = [module.alarms.topic_arn]
}

module "fanout" {
  source = "../modules/s3_sns_sqs_fanout"

  topic_name    = local.names.landing_topic
  bucket_name   = module.input_bucket.name
  bucket_arn    = module.input_bucket.arn
  events        = ["s3:ObjectCreated:*"]
  filter_suffix = ".csv"
  kms_key_arn   = aws_kms_key.this.arn
  queues = {
    reports = { arn = module.reports_queue.queue_arn, url = module.reports_queue.queue_url }
  }
}

module "reports_function" {
  source = "../modules/lambda_image_function"

  function_name        = local.names.reports_fn
  description          = "Orders CSV -> three reports (${local.name_prefix})."
  image_uri            = local.image_uri
  image_command        = ["app.handlers.reports.handler"]
  memory_size          = var.memory_size
  ephemeral_storage_mb = var.ephemeral_storage_mb
  timeout              = var.timeout
  kms_key_arn          = aws_kms_key.this.arn

  reserved_concurrent_executions = var.reserved_concurrency
  log_retention_days             = var.log_retention_days

  environment = {
    OUTPUT_BUCKET                = module.output_bucket.name
    POWERTOOLS_SERVICE_NAME      = "orders-reports"
    POWERTOOLS_METRICS_NAMESPACE = "OrdersPipeline"
    LOG_LEVEL                    = var.log_level
  }

  # Exactly what the handler calls (the module adds its queue, its log group and X-Ray).
  policy_statements = [
    {
      sid       = "ReadInputObjects"
      actions   = ["s3:GetObject"]
      resources = [module.input_bucket.objects_arn]
    },
    {
      # Without it a missing key reads as 403 AccessDenied instead of 404 NoSuchKey.
      sid       = "ListInputBucket"
      actions   = ["s3:ListBucket"]
      resources = [module.input_bucket.arn]
    },
    {
      sid       = "WriteOutputObjects"
      actions   = ["s3:PutObject"]
      resources = [module.output_bucket.objects_arn]
    },
    {
      # SSE-KMS objects: decrypt to read the input, a data key to write the output.
      sid       = "UseStackKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [aws_kms_key.this.arn]
    },
  ]

  sqs_event_source = {
    queue_arn                          = module.reports_queue.queue_arn
    batch_size                         = var.batch_size
    maximum_batching_window_in_seconds = var.maximum_batching_window_seconds
    maximum_concurrency                = var.reserved_concurrency == -1 ? 5 : min(var.reserved_concurrency, 1000)
  }
}

module "alarms" {
  source = "../modules/alarms"

  topic_name     = local.names.alarm_topic
  alarm_email    = var.alarm_email
  function_names = [local.names.reports_fn]
  kms_key_arn    = aws_kms_key.this.arn
}

module "analytics" {
  source = "../modules/athena_reports"

  database_name         = local.names.glue_database
  workgroup_name        = local.names.athena_wg
  bucket_name           = module.output_bucket.name
  results_prefix        = local.athena_results
  kms_key_arn           = aws_kms_key.this.arn
  expected_bucket_owner = local.account_id
}
