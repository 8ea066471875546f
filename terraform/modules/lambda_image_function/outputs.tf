output "function_name" {
  description = "Function name."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "Function ARN (unqualified)."
  value       = aws_lambda_function.this.arn
}

output "function_version" {
  description = "The latest published version (\"$LATEST\" when alias_name is null: nothing is published)."
  value       = aws_lambda_function.this.version
}

output "alias_name" {
  description = "Name of the alias the event source invokes, or null."
  value       = one(aws_lambda_alias.this[*].name)
}

output "alias_arn" {
  description = "ARN of that alias, or null."
  value       = one(aws_lambda_alias.this[*].arn)
}

output "role_name" {
  description = "Execution role name."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "Execution role ARN."
  value       = aws_iam_role.this.arn
}

output "role_policy_json" {
  description = "The role's inline policy document as rendered."
  value       = data.aws_iam_policy_document.this.json
}

output "log_group_name" {
  description = "Log group name (/aws/lambda/<function_name>)."
  value       = aws_cloudwatch_log_group.this.name
}

output "event_source_mapping_uuid" {
  description = "UUID of the SQS event source mapping, or null."
  value       = one(aws_lambda_event_source_mapping.sqs[*].uuid)
}
