variable "project" {
  description = "Project name: the first part of the default name prefix, and the `project` tag."
  type        = string
  default     = "orders-pipeline"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,30}[a-z0-9]$", var.project))
    error_message = "project must be 2-32 lowercase letters, digits or '-'."
  }
}

variable "env" {
  description = "Environment name (dev, staging, prod, ...): part of the default name prefix, and the `env` tag."
  type        = string
  default     = "dev"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9]{1,12}$", var.env))
    error_message = "env must be 1-12 lowercase letters or digits."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name. null derives \"<project>-<env>\" (orders-pipeline-dev). Set it when the deploying IAM principal may only create resources whose names begin with its own name."
  type        = string
  default     = null

  validation {
    # The longest derived name is the DLQ "<prefix>-reports-dlq" (SQS allows 80) and the bucket
    # names "<prefix>-output" (S3 allows 63, lowercase).
    condition     = var.name_prefix == null || can(regex("^[a-z0-9][a-z0-9-]{1,44}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-46 lowercase letters, digits or '-', starting and ending with a letter or digit (it becomes part of S3 bucket names)."
  }
}

variable "owner" {
  description = "Owner tag (a person or team e-mail/handle) on every resource."
  type        = string
  nullable    = false

  validation {
    condition     = length(trimspace(var.owner)) > 0 && length(var.owner) <= 256
    error_message = "owner must be a non-empty tag value (at most 256 characters)."
  }
}

variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-\\d$", var.region))
    error_message = "region must be an AWS region code such as eu-west-1."
  }
}

variable "aws_profile" {
  description = "AWS CLI/SDK profile to use, or null for the default credential chain (environment, SSO, instance role)."
  type        = string
  default     = null
}

variable "image_uri" {
  description = "Function image by digest (<repository-url>@sha256:...), as printed by scripts/build_and_push.sh. Leave null on the first (ECR-only) apply; or give image_digest instead."
  type        = string
  default     = null

  validation {
    condition     = var.image_uri == null || can(regex("^[^@\\s]+@sha256:[0-9a-f]{64}$", var.image_uri))
    error_message = "image_uri must be <repository-url>@sha256:<64 hex digits> (a tag is not accepted)."
  }
}

variable "image_digest" {
  description = "Alternative to image_uri: just the digest (sha256:...) of an image in this stack's ECR repository."
  type        = string
  default     = null

  validation {
    condition     = var.image_digest == null || can(regex("^sha256:[0-9a-f]{64}$", var.image_digest))
    error_message = "image_digest must be sha256:<64 hex digits>."
  }
}

variable "memory_size" {
  description = "Memory of the reports function in MB (CPU scales with it; pandas likes 1024+)."
  type        = number
  default     = 2048
  nullable    = false

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be from 128 to 10240."
  }
}

variable "ephemeral_storage_mb" {
  description = "Size of the function's /tmp in MB: the engine spills its distinct-order bookkeeping there (about 12 bytes per distinct order and group; some 300 MB for 10 million rows)."
  type        = number
  default     = 2048
  nullable    = false

  validation {
    condition     = var.ephemeral_storage_mb >= 512 && var.ephemeral_storage_mb <= 10240
    error_message = "ephemeral_storage_mb must be from 512 to 10240."
  }
}

variable "timeout" {
  description = "Timeout of the reports function in seconds; the queue visibility timeout is 6x this plus the batching window."
  type        = number
  default     = 300
  nullable    = false

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be from 1 to 900."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrency of the reports function; -1 reserves none (needed when the account's concurrency quota is below 100 + this, e.g. new accounts with a quota of 10)."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.reserved_concurrency == -1 || var.reserved_concurrency >= 2
    error_message = "reserved_concurrency must be -1 or >= 2 (the SQS mapping's maximum concurrency is at least 2)."
  }
}

variable "batch_size" {
  description = "SQS messages (files) per invocation."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10
    error_message = "batch_size must be from 1 to 10 (larger batches need a batching window and risk timeouts)."
  }
}

variable "maximum_batching_window_seconds" {
  description = "How long the SQS mapping waits to fill a batch."
  type        = number
  default     = 0
  nullable    = false

  validation {
    condition     = var.maximum_batching_window_seconds >= 0 && var.maximum_batching_window_seconds <= 300
    error_message = "maximum_batching_window_seconds must be from 0 to 300."
  }
}

variable "max_receive_count" {
  description = "Receives of a message before it moves to the DLQ."
  type        = number
  default     = 3
  nullable    = false

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be from 1 to 1000."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of the function."
  type        = string
  default     = "INFO"
  nullable    = false

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING, ERROR or CRITICAL."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days (a CloudWatch Logs allowed value)."
  type        = number
  default     = 365
  nullable    = false
}

variable "alarm_email" {
  description = "E-mail subscribed to the alarm topic (confirm the e-mail AWS sends), or null."
  type        = string
  default     = null
}

variable "ecr_keep_last_images" {
  description = "Images kept in the ECR repository."
  type        = number
  default     = 20
  nullable    = false
}

variable "force_destroy" {
  description = "Let terraform destroy remove non-empty buckets and the ECR repository with images. Prefer scripts/destroy.sh, which empties them explicitly."
  type        = bool
  default     = false
  nullable    = false
}
