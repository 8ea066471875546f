variable "name" {
  description = "Globally unique bucket name."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name)) && !can(regex("\\.\\.", var.name))
    error_message = "name must be 3-63 characters: lowercase letters, digits, '.' and '-', starting and ending with a letter or digit."
  }
}

variable "kms_key_arn" {
  description = "KMS key ARN for default encryption (SSE-KMS with an S3 Bucket Key). null uses SSE-S3 (AES256)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:...) or null."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which noncurrent (overwritten or deleted) object versions are removed."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number >= 1."
  }
}

variable "abort_incomplete_multipart_upload_days" {
  description = "Days after which incomplete multipart uploads are aborted (their parts cost storage)."
  type        = number
  default     = 7
  nullable    = false

  validation {
    condition     = var.abort_incomplete_multipart_upload_days >= 1 && floor(var.abort_incomplete_multipart_upload_days) == var.abort_incomplete_multipart_upload_days
    error_message = "abort_incomplete_multipart_upload_days must be a whole number >= 1."
  }
}

variable "expiration_rules" {
  description = "Extra lifecycle rules expiring current objects under a prefix after some days (e.g. Athena query results)."
  type = list(object({
    id     = string
    prefix = string
    days   = number
  }))
  default  = []
  nullable = false

  validation {
    condition     = alltrue([for r in var.expiration_rules : r.days >= 1 && length(r.prefix) > 0 && length(r.id) > 0])
    error_message = "Each expiration rule needs a non-empty id and prefix, and days >= 1."
  }
}

variable "tls_only_policy" {
  description = "Attach the bucket policy denying every request not made over TLS (aws:SecureTransport = false). Keep true; only emulators that mis-evaluate Deny conditions (moto denies every request) need false."
  type        = bool
  default     = true
  nullable    = false
}

variable "force_destroy" {
  description = "Let terraform destroy delete a non-empty bucket. Off by default: scripts/destroy.sh empties buckets explicitly."
  type        = bool
  default     = false
  nullable    = false
}

variable "tags" {
  description = "Tags for the bucket (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
  nullable    = false
}
