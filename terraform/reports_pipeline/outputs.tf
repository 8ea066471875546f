output "name_prefix" {
  description = "Prefix of every resource name."
  value       = local.name_prefix
}

output "input_bucket" {
  description = "Bucket partners upload orders CSVs to."
  value       = module.input_bucket.name
}

output "output_bucket" {
  description = "Bucket the reports land in (<report>/dt=YYYY-MM-DD/<source>.csv)."
  value       = module.output_bucket.name
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
  description = "Name of the reports function."
  value       = module.reports_function.function_name
}

output "function_role_arn" {
  description = "Execution role of the reports function."
  value       = module.reports_function.role_arn
}

output "ecr_repository_name" {
  description = "ECR repository name (give it to scripts/build_and_push.sh --repository)."
  value       = module.ecr.name
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

output "kms_key_arn" {
  description = "The stack's KMS key."
  value       = aws_kms_key.this.arn
}

output "image_uri" {
  description = "Image the function runs."
  value       = local.image_uri
}
