output "function_name" {
  description = "Function name."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "Function ARN."
  value       = aws_lambda_function.this.arn
}

output "role_name" {
  description = "Execution role name."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "Execution role ARN."
  value       = aws_iam_role.this.arn
}

output "policy_json" {
  description = "The role's policy document as rendered."
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
