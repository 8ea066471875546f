output "name_prefix" {
  description = "Prefix of every resource name."
  value       = local.name_prefix
}

output "input_bucket" {
  description = "Bucket partners upload orders CSVs to."
  value       = module.input_bucket.bucket_name
}

output "partner_feed_bucket" {
  description = "Bucket partners upload their daily customers_, orders_ and items_YYYYMMDD.csv files to."
  value       = module.partner_feed_bucket.bucket_name
}

output "output_bucket" {
  description = "Bucket the reports land in (<report>/dt=YYYY-MM-DD/<source>.csv)."
  value       = module.output_bucket.bucket_name
}

output "report_output_prefixes" {
  description = "Prefixes of the output bucket under which the reports function writes and deletes (and the state prefix it alone reads)."
  value = {
    outputs = local.report_output_prefixes
    state   = local.report_state_prefix
  }
}

output "landing_topic_arn" {
  description = "SNS topic receiving the ObjectCreated events of the input and partner-feed buckets."
  value       = module.fanout.topic_arn
}

output "reports_queue_url" {
  description = "URL of the queue feeding the reports function."
  value       = module.reports.queue_url
}

output "reports_dlq_url" {
  description = "URL of the reports dead-letter queue."
  value       = module.reports.dlq_url
}

output "function_name" {
  description = "Name of the reports function (null until an image exists)."
  value       = module.reports.function_name
}

output "function_alias_arn" {
  description = "The alias the queue invokes (null until an image exists)."
  value       = module.reports.function_alias_arn
}

output "function_version" {
  description = "The version the alias points at (null until an image exists)."
  value       = module.reports.function_version
}

output "function_role_arn" {
  description = "Execution role of the reports function (null until an image exists)."
  value       = module.reports.role_arn
}

output "ecr_repository_name" {
  description = "ECR repository name (give it to scripts/build_and_push.sh --repository)."
  value       = module.ecr.repository_name
}

output "ecr_repository_url" {
  description = "ECR repository URL."
  value       = module.ecr.repository_url
}

output "athena_workgroup" {
  description = "Athena workgroup for querying the reports."
  value       = module.analytics.workgroup_name
}

output "glue_database" {
  description = "Glue catalog database holding one table per report."
  value       = module.analytics.database_name
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify."
  value       = module.alarms.topic_arn
}

output "audit_trail_arn" {
  description = "CloudTrail trail recording the buckets' data events (null when audit_trail_enabled is false)."
  value       = one(module.audit_trail[*].trail_arn)
}

output "audit_bucket" {
  description = "Bucket holding the audit trail's log files (null when audit_trail_enabled is false)."
  value       = one(module.audit_trail[*].bucket_name)
}

output "kms_key_arn" {
  description = "The stack's KMS key."
  value       = aws_kms_key.this.arn
}

output "image_uri" {
  description = "Image the reports function runs (null until an image exists); the same image serves every function."
  value       = local.function_images.reports
}

# --- the file registry and the table loader ---------------------------------------------------

output "files_table" {
  description = "DynamoDB table of every landed object (partition key FileName = <bucket>/<key>)."
  value       = aws_dynamodb_table.files.name
}

output "rows_table" {
  description = "DynamoDB table of the loaded CSV records (source = <bucket>/<key>, row = record number)."
  value       = aws_dynamodb_table.rows.name
}

output "state_machine_arn" {
  description = "The registry state machine (Standard), which records each landed object in the files table."
  value       = aws_sfn_state_machine.registry.arn
}

output "state_machine_role_arn" {
  description = "Execution role of the registry state machine."
  value       = aws_iam_role.state_machine.arn
}

output "registry_queue_url" {
  description = "URL of the queue feeding the registry function (events of both buckets)."
  value       = module.registry.queue_url
}

output "registry_dlq_url" {
  description = "URL of the registry dead-letter queue."
  value       = module.registry.dlq_url
}

output "registry_function_name" {
  description = "Name of the registry function (null until an image exists)."
  value       = module.registry.function_name
}

output "registry_role_arn" {
  description = "Execution role of the registry function (null until an image exists)."
  value       = module.registry.role_arn
}

output "loader_queue_url" {
  description = "URL of the queue feeding the loader function (events of the input bucket)."
  value       = module.loader.queue_url
}

output "loader_dlq_url" {
  description = "URL of the loader dead-letter queue."
  value       = module.loader.dlq_url
}

output "loader_continue_queue_url" {
  description = "URL of the loader's continuation queue (checkpoints of files too large for one invocation)."
  value       = module.loader.queues["continue"].url
}

output "loader_function_name" {
  description = "Name of the loader function (null until an image exists)."
  value       = module.loader.function_name
}

output "loader_role_arn" {
  description = "Execution role of the loader function (null until an image exists)."
  value       = module.loader.role_arn
}

# --- the customer feed ------------------------------------------------------------------------

output "feed_queue_url" {
  description = "URL of the queue feeding the customer feed function (events of the partner-feed bucket, and its own delayed completeness checks)."
  value       = module.customer_feed.queue_url
}

output "feed_dlq_url" {
  description = "URL of the customer feed's dead-letter queue."
  value       = module.customer_feed.dlq_url
}

output "customer_feed_queue_url" {
  description = "URL of the output queue -customer-feed (one message per customer of a partner's set; no DLQ: its consumers own their redrive)."
  value       = aws_sqs_queue.customer_feed.url
}

output "customer_feed_queue_arn" {
  description = "ARN of the output queue -customer-feed (for its consumers' policies)."
  value       = aws_sqs_queue.customer_feed.arn
}

output "customer_feed_function_name" {
  description = "Name of the customer feed function (null until an image exists)."
  value       = module.customer_feed.function_name
}

output "customer_feed_role_arn" {
  description = "Execution role of the customer feed function (null until an image exists)."
  value       = module.customer_feed.role_arn
}

# --- the transactions stream ------------------------------------------------------------------

output "transactions_queue_url" {
  description = "URL of the queue producers send order events to (orders-pipeline send-events --queue-url); the transactions function consumes it."
  value       = module.transactions.queue_url
}

output "transactions_queue_arn" {
  description = "ARN of the transactions queue (for the producers' policies: sqs:SendMessage, and kms:GenerateDataKey through SQS with the stack's key)."
  value       = module.transactions.queue_arn
}

output "transactions_dlq_url" {
  description = "URL of the transactions dead-letter queue."
  value       = module.transactions.dlq_url
}

output "transactions_table" {
  description = "DynamoDB table of the stored order events (partition key order_id)."
  value       = aws_dynamodb_table.transactions.name
}

output "alerts_topic_arn" {
  description = "SNS topic of the LARGE_ORDER and INVALID_EVENT alerts (message attribute `alert`, for subscription filter policies)."
  value       = aws_sns_topic.alerts.arn
}

output "transactions_function_name" {
  description = "Name of the transactions function (null until an image exists)."
  value       = module.transactions.function_name
}

output "transactions_role_arn" {
  description = "Execution role of the transactions function (null until an image exists)."
  value       = module.transactions.role_arn
}
