data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

data "aws_service_principal" "cloudtrail" {
  service_name = "cloudtrail"
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  # Known before the trail exists: the bucket policy (which the trail needs first) names it.
  trail_arn  = "arn:${data.aws_partition.current.partition}:cloudtrail:${data.aws_region.current.name}:${local.account_id}:trail/${var.trail_name}"
  log_prefix = var.s3_key_prefix == null ? "AWSLogs/${local.account_id}" : "${var.s3_key_prefix}/AWSLogs/${local.account_id}"
}

# What CloudTrail needs on its bucket, for this trail alone (aws:SourceArn).
data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "CloudTrailAclCheck"
    effect    = "Allow"
    actions   = ["s3:GetBucketAcl"]
    resources = ["arn:${data.aws_partition.current.partition}:s3:::${var.bucket_name}"]

    principals {
      type        = "Service"
      identifiers = [data.aws_service_principal.cloudtrail.name]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }

  statement {
    sid       = "CloudTrailWriteLogs"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["arn:${data.aws_partition.current.partition}:s3:::${var.bucket_name}/${local.log_prefix}/*"]

    principals {
      type        = "Service"
      identifiers = [data.aws_service_principal.cloudtrail.name]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "s3:x-amz-acl"
      values   = ["bucket-owner-full-control"]
    }
  }
}

module "bucket" {
  source = "../s3_bucket"

  name                               = var.bucket_name
  kms_key_arn                        = var.kms_key_arn
  force_destroy                      = var.force_destroy
  additional_policy_json             = data.aws_iam_policy_document.bucket.json
  attach_policy                      = var.attach_bucket_policy
  current_version_expiration_days    = var.log_retention_days
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  tags                               = var.tags
}

resource "aws_cloudtrail" "this" {
  #checkov:skip=CKV_AWS_67:This trail records the data events of one stack's buckets, which live in one region. Account-wide, multi-region management-event trails belong to the account's baseline (an organization trail), not to an application stack.
  #checkov:skip=CKV_AWS_252:Nobody consumes a notification per delivered log file; the logs are read from S3 (Athena, or CloudTrail Lake) when an access must be traced.
  #checkov:skip=CKV2_AWS_10:Sending data events to CloudWatch Logs would pay log ingestion ($0.50/GB) a second time for records already in S3; no metric filter or alarm needs them there.
  name                          = var.trail_name
  s3_bucket_name                = module.bucket.bucket_name
  s3_key_prefix                 = var.s3_key_prefix
  kms_key_id                    = var.kms_key_arn
  enable_log_file_validation    = true
  include_global_service_events = false
  is_multi_region_trail         = false
  enable_logging                = true

  # Data events only: who read, wrote or deleted which object of these buckets, and when.
  event_selector {
    read_write_type           = "All"
    include_management_events = false

    data_resource {
      type   = "AWS::S3::Object"
      values = [for arn in var.data_event_bucket_arns : "${arn}/"]
    }
  }

  tags = var.tags

  # CloudTrail checks it may write to the bucket (and use the key) when the trail is created.
  depends_on = [module.bucket]
}
