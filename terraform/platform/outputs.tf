output "name_prefix" {
  description = "Prefix of every resource name."
  value       = local.name_prefix
}

output "input_bucket" {
  description = "Bucket partners upload orders CSVs to."
  value       = module.input_bucket.bucket_name
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
  description = "SNS topic receiving the input bucket's ObjectCreated events."
  value       = module.fanout.topic_arn
}

output "reports_queue_url" {
  description = "URL of the queue feeding the reports function."
  value       = module.reports_queue.queue_url
}

output "reports_dlq_url" {
  description = "URL of the reports dead-letter queue."
  value       = module.reports_queue.dlq_url
}

output "function_name" {
  description = "Name of the reports function (null until an image exists)."
  value       = one(module.reports_function[*].function_name)
}

output "function_alias_arn" {
  description = "The alias the queue invokes (null until an image exists)."
  value       = one(module.reports_function[*].alias_arn)
}

output "function_version" {
  description = "The version the alias points at (null until an image exists)."
  value       = one(module.reports_function[*].function_version)
}

output "function_role_arn" {
  description = "Execution role of the reports function (null until an image exists)."
  value       = one(module.reports_function[*].role_arn)
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
  description = "Image the function runs (null until an image exists)."
  value       = local.image_uri
}
