# One customer managed key for the stack: S3 (SSE-KMS with bucket keys), SNS, the log group,
# the function's environment, ECR and Athena results. A customer managed key (not the AWS managed
# aws/sns key) is needed because S3 and CloudWatch must publish to the encrypted topics, and only a
# key policy we own can allow those services. The queues use SSE-SQS (see main.tf).

locals {
  key_user_actions = ["kms:Decrypt", "kms:GenerateDataKey"]
}

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:A key policy: its resource "*" is this key alone, and only this account's IAM principals (by IAM policy) administer it.
  #checkov:skip=CKV_AWS_111:A key policy: its resource "*" is this key alone; service principals are limited to this account by aws:SourceAccount.
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

  statement {
    sid       = "ServicesPublishEncryptedMessages"
    effect    = "Allow"
    actions   = local.key_user_actions
    resources = ["*"]

    # S3 -> encrypted landing topic, CloudWatch alarms -> encrypted alarm topic.
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com", "cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
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
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/lambda/${local.name_prefix}-*"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "orders pipeline ${local.name_prefix}: data at rest (S3, SNS, logs, ECR, Athena, Lambda env)."
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "this" {
  name          = local.names.kms_alias
  target_key_id = aws_kms_key.this.key_id
}
