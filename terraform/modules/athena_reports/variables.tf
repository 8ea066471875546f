variable "database_name" {
  description = "Glue catalog database name. Use lowercase letters, digits and '_' (Athena needs backquotes around '-')."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9_]{1,255}$", var.database_name))
    error_message = "database_name must be 1-255 lowercase letters, digits or '_'."
  }
}

variable "workgroup_name" {
  description = "Athena workgroup name."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,128}$", var.workgroup_name))
    error_message = "workgroup_name must be 1-128 letters, digits, '.', '_' or '-'."
  }
}

variable "bucket_name" {
  description = "Output bucket holding <report>/dt=YYYY-MM-DD/*.csv."
  type        = string
  nullable    = false
}

variable "results_prefix" {
  description = "Prefix of the output bucket that receives Athena query results (the stack owns it; expire it with a lifecycle rule)."
  type        = string
  default     = "_athena/"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/?$", var.results_prefix))
    error_message = "results_prefix must be a relative key prefix such as \"_athena/\"."
  }
}

variable "projection_start_date" {
  description = "First dt (yyyy-MM-dd) of the partition projection range; the range ends at NOW."
  type        = string
  default     = "2024-01-01"
  nullable    = false

  validation {
    condition     = can(regex("^\\d{4}-\\d{2}-\\d{2}$", var.projection_start_date)) && can(formatdate("YYYY", "${var.projection_start_date}T00:00:00Z"))
    error_message = "projection_start_date must be a date yyyy-MM-dd."
  }
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Athena cancels a query scanning more than this many bytes (a cost guard). Minimum 10 MB."
  type        = number
  default     = 10737418240
  nullable    = false

  validation {
    condition     = var.bytes_scanned_cutoff_per_query >= 10485760
    error_message = "bytes_scanned_cutoff_per_query must be >= 10485760 (10 MB)."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting query results (SSE_KMS). null uses SSE_S3."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:...) or null."
  }
}

variable "expected_bucket_owner" {
  description = "Account id expected to own the results bucket (Athena refuses to write elsewhere), or null."
  type        = string
  default     = null

  validation {
    condition     = var.expected_bucket_owner == null || can(regex("^\\d{12}$", var.expected_bucket_owner))
    error_message = "expected_bucket_owner must be a 12-digit account id or null."
  }
}

variable "tags" {
  description = "Tags for the workgroup (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
  nullable    = false
}
