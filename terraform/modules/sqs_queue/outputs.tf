output "queue_name" {
  description = "Main queue name."
  value       = aws_sqs_queue.this.name
}

output "queue_arn" {
  description = "Main queue ARN."
  value       = aws_sqs_queue.this.arn
}

output "queue_url" {
  description = "Main queue URL."
  value       = aws_sqs_queue.this.id
}

output "dlq_name" {
  description = "Dead-letter queue name."
  value       = aws_sqs_queue.dlq.name
}

output "dlq_arn" {
  description = "Dead-letter queue ARN."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_url" {
  description = "Dead-letter queue URL."
  value       = aws_sqs_queue.dlq.id
}

output "visibility_timeout_seconds" {
  description = "The derived visibility timeout of the main queue."
  value       = aws_sqs_queue.this.visibility_timeout_seconds
}

output "alarm_arns" {
  description = "ARNs of the DLQ-depth, DLQ-arrivals and oldest-message-age alarms."
  value = [
    aws_cloudwatch_metric_alarm.dlq_depth.arn,
    aws_cloudwatch_metric_alarm.dlq_arrivals.arn,
    aws_cloudwatch_metric_alarm.oldest_message_age.arn,
  ]
}

output "queue_policy_json" {
  description = "The main queue's policy as rendered (null when attach_policy is false)."
  value       = try(data.aws_iam_policy_document.queue["main"].json, null)
}

output "alarm_names" {
  description = "Names of the DLQ-depth, DLQ-arrivals and oldest-message-age alarms."
  value = [
    aws_cloudwatch_metric_alarm.dlq_depth.alarm_name,
    aws_cloudwatch_metric_alarm.dlq_arrivals.alarm_name,
    aws_cloudwatch_metric_alarm.oldest_message_age.alarm_name,
  ]
}
