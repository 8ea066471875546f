# The customer feed: partners' daily sets of three files (customers_, orders_ and
# items_YYYYMMDD.csv under one folder of the partner-feed bucket) become one message per customer
# on the queue -customer-feed (function -customer-feed, fed by the queue -feed). A set still
# incomplete INCOMPLETE_AFTER_SECONDS after a file landed is checked again through the function's
# own queue (a delayed message), then reported (FeedSetsIncomplete). The set's progress is kept
# on the registry item of its customers file (files table; no table of its own).

locals {
  feed_queue_name          = "${local.name_prefix}-feed"
  customer_feed_queue_name = "${local.name_prefix}-customer-feed"

  # A set that stays incomplete is not an error of the function (its check message is consumed):
  # only this metric shows it.
  feed_metric_alarms = {
    "${local.functions.customer_feed}-sets-incomplete" = {
      description = "Partner-feed sets still missing a file ${var.feed_incomplete_after_seconds}s after one of them landed (the registry item's FeedStatus names the missing files)."
      namespace   = var.metrics_namespace
      metric_name = "FeedSetsIncomplete"
      dimensions  = { service = local.functions.customer_feed }
    }
  }
}

# The output: one message per customer. No DLQ of ours: its consumers own their redrive (each
# consumer's own queue or redrive policy); this queue only holds what the function sent.
resource "aws_sqs_queue" "customer_feed" {
  name                      = local.customer_feed_queue_name
  message_retention_seconds = var.customer_feed_message_retention_seconds
  receive_wait_time_seconds = 20

  kms_master_key_id                 = aws_kms_key.this.arn
  kms_data_key_reuse_period_seconds = 3600

  policy = data.aws_iam_policy_document.customer_feed_queue.json
}

data "aws_iam_policy_document" "customer_feed_queue" {
  # No request without TLS (the stack's other queues carry the same statement).
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = ["arn:${local.partition}:sqs:${var.region}:${local.account_id}:${local.customer_feed_queue_name}"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

module "customer_feed" {
  source = "../modules/queue_consumer"

  name            = local.functions.customer_feed
  role_name       = local.function_roles.customer_feed
  description     = "Partner-feed sets -> one message per customer (${local.name_prefix})."
  create_function = local.function_enabled.customer_feed
  image_uri       = local.function_images.customer_feed
  image_command   = ["app.handlers.customer_feed.handler"]

  memory_size          = var.feed_memory_size
  timeout              = var.feed_timeout
  ephemeral_storage_mb = var.feed_ephemeral_storage_mb
  alias_name           = var.function_alias
  log_retention_days   = var.log_retention_days
  kms_key_arn          = aws_kms_key.this.arn

  # <prefix>-feed: the partner-feed bucket's events, and the function's own delayed completeness
  # checks (FEED_QUEUE_URL).
  queue_name           = local.feed_queue_name
  queue_function_sends = true
  queue_url_variable   = "FEED_QUEUE_URL"

  batch_size                      = 1 # one set per invocation: reading and joining three files
  maximum_batching_window_seconds = var.maximum_batching_window_seconds
  max_receive_count               = var.max_receive_count
  sns_topic_arns                  = [local.landing_topic]
  alarm_actions                   = [module.alarms.topic_arn]
  # A check message waits INCOMPLETE_AFTER_SECONDS in the queue by design (DelaySeconds): the
  # oldest-message alarm allows for it.
  age_alarm_threshold_seconds = var.feed_incomplete_after_seconds + 900

  environment = merge(local.telemetry.customer_feed, {
    FILES_TABLE              = aws_dynamodb_table.files.name
    OUTPUT_QUEUE_URL         = aws_sqs_queue.customer_feed.url
    INCOMPLETE_AFTER_SECONDS = tostring(var.feed_incomplete_after_seconds)
    # FEED_QUEUE_URL: set by the module (queue_url_variable).
  })

  policy_statements = [
    {
      # HEAD (is the set complete?) and GET with If-Match of the set's three files.
      sid       = "ReadPartnerFeedObjects"
      actions   = ["s3:GetObject"]
      resources = [module.partner_feed_bucket.bucket_objects_arn]
    },
    {
      # Without it HEAD of a file not uploaded yet reads as 403 Forbidden instead of 404: the
      # function could not tell an incomplete set from a denied read.
      sid       = "ListPartnerFeedBucket"
      actions   = ["s3:ListBucket"]
      resources = [module.partner_feed_bucket.bucket_arn]
    },
    {
      sid       = "DecryptPartnerFeedObjects"
      actions   = ["kms:Decrypt"]
      resources = [aws_kms_key.this.arn]
      conditions = [
        { test = "StringEquals", variable = "kms:ViaService", values = [local.via.s3] },
        {
          test     = "StringLike"
          variable = "kms:EncryptionContext:aws:s3:arn"
          values   = [module.partner_feed_bucket.bucket_arn, module.partner_feed_bucket.bucket_objects_arn]
        },
      ]
    },
    {
      # The set's claim and outcome (FeedVersions, FeedStatus, FeedLease, ...) on the registry
      # item of its customers file, and the waiting status on the landed file's (SET/REMOVE of
      # its own attributes, conditional; never a whole item).
      sid       = "TrackFeedSetsInFilesTable"
      actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
      resources = [aws_dynamodb_table.files.arn]
    },
    {
      sid       = "SendCustomerMessages"
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.customer_feed.arn]
    },
    {
      # A producer of an SSE-KMS queue needs GenerateDataKey and Decrypt, through SQS, for that
      # queue (the module grants the same for the function's own -feed queue).
      sid       = "EncryptCustomerMessages"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [aws_kms_key.this.arn]
      conditions = [
        { test = "StringEquals", variable = "kms:ViaService", values = [local.via.sqs] },
        { test = "StringEquals", variable = "kms:EncryptionContext:aws:sqs:arn", values = [aws_sqs_queue.customer_feed.arn] },
      ]
    },
    local.files_table_kms_statement,
  ]

  depends_on = [module.ecr]
}
