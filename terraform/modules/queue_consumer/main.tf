data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  # The main queue (<queue_name>, by default the function's name), and the extra ones
  # (<name>-<key>), each with its DLQ.
  queues = merge(
    {
      main = {
        name           = coalesce(var.queue_name, var.name)
        sns_topic_arns = var.sns_topic_arns
        batch_size     = var.batch_size
        function_sends = var.queue_function_sends
      }
    },
    {
      for key, q in var.extra_queues : key => {
        name           = "${var.name}-${key}"
        sns_topic_arns = []
        batch_size     = coalesce(q.batch_size, var.batch_size)
        function_sends = q.function_sends
      }
    },
  )

  # SQS asks KMS for (and caches) data keys as the caller; the calls come through SQS, with the
  # queue's ARN as encryption context.
  via_sqs = "sqs.${data.aws_region.current.name}.${data.aws_partition.current.dns_suffix}"

  queue_arns      = [for k in sort(keys(local.queues)) : module.queue[k].queue_arn]
  sent_queue_arns = [for k in sort(keys(local.queues)) : module.queue[k].queue_arn if local.queues[k].function_sends]

  # What consuming (and, for the queues it feeds itself, sending to) its queues takes: the
  # module adds these to the caller's statements.
  queue_statements = concat(
    [
      {
        # The event source mapping receives and deletes with the function's role.
        sid        = "ConsumeOwnQueues"
        actions    = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
        resources  = local.queue_arns
        conditions = []
      },
    ],
    var.kms_key_arn == null ? [] : [
      {
        # SSE-KMS: reading a message decrypts its data key.
        sid       = "DecryptOwnQueueMessages"
        actions   = ["kms:Decrypt"]
        resources = [var.kms_key_arn]
        conditions = [
          { test = "StringEquals", variable = "kms:ViaService", values = [local.via_sqs] },
          { test = "StringEquals", variable = "kms:EncryptionContext:aws:sqs:arn", values = local.queue_arns },
        ]
      },
    ],
    length(local.sent_queue_arns) == 0 ? [] : [
      {
        sid        = "SendToOwnQueues"
        actions    = ["sqs:SendMessage"]
        resources  = local.sent_queue_arns
        conditions = []
      },
    ],
    var.kms_key_arn == null || length(local.sent_queue_arns) == 0 ? [] : [
      {
        # A producer of an SSE-KMS queue needs GenerateDataKey (and Decrypt, above).
        sid       = "EncryptOwnQueueMessages"
        actions   = ["kms:GenerateDataKey"]
        resources = [var.kms_key_arn]
        conditions = [
          { test = "StringEquals", variable = "kms:ViaService", values = [local.via_sqs] },
          { test = "StringEquals", variable = "kms:EncryptionContext:aws:sqs:arn", values = local.sent_queue_arns },
        ]
      },
    ],
  )
}

module "queue" {
  source   = "../sqs_queue"
  for_each = local.queues

  name                            = each.value.name
  function_timeout_seconds        = var.timeout
  maximum_batching_window_seconds = var.maximum_batching_window_seconds
  max_receive_count               = var.max_receive_count
  kms_key_arn                     = var.kms_key_arn
  restrict_dlq_sources            = var.restrict_dlq_sources
  sns_topic_arns                  = each.value.sns_topic_arns
  age_alarm_threshold_seconds     = var.age_alarm_threshold_seconds
  alarm_actions                   = var.alarm_actions
  tags                            = var.tags
}

module "function" {
  source = "../lambda_image_function"
  count  = var.create_function ? 1 : 0

  function_name = var.name
  role_name     = var.role_name
  description   = var.description
  image_uri     = var.image_uri
  image_command = var.image_command
  environment = merge(
    var.environment,
    var.queue_url_variable == null ? {} : { (var.queue_url_variable) = module.queue["main"].queue_url },
    { for k, q in var.extra_queues : q.url_variable => module.queue[k].queue_url if q.url_variable != null },
  )
  memory_size          = var.memory_size
  timeout              = var.timeout
  ephemeral_storage_mb = var.ephemeral_storage_mb
  kms_key_arn          = var.kms_key_arn
  alias_name           = var.alias_name
  log_retention_days   = var.log_retention_days

  reserved_concurrent_executions = var.reserved_concurrent_executions
  permissions_boundary_arn       = var.permissions_boundary_arn

  policy_statements = concat(var.policy_statements, local.queue_statements)
  # The mappings are this module's (one per queue), not the function module's single one.
  sqs_event_source = null

  tags = var.tags
}

resource "aws_lambda_event_source_mapping" "this" {
  for_each = var.create_function ? local.queues : {}

  event_source_arn = module.queue[each.key].queue_arn
  enabled          = var.event_source_mapping_enabled
  # The alias (when there is one): rolling the alias back rolls back what processes the queues.
  function_name                      = coalesce(module.function[0].alias_arn, module.function[0].function_arn)
  batch_size                         = each.value.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_seconds
  # The handler returns {"batchItemFailures": [...]}: only failed records are retried.
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.maximum_concurrency
  }

  # AWS checks that the role may read the queue when the mapping is created.
  depends_on = [module.function]
}

# The function's own alarms (the queue alarms are the sqs_queue module's). They watch the name,
# so they exist before the function does (missing data is not breaching).
resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${var.name}-errors"
  alarm_description   = "Invocations of ${var.name} ended in an error (a crash or a timeout; the batch is retried, then dead-lettered)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = var.name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.errors_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "throttles" {
  alarm_name          = "${var.name}-throttles"
  alarm_description   = "Invocations of ${var.name} were throttled (reserved or account concurrency exhausted)."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = var.name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}
