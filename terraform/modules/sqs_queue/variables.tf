variable "name" {
  description = "Queue name; the dead-letter queue is named <name>-dlq."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,76}$", var.name))
    error_message = "name must be 1-76 letters, digits, '-' or '_' (80 characters with the -dlq suffix)."
  }
}

variable "function_timeout_seconds" {
  description = "Timeout of the consuming Lambda function; the visibility timeout is derived from it."
  type        = number
  nullable    = false

  validation {
    condition     = var.function_timeout_seconds >= 1 && var.function_timeout_seconds <= 900
    error_message = "function_timeout_seconds must be from 1 to 900 (the Lambda limit)."
  }
}

variable "visibility_timeout_multiplier" {
  description = "Visibility timeout = multiplier x function timeout + batching window. AWS recommends at least 6."
  type        = number
  default     = 6
  nullable    = false

  validation {
    condition     = var.visibility_timeout_multiplier >= 6 && var.visibility_timeout_multiplier <= 48
    error_message = "visibility_timeout_multiplier must be from 6 (AWS guidance) to 48."
  }
}

variable "maximum_batching_window_seconds" {
  description = "Batching window of the consuming event source mapping (added to the visibility timeout)."
  type        = number
  default     = 0
  nullable    = false

  validation {
    condition     = var.maximum_batching_window_seconds >= 0 && var.maximum_batching_window_seconds <= 300
    error_message = "maximum_batching_window_seconds must be from 0 to 300."
  }
}

variable "max_receive_count" {
  description = "Receives before a message moves to the dead-letter queue (redrive maxReceiveCount). AWS advises at least 5 for a Lambda consumer, so that throttled receives do not dead-letter a message."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number from 1 to 1000."
  }
}

variable "message_retention_seconds" {
  description = "Retention of the main queue (default 4 days)."
  type        = number
  default     = 345600
  nullable    = false

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be from 60 to 1209600 (14 days)."
  }
}

variable "dlq_message_retention_seconds" {
  description = "Retention of the dead-letter queue (default 14 days, the maximum: time to investigate)."
  type        = number
  default     = 1209600
  nullable    = false

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600
    error_message = "dlq_message_retention_seconds must be from 60 to 1209600 (14 days)."
  }
}

variable "kms_key_arn" {
  description = "KMS key ARN for SSE-KMS. null uses SSE-SQS (SQS-managed keys)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:...) or null."
  }
}

variable "kms_data_key_reuse_period_seconds" {
  description = "How long SQS reuses a data key before calling KMS again (SSE-KMS only); longer = fewer KMS requests."
  type        = number
  default     = 3600
  nullable    = false

  validation {
    condition     = var.kms_data_key_reuse_period_seconds >= 60 && var.kms_data_key_reuse_period_seconds <= 86400
    error_message = "kms_data_key_reuse_period_seconds must be from 60 to 86400."
  }
}

variable "restrict_dlq_sources" {
  description = "Attach a redrive allow policy so that only this queue may use the DLQ. (Off only for emulators that lack RedriveAllowPolicy.)"
  type        = bool
  default     = true
  nullable    = false
}

variable "attach_policy" {
  description = "Set the queue policies of the queue and its DLQ (their `policy` argument): deny every request not made over TLS (aws:SecureTransport = false) and, on the main queue, allow SendMessage from sns_topic_arns. Off only when something else owns the queue policy (an aws_sqs_queue_policy: one policy per queue)."
  type        = bool
  default     = true
  nullable    = false
}

variable "sns_topic_arns" {
  description = "SNS topics allowed to send to the main queue (the queue policy's Allow for the SNS service principal, by aws:SourceArn). With SSE-KMS the key policy must also let SNS use the key for these queues."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for t in var.sns_topic_arns : can(regex("^arn:aws[a-z-]*:sns:", t))])
    error_message = "sns_topic_arns must be SNS topic ARNs."
  }
}

variable "age_alarm_threshold_seconds" {
  description = "Alarm when the oldest message in the main queue is at least this old."
  type        = number
  default     = 900
  nullable    = false

  validation {
    condition     = var.age_alarm_threshold_seconds >= 60
    error_message = "age_alarm_threshold_seconds must be >= 60."
  }
}

variable "alarm_actions" {
  description = "ARNs notified when an alarm changes state (e.g. the alarm SNS topic)."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "tags" {
  description = "Tags for the queues and alarms (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
  nullable    = false
}
