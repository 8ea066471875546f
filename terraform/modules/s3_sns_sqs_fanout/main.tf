data "aws_caller_identity" "current" {}

data "aws_service_principal" "s3" {
  service_name = "s3"
}

data "aws_service_principal" "sns" {
  service_name = "sns"
}

resource "aws_sns_topic" "this" {
  name              = var.topic_name
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid     = "AllowBucketNotifications"
    effect  = "Allow"
    actions = ["SNS:Publish"]
    # A topic policy applies to this topic; the resource is the topic itself.
    resources = [aws_sns_topic.this.arn]

    principals {
      type        = "Service"
      identifiers = [data.aws_service_principal.s3.name]
    }

    # Only events of these buckets, and only when the bucket is in this account (bucket names
    # are global, so the account check stops a re-created bucket elsewhere from publishing).
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = sort([for b in values(var.buckets) : b.arn])
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "this" {
  arn    = aws_sns_topic.this.arn
  policy = data.aws_iam_policy_document.topic.json
}

data "aws_iam_policy_document" "queue" {
  for_each = var.create_queue_policies ? var.queues : {}

  statement {
    sid       = "AllowLandingTopic"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [each.value.arn]

    principals {
      type        = "Service"
      identifiers = [data.aws_service_principal.sns.name]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.this.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "this" {
  for_each = data.aws_iam_policy_document.queue

  queue_url = var.queues[each.key].url
  policy    = each.value.json
}

resource "aws_sns_topic_subscription" "this" {
  for_each = var.queues

  topic_arn = aws_sns_topic.this.arn
  protocol  = "sqs"
  endpoint  = each.value.arn
  # Consumers get the S3 event notification JSON itself, not an SNS envelope around it.
  raw_message_delivery = true

  # Routing by bucket: the S3 event's Records[].s3.bucket.name, matched in the message body.
  filter_policy_scope = each.value.buckets == null ? null : "MessageBody"
  filter_policy = each.value.buckets == null ? null : jsonencode({
    Records = { s3 = { bucket = { name = sort([for b in each.value.buckets : var.buckets[b].name]) } } }
  })

  depends_on = [aws_sqs_queue_policy.this]
}

resource "aws_s3_bucket_notification" "this" {
  for_each = var.buckets

  bucket = each.value.name

  topic {
    id            = "${var.topic_name}-objects"
    topic_arn     = aws_sns_topic.this.arn
    events        = var.events
    filter_prefix = var.filter_prefix
    filter_suffix = var.filter_suffix
  }

  # S3 checks it may publish (sends a test event) when the notification is saved.
  depends_on = [aws_sns_topic_policy.this, aws_sns_topic_subscription.this]
}
