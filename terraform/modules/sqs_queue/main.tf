locals {
  # AWS: for a Lambda event source, set the visibility timeout to at least six times the function
  # timeout plus the batching window, so a message is not redelivered while a retry is in flight.
  visibility_timeout_seconds = min(
    43200,
    var.visibility_timeout_multiplier * var.function_timeout_seconds + var.maximum_batching_window_seconds,
  )
  dlq_name = "${var.name}-dlq"
}

resource "aws_sqs_queue" "dlq" {
  name                      = local.dlq_name
  message_retention_seconds = var.dlq_message_retention_seconds

  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_key_arn == null ? null : var.kms_data_key_reuse_period_seconds
  sqs_managed_sse_enabled           = var.kms_key_arn == null ? true : null

  policy = one([for k, doc in data.aws_iam_policy_document.queue : doc.json if k == "dlq"])

  tags = var.tags
}

resource "aws_sqs_queue" "this" {
  name                       = var.name
  visibility_timeout_seconds = local.visibility_timeout_seconds
  message_retention_seconds  = var.message_retention_seconds
  receive_wait_time_seconds  = 20

  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_key_arn == null ? null : var.kms_data_key_reuse_period_seconds
  sqs_managed_sse_enabled           = var.kms_key_arn == null ? true : null

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })

  policy = one([for k, doc in data.aws_iam_policy_document.queue : doc.json if k == "main"])

  tags = var.tags
}

# Only this queue may use the DLQ as its dead-letter target.
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  count = var.restrict_dlq_sources ? 1 : 0

  queue_url = aws_sqs_queue.dlq.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this.arn]
  })
}

data "aws_service_principal" "sns" {
  service_name = "sns"
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  # The ARNs from the names: the policies are set when the queues are created (no separate
  # aws_sqs_queue_policy to wait for), which a document referring to the queues could not be.
  arn_prefix = "arn:${data.aws_partition.current.partition}:sqs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"
}

# Queue policies: no request without TLS (both queues); SendMessage from the listed SNS topics
# only (the main queue). The DLQ needs no Allow: SQS itself moves messages there.
data "aws_iam_policy_document" "queue" {
  for_each = var.attach_policy ? { main = "${local.arn_prefix}:${var.name}", dlq = "${local.arn_prefix}:${local.dlq_name}" } : {}

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [each.value]

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

  dynamic "statement" {
    for_each = each.key == "main" && length(var.sns_topic_arns) > 0 ? [1] : []
    content {
      sid       = "AllowTopics"
      effect    = "Allow"
      actions   = ["sqs:SendMessage"]
      resources = [each.value]

      principals {
        type        = "Service"
        identifiers = [data.aws_service_principal.sns.name]
      }

      condition {
        test     = "ArnEquals"
        variable = "aws:SourceArn"
        values   = var.sns_topic_arns
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  alarm_name          = "${local.dlq_name}-not-empty"
  alarm_description   = "Messages in ${local.dlq_name}: records failed ${var.max_receive_count} times. Inspect, fix, then redrive."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

# The depth alarm above stays in ALARM while anything is in the DLQ, so it says nothing about a
# second failure. This one fires for every minute in which the DLQ grew. (SQS does not count
# redriven messages in NumberOfMessagesSent, so the growth of the visible count is the signal.)
resource "aws_cloudwatch_metric_alarm" "dlq_arrivals" {
  alarm_name          = "${local.dlq_name}-arrivals"
  alarm_description   = "New messages in ${local.dlq_name}: records failed ${var.max_receive_count} times. Inspect, fix, then redrive."
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  tags                = var.tags

  metric_query {
    id          = "arrived"
    expression  = "DIFF(visible)"
    label       = "Messages added to ${local.dlq_name}"
    return_data = true
  }

  metric_query {
    id = "visible"

    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = aws_sqs_queue.dlq.name }
      stat        = "Maximum"
      period      = 60
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "oldest_message_age" {
  alarm_name          = "${var.name}-oldest-message-age"
  alarm_description   = "The oldest message in ${var.name} is older than ${var.age_alarm_threshold_seconds}s: the consumer is failing or falling behind."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.this.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.age_alarm_threshold_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}
