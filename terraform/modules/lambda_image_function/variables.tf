variable "function_name" {
  description = "Function name; also the name of its IAM role and of its log group /aws/lambda/<name>."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be 1-64 letters, digits, '-' or '_'."
  }
}

variable "role_name" {
  description = "Name of the execution role. null uses function_name. IAM names are account-wide (functions are regional): include the region when one account runs the stack in several regions."
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

variable "image_uri" {
  description = "Container image by digest: <account>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:<64 hex>. A tag is not accepted: a digest pins exactly what runs."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[^@\\s]+@sha256:[0-9a-f]{64}$", var.image_uri))
    error_message = "image_uri must be an image reference by digest (<repository-url>@sha256:<64 hex digits>); build and push the image first (scripts/build_and_push.sh prints it)."
  }
}

variable "image_command" {
  description = "The image command (CMD override): the handler the Lambda runtime interface client starts."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.image_command) >= 1
    error_message = "image_command needs at least one element (e.g. [\"app.handlers.reports.handler\"])."
  }
}

variable "environment" {
  description = "Environment variables of the function."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "memory_size" {
  description = "Memory in MB (CPU scales with it)."
  type        = number
  default     = 1024
  nullable    = false

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB from 128 to 10240."
  }
}

variable "timeout" {
  description = "Timeout in seconds."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds from 1 to 900."
  }
}

variable "ephemeral_storage_mb" {
  description = "Size of /tmp in MB."
  type        = number
  default     = 512
  nullable    = false

  validation {
    condition     = var.ephemeral_storage_mb >= 512 && var.ephemeral_storage_mb <= 10240
    error_message = "ephemeral_storage_mb must be from 512 to 10240."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency (also a ceiling). -1 reserves none (the default): reserving needs an account concurrency quota of at least 100 + this value, and new accounts often have 10."
  type        = number
  default     = -1
  nullable    = false

  validation {
    condition     = var.reserved_concurrent_executions == -1 || (var.reserved_concurrent_executions >= 0 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions)
    error_message = "reserved_concurrent_executions must be -1 (none) or a whole number >= 0."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days."
  type        = number
  default     = 365
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "kms_key_arn" {
  description = "KMS key ARN encrypting the environment variables and the log group. null uses AWS-managed keys."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:...) or null."
  }
}

variable "policy_statements" {
  description = "Allow statements of the role's policy, besides those the module adds (its log group, X-Ray, its SQS event source): exact actions on exact resources, optionally with conditions. A wildcard action and a \"*\" resource are rejected."
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

  validation {
    condition     = alltrue([for s in var.policy_statements : alltrue([for a in s.actions : !strcontains(a, "*")])])
    error_message = "policy_statements must list exact actions (no \"*\" in an action)."
  }

  validation {
    condition     = alltrue([for s in var.policy_statements : length(s.actions) > 0 && length(s.resources) > 0 && alltrue([for r in s.resources : r != "*"])])
    error_message = "Every statement needs actions and resources, and a resource of \"*\" is not accepted."
  }

  validation {
    condition     = alltrue([for s in var.policy_statements : can(regex("^[A-Za-z0-9]+$", s.sid))])
    error_message = "Every statement sid must be alphanumeric."
  }

  validation {
    condition     = alltrue(flatten([for s in var.policy_statements : [for c in s.conditions : length(c.values) > 0]]))
    error_message = "Every condition needs at least one value."
  }
}

variable "alias_name" {
  description = "Publish a version on every change and point this alias at it; the SQS mapping invokes the alias, so `aws lambda update-alias` rolls back. null publishes nothing and the mapping invokes $LATEST."
  type        = string
  default     = "live"

  validation {
    condition     = var.alias_name == null || can(regex("^[A-Za-z][A-Za-z0-9_-]{0,127}$", var.alias_name))
    error_message = "alias_name must start with a letter and be 1-128 letters, digits, '-' or '_' (not a number: that would be a version)."
  }
}

variable "sqs_event_source" {
  description = "SQS queue feeding the function (partial batch responses), or null. The module grants the role the four consumer actions on that queue."
  type = object({
    queue_arn                          = string
    batch_size                         = optional(number, 10)
    maximum_batching_window_in_seconds = optional(number, 0)
    maximum_concurrency                = optional(number, 5)
  })
  default = null

  validation {
    condition     = var.sqs_event_source == null || try(var.sqs_event_source.batch_size >= 1 && var.sqs_event_source.batch_size <= 10000, false)
    error_message = "sqs_event_source.batch_size must be from 1 to 10000 (above 10 needs a batching window)."
  }

  validation {
    condition     = var.sqs_event_source == null || try(var.sqs_event_source.maximum_batching_window_in_seconds >= 0 && var.sqs_event_source.maximum_batching_window_in_seconds <= 300, false)
    error_message = "sqs_event_source.maximum_batching_window_in_seconds must be from 0 to 300."
  }

  validation {
    condition     = var.sqs_event_source == null || try(var.sqs_event_source.maximum_concurrency >= 2 && var.sqs_event_source.maximum_concurrency <= 1000, false)
    error_message = "sqs_event_source.maximum_concurrency must be from 2 to 1000."
  }

  validation {
    condition     = var.sqs_event_source == null || try(can(regex("^arn:aws[a-z-]*:sqs:", var.sqs_event_source.queue_arn)), false)
    error_message = "sqs_event_source.queue_arn must be an SQS queue ARN."
  }
}

variable "event_source_mapping_enabled" {
  description = "Whether the SQS mapping polls. false pauses processing (messages wait in the queue) without removing anything."
  type        = bool
  default     = true
  nullable    = false
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary of the role, if the account requires one."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for the function, role and log group (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
  nullable    = false
}
