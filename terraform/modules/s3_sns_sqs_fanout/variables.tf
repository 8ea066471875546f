variable "topic_name" {
  description = "Name of the landing SNS topic."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,256}$", var.topic_name))
    error_message = "topic_name must be 1-256 letters, digits, '-' or '_'."
  }
}

variable "bucket_name" {
  description = "Name of the bucket whose object events are published."
  type        = string
  nullable    = false
}

variable "bucket_arn" {
  description = "ARN of that bucket (the topic policy accepts events from it alone)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]+$", var.bucket_arn))
    error_message = "bucket_arn must be an S3 bucket ARN (arn:aws:s3:::<bucket>)."
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
  description = "Subscribed queues, by a short name: their ARN and URL. Each gets raw message delivery and a policy admitting this topic alone. A queue encrypted with a customer managed key (SSE-KMS) also needs that key's policy to let the SNS service principal use it (kms:GenerateDataKey, kms:Decrypt, for this topic by aws:SourceArn); SSE-SQS queues need nothing."
  type = map(object({
    arn = string
    url = string
  }))
  nullable = false

  validation {
    condition     = alltrue([for q in values(var.queues) : can(regex("^arn:aws[a-z-]*:sqs:", q.arn))])
    error_message = "Every queue arn must be an SQS queue ARN."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the topic. Its key policy must let the S3 service principal use it (kms:GenerateDataKey, kms:Decrypt; conditions aws:SourceArn = the bucket, kms:EncryptionContext:aws:sns:topicArn = the topic). The AWS managed aws/sns key cannot be used: S3 could not publish."
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
