output "topic_arn" {
  description = "Alarm topic ARN (give it to other alarms' alarm_actions)."
  value       = aws_sns_topic.alarms.arn
}

output "topic_name" {
  description = "Alarm topic name."
  value       = aws_sns_topic.alarms.name
}

output "alarm_names" {
  description = "Names of the alarms this module created (function Errors/Throttles, metric_alarms)."
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.function_errors : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.function_throttles : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.metric : a.alarm_name],
  )
}
