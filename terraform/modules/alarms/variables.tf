variable "topic_name" {
  description = "Name of the alarm SNS topic."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,256}$", var.topic_name))
    error_message = "topic_name must be 1-256 letters, digits, '-' or '_'."
  }
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (it must confirm the subscription), or null."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an e-mail address or null."
  }
}

variable "function_names" {
  description = "Lambda functions that get an Errors and a Throttles alarm."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "metric_alarms" {
  description = "Alarms on custom metrics, by alarm name: fires when the metric's Sum over `period` seconds exceeds `threshold` (e.g. the reports function's FilesFailed EMF metric)."
  type = map(object({
    description = string
    namespace   = string
    metric_name = string
    dimensions  = map(string)
    period      = optional(number, 60)
    threshold   = optional(number, 0)
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for k, a in var.metric_alarms : can(regex("^[A-Za-z0-9._-]{1,255}$", k)) && a.period >= 10 && a.threshold >= 0])
    error_message = "metric_alarms: names of 1-255 letters, digits, '.', '_' or '-'; period >= 10; threshold >= 0."
  }
}

variable "errors_threshold" {
  description = "Errors alarm fires when the per-minute error count exceeds this."
  type        = number
  default     = 0
  nullable    = false

  validation {
    condition     = var.errors_threshold >= 0
    error_message = "errors_threshold must be >= 0."
  }
}

variable "throttles_threshold" {
  description = "Throttles alarm fires when the per-minute throttle count exceeds this (2 of 5 minutes)."
  type        = number
  default     = 0
  nullable    = false

  validation {
    condition     = var.throttles_threshold >= 0
    error_message = "throttles_threshold must be >= 0."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the alarm topic. Its key policy must let the CloudWatch service principal use it (kms:GenerateDataKey, kms:Decrypt), for these alarms (aws:SourceArn) and this topic (kms:EncryptionContext:aws:sns:topicArn)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:...)."
  }
}

variable "tags" {
  description = "Tags for the topic and alarms (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
  nullable    = false
}
