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

variable "current_version_expiration_days" {
  description = "Days after which current objects expire (become noncurrent, then are removed after noncurrent_version_expiration_days). null keeps them until deleted."
  type        = number
  default     = null

  validation {
    condition     = var.current_version_expiration_days == null || try(var.current_version_expiration_days >= 1 && floor(var.current_version_expiration_days) == var.current_version_expiration_days, false)
    error_message = "current_version_expiration_days must be null or a whole number >= 1."
  }
}

variable "minimum_tls_version" {
  description = "The bucket policy denies requests made with a TLS version below this (s3:TlsVersion)."
  type        = string
  default     = "1.2"
  nullable    = false

  validation {
    condition     = contains(["1.2", "1.3"], var.minimum_tls_version)
    error_message = "minimum_tls_version must be \"1.2\" or \"1.3\"."
  }
}

variable "additional_policy_json" {
  description = "More bucket policy statements (a JSON policy document), merged with the TLS denials, e.g. CloudTrail's right to write logs. null adds none."
  type        = string
  default     = null
}

variable "attach_policy" {
  description = "Attach the bucket policy (deny requests without TLS or below minimum_tls_version, plus additional_policy_json). Keep true; only emulators that mis-evaluate Deny conditions (moto denies every request) need false."
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
