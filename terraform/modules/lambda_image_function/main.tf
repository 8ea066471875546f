locals {
  log_group_name = "/aws/lambda/${var.function_name}"
  # The SQS mapping invokes the alias (when there is one), so a rollback of the alias is a
  # rollback of what processes the queue.
  invoked_arn = var.alias_name == null ? aws_lambda_function.this.arn : aws_lambda_alias.this[0].arn
}

data "aws_service_principal" "lambda" {
  service_name = "lambda"
}

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "LambdaAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = [data.aws_service_principal.lambda.name]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = coalesce(var.role_name, var.function_name)
  description          = "Execution role of the ${var.function_name} function (its alone)."
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "this" {
  dynamic "statement" {
    for_each = var.policy_statements
    content {
      sid       = statement.value.sid
      effect    = "Allow"
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = statement.value.conditions
        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }

  dynamic "statement" {
    for_each = var.sqs_event_source == null ? [] : [var.sqs_event_source]
    content {
      sid    = "ConsumeOwnQueue"
      effect = "Allow"
      actions = [
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
      ]
      resources = [statement.value.queue_arn]
    }
  }

  statement {
    sid     = "WriteOwnLogGroup"
    effect  = "Allow"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    # Log streams of this function's log group only.
    resources = ["${aws_cloudwatch_log_group.this.arn}:log-stream:*"]
  }

  statement {
    sid     = "XRayTracing"
    effect  = "Allow"
    actions = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    # AWS requires "*": these X-Ray actions support no resource-level permissions.
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = var.function_name
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:The function is driven by SQS; failed records go to the queue's redrive DLQ. A function DLQ only applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:The function only calls public AWS endpoints (S3, SQS, X-Ray, Logs); a VPC would add NAT or interface endpoint cost without narrowing access.
  #checkov:skip=CKV_AWS_272:Lambda code signing does not apply to container images; images are pinned by digest from an immutable, scanned ECR repository.
  function_name = var.function_name
  description   = var.description
  role          = aws_iam_role.this.arn
  package_type  = "Image"
  image_uri     = var.image_uri
  architectures = ["arm64"]
  memory_size   = var.memory_size
  timeout       = var.timeout
  kms_key_arn   = var.kms_key_arn
  # Every change of code or configuration publishes a numbered, immutable version.
  publish = var.alias_name != null

  reserved_concurrent_executions = var.reserved_concurrent_executions

  image_config {
    command = var.image_command
  }

  environment {
    variables = var.environment
  }

  ephemeral_storage {
    size = var.ephemeral_storage_mb
  }

  tracing_config {
    mode = "Active"
  }

  tags = var.tags

  # The log group must exist first (else Lambda creates one without retention or key), and the
  # role needs its permissions before the first invocation.
  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]
}

# What the event source invokes. Terraform points it at the version it just published; a
# rollback is one command (see the README), until the next apply.
resource "aws_lambda_alias" "this" {
  count = var.alias_name == null ? 0 : 1

  name             = var.alias_name
  description      = "The version the ${var.function_name} event source invokes."
  function_name    = aws_lambda_function.this.function_name
  function_version = aws_lambda_function.this.version
}

resource "aws_lambda_event_source_mapping" "sqs" {
  count = var.sqs_event_source == null ? 0 : 1

  event_source_arn                   = var.sqs_event_source.queue_arn
  enabled                            = var.event_source_mapping_enabled
  function_name                      = local.invoked_arn
  batch_size                         = var.sqs_event_source.batch_size
  maximum_batching_window_in_seconds = var.sqs_event_source.maximum_batching_window_in_seconds
  # The handler returns {"batchItemFailures": [...]}: only failed records are retried.
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.sqs_event_source.maximum_concurrency
  }

  # AWS checks the role can read the queue when the mapping is created.
  depends_on = [aws_iam_role_policy.this]
}
