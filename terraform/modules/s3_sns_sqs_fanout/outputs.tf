output "topic_arn" {
  description = "Landing topic ARN."
  value       = aws_sns_topic.this.arn
}

output "topic_name" {
  description = "Landing topic name."
  value       = aws_sns_topic.this.name
}

output "subscription_arns" {
  description = "Subscription ARN per queue key."
  value       = { for k, s in aws_sns_topic_subscription.this : k => s.arn }
}
