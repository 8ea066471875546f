# The transactions stream: JSON order events that producers send straight to the queue
# -transactions (not fed by the landing topic) are validated, enriched and stored once in the
# DynamoDB table -transactions (function -transactions). Large orders and invalid events are
# alerted on the SNS topic -alerts (message attribute `alert`, so subscribers can filter). An
# item over DynamoDB's 400 KB keeps its payload in the output bucket under transactions/payloads/;
# every invalid event is kept under transactions/invalid/ with its reasons.

locals {
  # Where the function writes in the output bucket (design.md, "Contract: the transactions
  # stream"): payloads of large items (written, and deleted again when the item was not
  # stored), and the invalid events with their reasons (written only).
  transactions_payload_prefix = "transactions/payloads"
  transactions_invalid_prefix = "transactions/invalid"

  transactions_metric_alarms = {
    # On-demand tables throttle too (a burst above twice the previous peak, or a hot partition):
    # the SDK retries, then the record fails and is retried by SQS.
    "${local.names.transactions_table}-write-throttles" = {
      description = "Writes (PutItem, UpdateItem) to ${local.names.transactions_table} were throttled: events are retried and stored late, or dead-lettered."
      namespace   = "AWS/DynamoDB"
      metric_name = "WriteThrottleEvents"
      dimensions  = { TableName = local.names.transactions_table }
    }
    # An alert SNS could not deliver to a subscriber (e.g. an e-mail address that bounces, a
    # queue whose policy or key refuses it) is lost to that subscriber.
    "${local.names.alerts_topic}-notifications-failed" = {
      description = "Alerts of ${local.names.alerts_topic} that SNS failed to deliver to a subscriber."
      namespace   = "AWS/SNS"
      metric_name = "NumberOfNotificationsFailed"
      dimensions  = { TopicName = local.names.alerts_topic }
    }
  }

  transactions_table_kms_statement = {
    sid       = "DecryptTransactionsTable"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]
    conditions = [
      { test = "StringEquals", variable = "kms:ViaService", values = [local.via.dynamodb] },
      { test = "StringEquals", variable = "kms:EncryptionContext:aws:dynamodb:tableName", values = [local.names.transactions_table] },
    ]
  }
}

resource "aws_dynamodb_table" "transactions" {
  name         = local.names.transactions_table
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "order_id" # one item per order: a conditional put stores each event once

  attribute {
    name = "order_id"
    type = "S"
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

# The alerts: JSON messages with the message attribute `alert` (LARGE_ORDER, INVALID_EVENT).
# Only the function publishes (its role); no topic policy of ours, as for the alarm topic: the
# default one admits this account's principals, each by its IAM policy. A publisher of an
# encrypted topic needs the key through SNS (the role's EncryptAlerts), no key policy statement.
resource "aws_sns_topic" "alerts" {
  name              = local.names.alerts_topic
  kms_master_key_id = aws_kms_key.this.arn
}

resource "aws_sns_topic_subscription" "alerts_email" {
  count = var.alerts_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  # AWS e-mails a confirmation link; nothing is delivered until it is clicked.
  endpoint = var.alerts_email
}

module "transactions" {
  source = "../modules/queue_consumer"

  name            = local.functions.transactions
  role_name       = local.function_roles.transactions
  description     = "Order events -> validated, enriched, stored once in DynamoDB; alerts (${local.name_prefix})."
  create_function = local.function_enabled.transactions
  image_uri       = local.function_images.transactions
  image_command   = ["app.handlers.transactions.handler"]

  memory_size        = var.transactions_memory_size
  timeout            = var.transactions_timeout
  alias_name         = var.function_alias
  log_retention_days = var.log_retention_days
  kms_key_arn        = aws_kms_key.this.arn

  # Events arrive in bursts: up to 10 per invocation, waiting up to the window to fill a batch;
  # each failed record alone is retried (ReportBatchItemFailures, the module's mapping).
  batch_size                      = var.transactions_batch_size
  maximum_batching_window_seconds = var.transactions_batching_window_seconds
  max_receive_count               = var.max_receive_count
  # Producers send to the queue directly (their own IAM policies: sqs:SendMessage, and
  # kms:GenerateDataKey through SQS): no topic feeds it, so its policy only denies plain HTTP.
  sns_topic_arns = []
  alarm_actions  = [module.alarms.topic_arn]

  environment = merge(local.telemetry.transactions, {
    TRANSACTIONS_TABLE = aws_dynamodb_table.transactions.name
    ALERTS_TOPIC_ARN   = aws_sns_topic.alerts.arn
    PAYLOAD_BUCKET     = module.output_bucket.bucket_name
  })

  # Exactly the calls the handler makes (the module adds its queue, its log group and X-Ray).
  policy_statements = [
    {
      # The conditional put (attribute_not_exists(order_id)), the read of an existing item (a
      # duplicate or a conflict?), and the update of its own items. Never DeleteItem, never Scan.
      sid       = "StoreTransactions"
      actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
      resources = [aws_dynamodb_table.transactions.arn]
    },
    local.transactions_table_kms_statement,
    {
      sid       = "PublishAlerts"
      actions   = ["sns:Publish"]
      resources = [aws_sns_topic.alerts.arn]
    },
    {
      # A publisher of an SSE-KMS topic needs a data key, through SNS, for that topic.
      sid       = "EncryptAlerts"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [aws_kms_key.this.arn]
      conditions = [
        { test = "StringEquals", variable = "kms:ViaService", values = [local.via.sns] },
        { test = "StringEquals", variable = "kms:EncryptionContext:aws:sns:topicArn", values = [aws_sns_topic.alerts.arn] },
      ]
    },
    {
      # The payload of an item over 400 KB, written before the item; deleted again when the
      # item was not stored (a duplicate or a conflict). Not read back: `transactions get`
      # reads with the operator's credentials.
      sid       = "WriteTransactionPayloads"
      actions   = ["s3:DeleteObject", "s3:PutObject"]
      resources = ["${module.output_bucket.bucket_arn}/${local.transactions_payload_prefix}/*"]
    },
    {
      # Every invalid event with its reasons, so none is lost (written once, never deleted).
      sid       = "KeepInvalidEvents"
      actions   = ["s3:PutObject"]
      resources = ["${module.output_bucket.bucket_arn}/${local.transactions_invalid_prefix}/*"]
    },
    {
      # SSE-KMS objects of the output bucket, through S3 only. With S3 Bucket Keys the context
      # is the bucket ARN; the object ARNs cover objects written without one.
      sid       = "EncryptTransactionObjects"
      actions   = ["kms:GenerateDataKey"]
      resources = [aws_kms_key.this.arn]
      conditions = [
        { test = "StringEquals", variable = "kms:ViaService", values = [local.via.s3] },
        {
          test     = "StringLike"
          variable = "kms:EncryptionContext:aws:s3:arn"
          values = [
            module.output_bucket.bucket_arn,
            "${module.output_bucket.bucket_arn}/${local.transactions_payload_prefix}/*",
            "${module.output_bucket.bucket_arn}/${local.transactions_invalid_prefix}/*",
          ]
        },
      ]
    },
  ]

  depends_on = [module.ecr]
}
