variable "name" {
  description = "Name of the consumer: its queue (<name>, DLQ <name>-dlq), its function and log group, its alarms. Extra queues are <name>-<key>."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,50}$", var.name))
    error_message = "name must be 1-50 letters, digits, '-' or '_' (queue names add -<key>-dlq, at most 80 characters)."
  }
}

variable "queue_name" {
  description = "Name of the main queue (DLQ <queue_name>-dlq) when it is not the function's (null: name)."
  type        = string
  default     = null

  validation {
    condition     = var.queue_name == null || can(regex("^[A-Za-z0-9_-]{1,76}$", var.queue_name))
    error_message = "queue_name must be 1-76 letters, digits, '-' or '_' (80 characters with the -dlq suffix)."
  }
}

variable "queue_function_sends" {
  description = "Let the function send to its main queue (e.g. a delayed check it feeds itself): sqs:SendMessage on it and, with kms_key_arn, kms:GenerateDataKey through SQS for it."
  type        = bool
  default     = false
  nullable    = false
}

variable "queue_url_variable" {
  description = "Environment variable of the function set to its main queue's URL (null: none)."
  type        = string
  default     = null

  validation {
    condition     = var.queue_url_variable == null || can(regex("^[A-Za-z][A-Za-z0-9_]*$", var.queue_url_variable))
    error_message = "queue_url_variable must be an environment variable name."
  }
}

variable "create_function" {
  description = "Create the function and its event source mappings. false (no image yet) creates the queues and the alarms only: messages wait in the queue until the function exists."
  type        = bool
  default     = true
  nullable    = false
}

variable "image_uri" {
  description = "The function's image by digest (<repository-url>@sha256:<64 hex>); required when create_function is true."
  type        = string
  default     = null

  validation {
    condition     = var.image_uri == null || can(regex("^[^@\\s]+@sha256:[0-9a-f]{64}$", var.image_uri))
    error_message = "image_uri must be <repository-url>@sha256:<64 hex digits> (a tag is not accepted)."
  }
}

variable "image_command" {
  description = "The image command (CMD override) naming the handler, e.g. [\"app.handlers.registry.handler\"]."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.image_command) >= 1
    error_message = "image_command needs at least one element."
  }
}

variable "role_name" {
  description = "Name of the function's execution role (null: the function name). IAM names are account-wide: include the region when one account runs the stack in several."
  type        = string
  default     = null

  validation {
    condition     = var.role_name == null || can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "role_name must be 1-64 characters: letters, digits or +=,.@_-."
  }
}

variable "description" {
  description = "Function description."
  type        = string
  default     = ""
  nullable    = false
}

variable "environment" {
  description = "Environment variables of the function."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "policy_statements" {
  description = "Allow statements of the function's role besides those the modules add (its queues: consume, decrypt, send where function_sends; its log group; X-Ray): exact actions on exact resources, optionally with conditions. A wildcard action and a \"*\" resource are rejected (by modules/lambda_image_function)."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
    conditions = optional(list(object({
      test     = string
      variable = string
      values   = list(string)
    })), [])
  }))
  default  = []
  nullable = false
}

variable "memory_size" {
  description = "Function memory in MB (CPU scales with it)."
  type        = number
  default     = 1024
  nullable    = false

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be from 128 to 10240."
  }
}

variable "timeout" {
  description = "Function timeout in seconds; every queue's visibility timeout is derived from it (6x plus the batching window)."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be from 1 to 900."
  }
}

variable "ephemeral_storage_mb" {
  description = "Size of the function's /tmp in MB."
  type        = number
  default     = 512
  nullable    = false

  validation {
    condition     = var.ephemeral_storage_mb >= 512 && var.ephemeral_storage_mb <= 10240
    error_message = "ephemeral_storage_mb must be from 512 to 10240."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency of the function; -1 reserves none (reserving N needs an account concurrency quota of at least 100 + N)."
  type        = number
  default     = -1
  nullable    = false

  validation {
    condition     = var.reserved_concurrent_executions == -1 || var.reserved_concurrent_executions >= 0
    error_message = "reserved_concurrent_executions must be -1 (none) or >= 0."
  }
}

variable "alias_name" {
  description = "Alias the event source mappings invoke; each apply that changes the function publishes a version and points the alias at it. null invokes $LATEST."
  type        = string
  default     = "live"
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days (a CloudWatch Logs allowed value)."
  type        = number
  default     = 365
  nullable    = false
}

variable "kms_key_arn" {
  description = "KMS key encrypting the queues (SSE-KMS), the function's environment and its log group. The role gets kms:Decrypt through SQS for its queues (kms:GenerateDataKey for those it sends to). Its key policy must let the SNS service principal use it for queues a topic feeds. null: SSE-SQS and AWS managed keys."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:...) or null."
  }
}

variable "sns_topic_arns" {
  description = "SNS topics allowed to send to the main queue (its queue policy)."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "extra_queues" {
  description = "More queues the same function consumes, by key: <name>-<key>, each with its DLQ, alarms and mapping. function_sends lets the function send to it (e.g. a continuation queue it feeds itself); url_variable names an environment variable of the function set to its URL; batch_size (null: var.batch_size)."
  type = map(object({
    function_sends = optional(bool, false)
    url_variable   = optional(string)
    batch_size     = optional(number)
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for k, q in var.extra_queues : can(regex("^[a-z0-9-]{1,20}$", k)) && k != "dlq" && k != "main" && (q.batch_size == null || try(q.batch_size >= 1 && q.batch_size <= 10, false)) && (q.url_variable == null || can(regex("^[A-Za-z][A-Za-z0-9_]*$", q.url_variable)))])
    error_message = "extra_queues keys must be 1-20 lowercase letters, digits or '-' (not \"dlq\" or \"main\"); batch_size from 1 to 10; url_variable an environment variable name."
  }
}

variable "batch_size" {
  description = "Messages per invocation (each mapping)."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10
    error_message = "batch_size must be from 1 to 10 (larger batches need a batching window)."
  }
}

variable "maximum_batching_window_seconds" {
  description = "How long a mapping waits to fill a batch (added to the visibility timeout)."
  type        = number
  default     = 0
  nullable    = false

  validation {
    condition     = var.maximum_batching_window_seconds >= 0 && var.maximum_batching_window_seconds <= 300
    error_message = "maximum_batching_window_seconds must be from 0 to 300."
  }
}

variable "maximum_concurrency" {
  description = "Most concurrent invocations each mapping starts (scaling_config)."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = var.maximum_concurrency >= 2 && var.maximum_concurrency <= 1000
    error_message = "maximum_concurrency must be from 2 to 1000."
  }
}

variable "max_receive_count" {
  description = "Receives of a message before it moves to its queue's DLQ. AWS advises at least 5 for a Lambda consumer (a throttled receive counts too)."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number from 1 to 1000."
  }
}

variable "event_source_mapping_enabled" {
  description = "Whether the mappings poll. false pauses processing (messages wait) without removing anything."
  type        = bool
  default     = true
  nullable    = false
}

variable "restrict_dlq_sources" {
  description = "Redrive allow policies: only its queue may use each DLQ. (Off only for emulators that lack RedriveAllowPolicy.)"
  type        = bool
  default     = true
  nullable    = false
}

variable "age_alarm_threshold_seconds" {
  description = "Alarm when the oldest message of a queue is at least this old."
  type        = number
  default     = 900
  nullable    = false

  validation {
    condition     = var.age_alarm_threshold_seconds >= 60
    error_message = "age_alarm_threshold_seconds must be >= 60."
  }
}

variable "errors_threshold" {
  description = "The errors alarm fires when the function's errors in a minute exceed this."
  type        = number
  default     = 0
  nullable    = false

  validation {
    condition     = var.errors_threshold >= 0
    error_message = "errors_threshold must be >= 0."
  }
}

variable "alarm_actions" {
  description = "ARNs notified when an alarm changes state (e.g. the alarm SNS topic)."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary of the function's role, if the account requires one."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for everything the module creates (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
  nullable    = false
}
