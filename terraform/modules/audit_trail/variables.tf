variable "trail_name" {
  description = "Name of the trail."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$", var.trail_name))
    error_message = "trail_name must be 3-128 letters, digits, '.', '_' or '-', starting with a letter or digit."
  }
}

variable "bucket_name" {
  description = "Name of the bucket the module creates for the logs (globally unique)."
  type        = string
  nullable    = false
}

variable "s3_key_prefix" {
  description = "Key prefix of the log files in the bucket, or null."
  type        = string
  default     = null

  validation {
    condition     = var.s3_key_prefix == null || can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", var.s3_key_prefix))
    error_message = "s3_key_prefix must be a relative key prefix without a trailing '/' (e.g. \"trail\"), or null."
  }
}

variable "data_event_bucket_arns" {
  description = "Buckets whose object-level events (GetObject, PutObject, DeleteObject, ...) the trail records."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.data_event_bucket_arns) > 0 && alltrue([for a in var.data_event_bucket_arns : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]+$", a))])
    error_message = "data_event_bucket_arns must be a non-empty list of S3 bucket ARNs (arn:aws:s3:::<bucket>)."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the log files (and the bucket). Its key policy must let the CloudTrail service principal use it (kms:GenerateDataKey, kms:DescribeKey, for this trail by aws:SourceArn)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:...)."
  }
}

variable "log_retention_days" {
  description = "Log files expire this many days after delivery (then noncurrent_version_expiration_days later they are gone)."
  type        = number
  default     = 365
  nullable    = false

  validation {
    condition     = var.log_retention_days >= 1 && floor(var.log_retention_days) == var.log_retention_days
    error_message = "log_retention_days must be a whole number >= 1."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which noncurrent versions of log files are removed."
  type        = number
  default     = 30
  nullable    = false
}

variable "attach_bucket_policy" {
  description = "Attach the bucket policy (TLS only, and CloudTrail's right to write). Keep true; only emulators that mis-evaluate Deny conditions need false."
  type        = bool
  default     = true
  nullable    = false
}

variable "force_destroy" {
  description = "Let terraform destroy delete the log bucket while it holds logs. Off by default: scripts/destroy.sh empties buckets explicitly."
  type        = bool
  default     = false
  nullable    = false
}

variable "tags" {
  description = "Tags for the trail and its bucket (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
  nullable    = false
}
