# The table loader: each CSV landing in the input bucket is loaded into the DynamoDB table -rows,
# one item per record (queue -loader, function -loader). A file too large for one invocation
# continues from a checkpoint through the function's own queue -loader-continue.

locals {
  # A file the loader could not load is consumed (LoaderStatus failed in the registry), not
  # retried: only this metric shows it.
  loader_metric_alarms = {
    "${local.functions.loader}-files-failed" = {
      description = "Files the loader could not load (the registry's LoaderError says why)."
      namespace   = var.metrics_namespace
      metric_name = "FilesFailed"
      dimensions  = { service = local.functions.loader }
    }
  }

  rows_table_kms_statement = {
    sid       = "DecryptRowsTable"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]
    conditions = [
      { test = "StringEquals", variable = "kms:ViaService", values = [local.via.dynamodb] },
      { test = "StringEquals", variable = "kms:EncryptionContext:aws:dynamodb:tableName", values = [local.names.rows_table] },
    ]
  }
}

resource "aws_dynamodb_table" "rows" {
  name         = local.names.rows_table
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "source" # "<bucket>/<key>"
  range_key    = "row"    # the record number (header = 1)

  attribute {
    name = "source"
    type = "S"
  }

  attribute {
    name = "row"
    type = "N"
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.this.arn
  }

  point_in_time_recovery {
    enabled = true
  }

  deletion_protection_enabled = var.table_deletion_protection
}

module "loader" {
  source = "../modules/queue_consumer"

  name            = local.functions.loader
  role_name       = local.function_roles.loader
  description     = "CSV records -> DynamoDB items (${local.name_prefix})."
  create_function = local.function_enabled.loader
  image_uri       = local.function_images.loader
  image_command   = ["app.handlers.loader.handler"]

  memory_size        = var.loader_memory_size
  timeout            = var.loader_timeout
  alias_name         = var.function_alias
  log_retention_days = var.log_retention_days
  kms_key_arn        = aws_kms_key.this.arn

  batch_size                      = 1 # one file per invocation: it may take the whole timeout
  maximum_batching_window_seconds = var.maximum_batching_window_seconds
  max_receive_count               = var.max_receive_count
  sns_topic_arns                  = [local.landing_topic]
  alarm_actions                   = [module.alarms.topic_arn]

  # <prefix>-loader-continue: the checkpoints of files that did not fit one invocation.
  extra_queues = {
    continue = { function_sends = true, url_variable = "CONTINUE_QUEUE_URL" }
  }

  environment = merge(
    local.telemetry.loader,
    {
      ROWS_TABLE  = aws_dynamodb_table.rows.name
      FILES_TABLE = aws_dynamodb_table.files.name
      # CONTINUE_QUEUE_URL: set by the module (extra_queues.continue.url_variable).
    },
    var.loader_margin_seconds == null ? {} : { LOADER_MARGIN_SECONDS = tostring(var.loader_margin_seconds) },
  )

  policy_statements = [
    {
      # The uploaded CSV, at the event's ETag (If-Match). Nothing else of any bucket.
      sid       = "ReadInputObjects"
      actions   = ["s3:GetObject"]
      resources = [module.input_bucket.bucket_objects_arn]
    },
    {
      sid       = "DecryptInputObjects"
      actions   = ["kms:Decrypt"]
      resources = [aws_kms_key.this.arn]
      conditions = [
        { test = "StringEquals", variable = "kms:ViaService", values = [local.via.s3] },
        {
          test     = "StringLike"
          variable = "kms:EncryptionContext:aws:s3:arn"
          values   = [module.input_bucket.bucket_arn, module.input_bucket.bucket_objects_arn]
        },
      ]
    },
    {
      # Batched puts and deletes (rows past a new version's end), and the rows already there.
      sid       = "WriteRows"
      actions   = ["dynamodb:BatchWriteItem", "dynamodb:Query"]
      resources = [aws_dynamodb_table.rows.arn]
    },
    {
      # Its progress (LoaderStatus, the ordering lease) on the file's registry record.
      sid       = "TrackLoadInFilesTable"
      actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
      resources = [aws_dynamodb_table.files.arn]
    },
    local.rows_table_kms_statement,
    local.files_table_kms_statement,
  ]

  depends_on = [module.ecr]
}
