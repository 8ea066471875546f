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
  description = "Prefix of every resource name. null derives \"<project>-<env>\" (orders-pipeline-dev). Set it when the deploying IAM principal may only create resources whose names begin with its own name. Bucket names add the account and region (<prefix>-<account>-<region>-input), the role name the region."
  type        = string
  default     = null

  validation {
    condition     = var.name_prefix == null || can(regex("^[a-z0-9][a-z0-9-]{1,26}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-28 lowercase letters, digits or '-', starting and ending with a letter or digit (it becomes part of S3 bucket names)."
  }

  validation {
    # The longest name is the bucket "<prefix>-<12-digit account>-<region, up to 14>-output" (S3
    # allows 63).
    condition     = length(coalesce(var.name_prefix, "${var.project}-${var.env}")) <= 28
    error_message = "The name prefix (name_prefix, or <project>-<env>) must be at most 28 characters: bucket names are <prefix>-<account>-<region>-output and S3 allows 63."
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
  description = "Function image by digest (<repository-url>@sha256:...), as printed by scripts/build_and_push.sh; or give image_digest instead. null (with image_digest null) keeps the image the function runs now, or, when there is no function yet, plans none (plan, apply and destroy work before any image is pushed)."
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
  description = "Memory of the reports function in MB (CPU scales with it)."
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
  description = "Reserved concurrency of the reports function; -1 (the default) reserves none. Reserving N needs an account concurrency quota of at least 100 + N: new accounts often have 10, and AWS rejects the function."
  type        = number
  default     = -1
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
  description = "Receives of a message before it moves to the DLQ. AWS advises at least 5 for a Lambda consumer (a throttled receive counts too)."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be from 1 to 1000."
  }
}

variable "log_level" {
  description = "POWERTOOLS_LOG_LEVEL of every function."
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

variable "ecr_untagged_image_expiry_days" {
  description = "Untagged images in the ECR repository expire this many days after push. Tagged images (one per commit) never expire: a function version may run any of them."
  type        = number
  default     = 7
  nullable    = false
}

variable "function_alias" {
  description = "Alias every function's SQS mappings invoke; Terraform points it at the version each apply publishes, and `aws lambda update-alias` rolls back."
  type        = string
  default     = "live"
  nullable    = false
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the functions' EMF metrics (POWERTOOLS_METRICS_NAMESPACE); the reports FilesFailed alarm watches it."
  type        = string
  default     = "OrdersPipeline"
  nullable    = false
}

variable "input_retention_days" {
  description = "Uploaded files (input and partner-feed buckets) expire this many days after upload (and are removed 30 days later, as noncurrent versions). null keeps them until deleted."
  type        = number
  default     = 365

  validation {
    condition     = var.input_retention_days == null || try(var.input_retention_days >= 1, false)
    error_message = "input_retention_days must be null or >= 1."
  }
}

variable "audit_trail_enabled" {
  description = "Create a CloudTrail trail of S3 data events (who read, wrote or deleted which object) for the input, partner-feed and output buckets, with its own bucket. Turn off when an organization trail already records them, or the region's trail quota (5 per account) is used up."
  type        = bool
  default     = true
  nullable    = false
}

variable "audit_log_retention_days" {
  description = "Days the audit trail's log files are kept."
  type        = number
  default     = 365
  nullable    = false
}

variable "force_destroy" {
  description = "Let terraform destroy remove non-empty buckets and the ECR repository with images. Prefer scripts/destroy.sh, which empties them explicitly."
  type        = bool
  default     = false
  nullable    = false
}

variable "reports_source_wait_seconds" {
  description = "SOURCE_WAIT_SECONDS of the reports function: how long a run waits for another run of the same source (one run per source) before its message is retried. Keep it well under timeout."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = var.reports_source_wait_seconds >= 0 && var.reports_source_wait_seconds <= 600
    error_message = "reports_source_wait_seconds must be from 0 to 600."
  }
}

variable "registry_memory_size" {
  description = "Memory of the registry function in MB (it parses events and starts executions)."
  type        = number
  default     = 256
  nullable    = false

  validation {
    condition     = var.registry_memory_size >= 128 && var.registry_memory_size <= 10240
    error_message = "registry_memory_size must be from 128 to 10240."
  }
}

variable "registry_timeout" {
  description = "Timeout of the registry function in seconds (its queue's visibility timeout is 6x this plus the batching window)."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.registry_timeout >= 1 && var.registry_timeout <= 900
    error_message = "registry_timeout must be from 1 to 900."
  }
}

variable "loader_memory_size" {
  description = "Memory of the loader function in MB."
  type        = number
  default     = 1024
  nullable    = false

  validation {
    condition     = var.loader_memory_size >= 128 && var.loader_memory_size <= 10240
    error_message = "loader_memory_size must be from 128 to 10240."
  }
}

variable "loader_timeout" {
  description = "Timeout of the loader function in seconds. A file that does not fit continues in the next invocation from a checkpoint (-loader-continue), loader_margin_seconds before the timeout."
  type        = number
  default     = 300
  nullable    = false

  validation {
    condition     = var.loader_timeout >= 60 && var.loader_timeout <= 900
    error_message = "loader_timeout must be from 60 to 900."
  }
}

variable "loader_margin_seconds" {
  description = "LOADER_MARGIN_SECONDS: the loader checkpoints and continues this long before its timeout. null leaves the function's default."
  type        = number
  default     = null

  validation {
    condition     = var.loader_margin_seconds == null || try(var.loader_margin_seconds >= 1 && var.loader_margin_seconds <= 600, false)
    error_message = "loader_margin_seconds must be null or from 1 to 600."
  }
}

variable "table_deletion_protection" {
  description = "Deletion protection of the DynamoDB tables (-files, -rows, -transactions). Off by default so that destroy.sh tears the stack down; turn it on for an environment whose registry must outlive mistakes (PITR is on either way)."
  type        = bool
  default     = false
  nullable    = false
}

variable "state_machine_log_level" {
  description = "Execution logging of the registry state machine to CloudWatch Logs (/aws/vendedlogs/states/<prefix>-registry): OFF, ERROR, FATAL or ALL. Anything but OFF also gives its role the log delivery actions, on \"*\" (AWS requires it)."
  type        = string
  default     = "OFF"
  nullable    = false

  validation {
    condition     = contains(["OFF", "ERROR", "FATAL", "ALL"], var.state_machine_log_level)
    error_message = "state_machine_log_level must be OFF, ERROR, FATAL or ALL."
  }
}

variable "state_machine_tracing" {
  description = "X-Ray tracing of the registry state machine. On also gives its role the X-Ray actions, on \"*\" (AWS requires it)."
  type        = bool
  default     = false
  nullable    = false
}

variable "feed_memory_size" {
  description = "Memory of the customer feed function in MB. 1769 MB buys one vCPU: the join is CPU-bound (a day of 1M customers, 5M orders and 20M items took 330 CPU-s and peaked at 256 MB: python -m benchmarks.feed_memory)."
  type        = number
  default     = 1769
  nullable    = false

  validation {
    condition     = var.feed_memory_size >= 128 && var.feed_memory_size <= 10240
    error_message = "feed_memory_size must be from 128 to 10240."
  }
}

variable "feed_timeout" {
  description = "Timeout of the customer feed function in seconds: a day of 1M customers takes about 7 minutes on one vCPU (a set's claim lease expires after it; its queue's visibility timeout is 6x this plus the batching window)."
  type        = number
  default     = 900
  nullable    = false

  validation {
    condition     = var.feed_timeout >= 1 && var.feed_timeout <= 900
    error_message = "feed_timeout must be from 1 to 900."
  }
}

variable "feed_ephemeral_storage_mb" {
  description = "Size of the customer feed function's /tmp in MB: the join spills orders and items there (about 100 bytes an item: 1.95 GB for a day of 1M customers, 5M orders and 20M items)."
  type        = number
  default     = 4096
  nullable    = false

  validation {
    condition     = var.feed_ephemeral_storage_mb >= 512 && var.feed_ephemeral_storage_mb <= 10240
    error_message = "feed_ephemeral_storage_mb must be from 512 to 10240."
  }
}

variable "feed_incomplete_after_seconds" {
  description = "INCOMPLETE_AFTER_SECONDS of the customer feed function: a set still missing a file this long after one of its files landed counts as incomplete (FeedSetsIncomplete). The check is a message delayed this long (SQS DelaySeconds: 0 to 900)."
  type        = number
  default     = 900
  nullable    = false

  validation {
    condition     = var.feed_incomplete_after_seconds >= 0 && var.feed_incomplete_after_seconds <= 900 && floor(var.feed_incomplete_after_seconds) == var.feed_incomplete_after_seconds
    error_message = "feed_incomplete_after_seconds must be a whole number from 0 to 900 (SQS DelaySeconds)."
  }
}

variable "customer_feed_message_retention_seconds" {
  description = "Retention of the output queue -customer-feed (default 4 days): how long its consumers have to take a message."
  type        = number
  default     = 345600
  nullable    = false

  validation {
    condition     = var.customer_feed_message_retention_seconds >= 60 && var.customer_feed_message_retention_seconds <= 1209600
    error_message = "customer_feed_message_retention_seconds must be from 60 to 1209600 (14 days)."
  }
}

variable "transactions_memory_size" {
  description = "Memory of the transactions function in MB (it validates and stores up to transactions_batch_size events per invocation)."
  type        = number
  default     = 512
  nullable    = false

  validation {
    condition     = var.transactions_memory_size >= 128 && var.transactions_memory_size <= 10240
    error_message = "transactions_memory_size must be from 128 to 10240."
  }
}

variable "transactions_timeout" {
  description = "Timeout of the transactions function in seconds (its queue's visibility timeout is 6x this plus the batching window)."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = var.transactions_timeout >= 1 && var.transactions_timeout <= 900
    error_message = "transactions_timeout must be from 1 to 900."
  }
}

variable "transactions_batch_size" {
  description = "Events (SQS messages) per invocation of the transactions function; a failed event alone is retried (partial batch responses)."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.transactions_batch_size >= 1 && var.transactions_batch_size <= 10
    error_message = "transactions_batch_size must be from 1 to 10."
  }
}

variable "transactions_batching_window_seconds" {
  description = "How long the transactions queue's mapping waits to fill a batch (events arrive in bursts; each is stored within seconds)."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.transactions_batching_window_seconds >= 0 && var.transactions_batching_window_seconds <= 300 && floor(var.transactions_batching_window_seconds) == var.transactions_batching_window_seconds
    error_message = "transactions_batching_window_seconds must be a whole number from 0 to 300."
  }
}

variable "alerts_email" {
  description = "E-mail address subscribed to the alerts topic -alerts (LARGE_ORDER and INVALID_EVENT alerts; it must confirm the subscription), or null for none."
  type        = string
  default     = null

  validation {
    condition     = var.alerts_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alerts_email))
    error_message = "alerts_email must be an e-mail address (name@domain.tld) or null."
  }
}
