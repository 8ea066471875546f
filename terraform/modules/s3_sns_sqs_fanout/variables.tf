variable "topic_name" {
  description = "Name of the landing SNS topic."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,256}$", var.topic_name))
    error_message = "topic_name must be 1-256 letters, digits, '-' or '_'."
  }
}

variable "buckets" {
  description = "Buckets whose object events are published to the topic, by a short name: their name and ARN. The topic policy accepts events from these buckets alone (and only in this account). The names must be known at plan time (queues' filter policies are built from them); the notifications are created after the topic policy, which names the ARNs: give the ARNs from the bucket resources so that the buckets exist first."
  type = map(object({
    name = string
    arn  = string
  }))
  nullable = false

  validation {
    condition     = length(var.buckets) > 0 && alltrue([for b in values(var.buckets) : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]+$", b.arn))])
    error_message = "buckets needs at least one bucket, and every arn must be an S3 bucket ARN (arn:aws:s3:::<bucket>)."
  }
}

variable "events" {
  description = "S3 event types published."
  type        = list(string)
  default     = ["s3:ObjectCreated:*"]
  nullable    = false

  validation {
    condition     = length(var.events) > 0 && alltrue([for e in var.events : startswith(e, "s3:")])
    error_message = "events must be a non-empty list of S3 event types (s3:...)."
  }
}

variable "filter_prefix" {
  description = "Only keys with this prefix are published (null: any)."
  type        = string
  default     = null
}

variable "filter_suffix" {
  description = "Only keys with this suffix are published (null: every key). S3 suffix filters are case-sensitive: leave null and let consumers decide (the reports function takes .csv in any case and .csv.gz, and logs why it ignores anything else)."
  type        = string
  default     = null
}

variable "queues" {
  description = "Subscribed queues, by a short name: their ARN and URL, and `buckets`, the keys of var.buckets whose events this queue gets (null: every bucket's). A subscription limited to some buckets routes with an SNS filter policy on the message body (FilterPolicyScope MessageBody, Records.s3.bucket.name). Each subscription has raw message delivery. A queue encrypted with a customer managed key (SSE-KMS) also needs that key's policy to let the SNS service principal use it (kms:GenerateDataKey, kms:Decrypt, for this topic by aws:SourceArn); SSE-SQS queues need nothing."
  type = map(object({
    arn     = string
    url     = string
    buckets = optional(list(string))
  }))
  nullable = false

  validation {
    condition     = alltrue([for q in values(var.queues) : can(regex("^arn:aws[a-z-]*:sqs:", q.arn))])
    error_message = "Every queue arn must be an SQS queue ARN."
  }

  validation {
    condition     = alltrue([for q in values(var.queues) : q.buckets == null || try(length(q.buckets) > 0 && alltrue([for b in q.buckets : contains(keys(var.buckets), b)]), false)])
    error_message = "A queue's buckets must be null or a non-empty list of keys of var.buckets."
  }
}

variable "create_queue_policies" {
  description = "Give each queue a policy admitting this topic alone (sqs:SendMessage from the SNS service principal, by aws:SourceArn). Set false when the queues carry their own policy (a queue has one policy: the sqs_queue module's sns_topic_arns does the same, next to its TLS-only statement)."
  type        = bool
  default     = true
  nullable    = false
}

variable "kms_key_arn" {
  description = "KMS key encrypting the topic. Its key policy must let the S3 service principal use it (kms:GenerateDataKey, kms:Decrypt; conditions aws:SourceArn = the buckets, kms:EncryptionContext:aws:sns:topicArn = the topic). The AWS managed aws/sns key cannot be used: S3 could not publish."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:...)."
  }
}

variable "tags" {
  description = "Tags for the topic (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
  nullable    = false
}
