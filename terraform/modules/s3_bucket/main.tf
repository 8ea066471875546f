locals {
  sse_algorithm = var.kms_key_arn == null ? "AES256" : "aws:kms"
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Object-level access to the stack's data buckets is recorded by its CloudTrail trail of S3 data events (modules/audit_trail, on by default), which names the principal, the object and the request; server access logs would repeat that, best effort, in a second log bucket per bucket. The trail's own log bucket is not logged again (logs of logs); CloudTrail log file validation proves its files unaltered.
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage cost. Inputs can be uploaded again by partners and outputs recomputed from them; a second copy of audit logs belongs in the organization's central log archive, not in an application stack.
  #checkov:skip=CKV2_AWS_62:Event notifications are attached where a consumer exists (the input bucket, by the s3_sns_sqs_fanout module); a generic bucket must not force one.
  bucket        = var.name
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# ACLs off: the bucket owner owns every object, access is decided by policies alone.
resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = local.sse_algorithm
      kms_master_key_id = var.kms_key_arn
    }
    # S3 Bucket Keys cut KMS requests (and their cost) by caching a bucket-level data key. The
    # KMS encryption context (and CloudTrail's KMS events) then name the bucket, not the object.
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

data "aws_iam_policy_document" "this" {
  # Statements a caller adds (e.g. CloudTrail writing to an audit bucket) come first.
  source_policy_documents = var.additional_policy_json == null ? [] : [var.additional_policy_json]

  statement {
    sid    = "DenyInsecureTransport"
    effect = "Deny"
    # A Deny: the wildcard widens what is refused over plain HTTP, it grants nothing.
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this.arn,
      "${aws_s3_bucket.this.arn}/*",
    ]

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

  statement {
    sid    = "DenyTlsBelow12"
    effect = "Deny"
    # A Deny as above: refuses every request made with TLS 1.0 or 1.1.
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this.arn,
      "${aws_s3_bucket.this.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = [var.minimum_tls_version]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  count = var.attach_policy ? 1 : 0

  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.this.json

  # S3 rejects a bucket policy while the public access block is still being applied.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_upload_days
    }
  }

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    # A delete marker whose older versions have all expired hides nothing: remove it too, so
    # deleted keys do not pile up as markers (and list calls do not slow down).
    expiration {
      expired_object_delete_marker = true
    }
  }

  dynamic "rule" {
    for_each = var.current_version_expiration_days == null ? [] : [var.current_version_expiration_days]
    content {
      id     = "expire-current-versions"
      status = "Enabled"

      filter {}

      # The current version becomes noncurrent (a delete marker is placed), then the rule
      # above removes it after noncurrent_version_expiration_days.
      expiration {
        days = rule.value
      }

      abort_incomplete_multipart_upload {
        days_after_initiation = var.abort_incomplete_multipart_upload_days
      }
    }
  }

  dynamic "rule" {
    for_each = var.expiration_rules
    content {
      id     = rule.value.id
      status = "Enabled"

      filter {
        prefix = rule.value.prefix
      }

      expiration {
        days = rule.value.days
      }

      abort_incomplete_multipart_upload {
        days_after_initiation = var.abort_incomplete_multipart_upload_days
      }
    }
  }

  # Lifecycle rules need versioning to be settled first (noncurrent_version_expiration).
  depends_on = [aws_s3_bucket_versioning.this]
}
