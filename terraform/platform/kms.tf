# One customer managed key for the stack: S3 (SSE-KMS with bucket keys), SNS, SQS, DynamoDB, the
# log groups, the functions' environment, ECR, Athena results and the audit trail. A customer
# managed key (not the AWS managed aws/sns key) is needed because S3 and CloudWatch must publish
# to the encrypted topics, and SNS must deliver to the encrypted queues: only a key policy we own
# can allow those services. Every service statement below is limited to this stack's resources by
# aws:SourceArn and, where the service sets one, by its encryption context. Principals of this
# account (the function and state machine roles) get the key through their IAM policies
# (AccountAdministersKey delegates to IAM), each only through the service and for the resources
# it uses (kms:ViaService, encryption context).

data "aws_service_principal" "s3" {
  service_name = "s3"
}

data "aws_service_principal" "sns" {
  service_name = "sns"
}

data "aws_service_principal" "cloudwatch" {
  service_name = "cloudwatch"
}

data "aws_service_principal" "cloudtrail" {
  service_name = "cloudtrail"
}

locals {
  key_user_actions = ["kms:Decrypt", "kms:GenerateDataKey"]
  # CloudWatch Logs' principal is regional.
  logs_principal = "logs.${var.region}.${local.dns_suffix}"
}

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:A key policy: its resource "*" is this key alone, and only this account's IAM principals (by IAM policy) administer it.
  #checkov:skip=CKV_AWS_111:A key policy: its resource "*" is this key alone; every service statement is limited to this stack's resources by aws:SourceArn, an encryption context, or both.
  #checkov:skip=CKV_AWS_356:A key policy: AWS requires the resource "*", which means this key.
  # In a key policy the resource "*" means "this key": AWS requires it there.
  statement {
    sid    = "AccountAdministersKey"
    effect = "Allow"
    actions = [
      "kms:CancelKeyDeletion",
      "kms:CreateAlias",
      "kms:CreateGrant",
      "kms:Decrypt",
      "kms:DeleteAlias",
      "kms:DescribeKey",
      "kms:DisableKey",
      "kms:DisableKeyRotation",
      "kms:EnableKey",
      "kms:EnableKeyRotation",
      "kms:Encrypt",
      "kms:GenerateDataKey",
      "kms:GenerateDataKeyWithoutPlaintext",
      "kms:GetKeyPolicy",
      "kms:GetKeyRotationStatus",
      "kms:ListGrants",
      "kms:ListKeyRotations",
      "kms:ListResourceTags",
      "kms:PutKeyPolicy",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
      "kms:RetireGrant",
      "kms:RevokeGrant",
      "kms:RotateKeyOnDemand",
      "kms:ScheduleKeyDeletion",
      "kms:TagResource",
      "kms:UntagResource",
      "kms:UpdateAlias",
      "kms:UpdateKeyDescription",
    ]
    resources = ["*"]

    # Delegates to IAM: principals of this account still need an IAM policy allowing the action.
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # S3 -> the encrypted landing topic: events of the input and partner-feed buckets, into that
  # topic only.
  statement {
    sid       = "LandingBucketsPublishToLandingTopic"
    effect    = "Allow"
    actions   = local.key_user_actions
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = [data.aws_service_principal.s3.name]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = local.landing_bucket_arns
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:sns:topicArn"
      values   = [local.landing_topic]
    }
  }

  # CloudWatch -> the encrypted alarm topic: this stack's alarms, into that topic only.
  statement {
    sid       = "StackAlarmsPublishToAlarmTopic"
    effect    = "Allow"
    actions   = local.key_user_actions
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = [data.aws_service_principal.cloudwatch.name]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudwatch:${var.region}:${local.account_id}:alarm:${local.name_prefix}-*"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:sns:topicArn"
      values   = [local.alarm_topic]
    }
  }

  # SNS -> the stack's queues, encrypted with this key (SSE-KMS): the landing topic only, into
  # this stack's queues only. Without it SNS fails to deliver (silently, to the sender).
  statement {
    sid       = "LandingTopicDeliversToStackQueues"
    effect    = "Allow"
    actions   = local.key_user_actions
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = [data.aws_service_principal.sns.name]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.landing_topic]
    }

    condition {
      test     = "StringLike"
      variable = "kms:EncryptionContext:aws:sqs:arn"
      values   = ["arn:${local.partition}:sqs:${var.region}:${local.account_id}:${local.name_prefix}-*"]
    }
  }

  statement {
    sid    = "LogsEncryptOwnLogGroups"
    effect = "Allow"
    actions = [
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:GenerateDataKey",
      "kms:GenerateDataKeyWithoutPlaintext",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = [local.logs_principal]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = concat(
        ["arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/lambda/${local.name_prefix}-*"],
        # The registry state machine's execution log, when state_machine_log_level is on.
        var.state_machine_log_level == "OFF" ? [] : [
          "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/vendedlogs/states/${local.names.state_machine}",
        ],
      )
    }
  }

  # CloudTrail encrypts the audit trail's log files: this trail only.
  dynamic "statement" {
    for_each = var.audit_trail_enabled ? [1] : []
    content {
      sid       = "AuditTrailEncryptsLogs"
      effect    = "Allow"
      actions   = ["kms:GenerateDataKey"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = [data.aws_service_principal.cloudtrail.name]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceArn"
        values   = [local.audit_trail_arn]
      }

      condition {
        test     = "StringLike"
        variable = "kms:EncryptionContext:aws:cloudtrail:arn"
        values   = ["arn:${local.partition}:cloudtrail:*:${local.account_id}:trail/*"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.audit_trail_enabled ? [1] : []
    content {
      sid       = "AuditTrailDescribesKey"
      effect    = "Allow"
      actions   = ["kms:DescribeKey"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = [data.aws_service_principal.cloudtrail.name]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceArn"
        values   = [local.audit_trail_arn]
      }
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "orders pipeline ${local.name_prefix}: data at rest (S3, SNS, SQS, DynamoDB, logs, ECR, Athena, Lambda env, audit trail)."
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "this" {
  name          = local.names.kms_alias
  target_key_id = aws_kms_key.this.key_id
}
