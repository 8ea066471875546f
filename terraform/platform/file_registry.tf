# The file registry: every object landing in the input or the partner-feed bucket is recorded in
# the DynamoDB table -files by the Standard state machine -registry (its own DynamoDB
# integration, no Lambda in between), started by the registry function from its queue. The
# reports and loader functions add their outcome to the same item.

locals {
  # A registration whose execution fails after its retries is not retried by SQS (the message
  # was consumed when the execution started): this alarm is how it gets seen.
  registry_metric_alarms = {
    "${local.names.state_machine}-executions-failed" = {
      description = "Registry executions that failed after their retries: those uploads have no landing record in ${local.names.files_table}."
      namespace   = "AWS/States"
      metric_name = "ExecutionsFailed"
      dimensions  = { StateMachineArn = local.state_machine_arn }
    }
  }

  # The definition lives with the pipeline's code; ${files_table} is its one placeholder.
  registry_definition_file = "${path.module}/../../app/pipelines/file_registry/state_machine.asl.json"
  state_machine_arn        = "arn:${local.partition}:states:${var.region}:${local.account_id}:stateMachine:${local.names.state_machine}"

  # A table encrypted with a customer managed key: DynamoDB decrypts the table key with the
  # caller's permission (the KMS developer guide, "How Amazon DynamoDB uses AWS KMS": the Decrypt
  # request's user is the principal accessing the table; encryption context
  # aws:dynamodb:tableName). Every role that reads or writes a table gets this, for its tables.
  files_table_kms_statement = {
    sid       = "DecryptFilesTable"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]
    conditions = [
      { test = "StringEquals", variable = "kms:ViaService", values = [local.via.dynamodb] },
      { test = "StringEquals", variable = "kms:EncryptionContext:aws:dynamodb:tableName", values = [local.names.files_table] },
    ]
  }
}

resource "aws_dynamodb_table" "files" {
  name         = local.names.files_table
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "FileName" # "<bucket>/<key>"

  attribute {
    name = "FileName"
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

# --- the state machine -------------------------------------------------------------------------

data "aws_service_principal" "states" {
  service_name = "states"
}

data "aws_iam_policy_document" "state_machine_assume" {
  statement {
    sid     = "StepFunctionsAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = [data.aws_service_principal.states.name]
    }

    # This account's registry state machine alone (confused deputy).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.state_machine_arn]
    }
  }
}

resource "aws_iam_role" "state_machine" {
  name               = local.names.state_machine_role
  description        = "Execution role of the ${local.names.state_machine} state machine (its alone)."
  assume_role_policy = data.aws_iam_policy_document.state_machine_assume.json
}

data "aws_iam_policy_document" "state_machine" {
  # The landing record: UpdateItem only (SET with a condition on LandedOrder), never PutItem,
  # which would erase the consumers' outcomes.
  statement {
    sid       = "RecordLandedFiles"
    effect    = "Allow"
    actions   = ["dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.files.arn]
  }

  statement {
    sid       = local.files_table_kms_statement.sid
    effect    = "Allow"
    actions   = local.files_table_kms_statement.actions
    resources = local.files_table_kms_statement.resources

    dynamic "condition" {
      for_each = local.files_table_kms_statement.conditions
      content {
        test     = condition.value.test
        variable = condition.value.variable
        values   = condition.value.values
      }
    }
  }

  # Only with state_machine_log_level != OFF: CloudWatch Logs' log delivery actions support no
  # resource-level permissions (AWS requires "*").
  dynamic "statement" {
    for_each = var.state_machine_log_level == "OFF" ? [] : [1]
    content {
      sid    = "DeliverExecutionLogs"
      effect = "Allow"
      actions = [
        "logs:CreateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:DescribeLogGroups",
        "logs:DescribeResourcePolicies",
        "logs:GetLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:UpdateLogDelivery",
      ]
      resources = ["*"]
    }
  }

  # Only with state_machine_tracing: X-Ray supports no resource-level permissions.
  dynamic "statement" {
    for_each = var.state_machine_tracing ? [1] : []
    content {
      sid       = "XRayTracing"
      effect    = "Allow"
      actions   = ["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "state_machine" {
  name   = local.names.state_machine
  role   = aws_iam_role.state_machine.id
  policy = data.aws_iam_policy_document.state_machine.json
}

resource "aws_cloudwatch_log_group" "state_machine" {
  count = var.state_machine_log_level == "OFF" ? 0 : 1

  # /aws/vendedlogs/: CloudWatch Logs' resource policy for Step Functions stays small.
  name              = "/aws/vendedlogs/states/${local.names.state_machine}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
}

resource "aws_sfn_state_machine" "registry" {
  #checkov:skip=CKV_AWS_284:X-Ray tracing is state_machine_tracing (off by default): the role then needs xray actions on "*", and the contract keeps this role to UpdateItem on the files table; the execution history already shows every step.
  #checkov:skip=CKV_AWS_285:Execution logging is state_machine_log_level (OFF by default): the role then needs CloudWatch Logs delivery actions on "*", and the contract keeps this role to UpdateItem on the files table; Standard executions keep their full history for 90 days, and the registry function's logs name each execution it starts.
  name     = local.names.state_machine
  type     = "STANDARD"
  role_arn = aws_iam_role.state_machine.arn
  definition = replace(
    file(local.registry_definition_file), "$${files_table}", aws_dynamodb_table.files.name
  )

  dynamic "logging_configuration" {
    for_each = var.state_machine_log_level == "OFF" ? [] : [1]
    content {
      level                  = var.state_machine_log_level
      include_execution_data = true
      log_destination        = "${aws_cloudwatch_log_group.state_machine[0].arn}:*"
    }
  }

  tracing_configuration {
    enabled = var.state_machine_tracing
  }

  # The role must be able to write before the first execution.
  depends_on = [aws_iam_role_policy.state_machine]
}

# --- the registry function ---------------------------------------------------------------------

module "registry" {
  source = "../modules/queue_consumer"

  name            = local.functions.registry
  role_name       = local.function_roles.registry
  description     = "Every landed object -> one registry state machine execution (${local.name_prefix})."
  create_function = local.function_enabled.registry
  image_uri       = local.function_images.registry
  image_command   = ["app.handlers.registry.handler"]

  memory_size        = var.registry_memory_size
  timeout            = var.registry_timeout
  alias_name         = var.function_alias
  log_retention_days = var.log_retention_days
  kms_key_arn        = aws_kms_key.this.arn

  batch_size                      = 10
  maximum_batching_window_seconds = var.maximum_batching_window_seconds
  max_receive_count               = var.max_receive_count
  sns_topic_arns                  = [local.landing_topic]
  alarm_actions                   = [module.alarms.topic_arn]

  environment = merge(local.telemetry.registry, {
    STATE_MACHINE_ARN = aws_sfn_state_machine.registry.arn
  })

  policy_statements = [
    {
      sid       = "StartRegistryExecutions"
      actions   = ["states:StartExecution"]
      resources = [aws_sfn_state_machine.registry.arn]
    },
  ]

  depends_on = [module.ecr]
}
