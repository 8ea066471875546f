output "queue_name" {
  description = "Main queue name (<name>)."
  value       = module.queue["main"].queue_name
}

output "queue_arn" {
  description = "Main queue ARN."
  value       = module.queue["main"].queue_arn
}

output "queue_url" {
  description = "Main queue URL."
  value       = module.queue["main"].queue_url
}

output "dlq_arn" {
  description = "Main queue's dead-letter queue ARN."
  value       = module.queue["main"].dlq_arn
}

output "dlq_url" {
  description = "Main queue's dead-letter queue URL."
  value       = module.queue["main"].dlq_url
}

output "queues" {
  description = "Every queue of the consumer by key (\"main\" and the extra_queues keys): name, arn, url, dlq_arn, dlq_url, visibility_timeout_seconds."
  value = {
    for k, q in module.queue : k => {
      name                       = q.queue_name
      arn                        = q.queue_arn
      url                        = q.queue_url
      dlq_arn                    = q.dlq_arn
      dlq_url                    = q.dlq_url
      visibility_timeout_seconds = q.visibility_timeout_seconds
    }
  }
}

output "function_name" {
  description = "Function name (null until create_function)."
  value       = one(module.function[*].function_name)
}

output "function_arn" {
  description = "Function ARN, unqualified (null until create_function)."
  value       = one(module.function[*].function_arn)
}

output "function_alias_arn" {
  description = "The alias the mappings invoke (null until create_function, or without an alias)."
  value       = one(module.function[*].alias_arn)
}

output "function_version" {
  description = "The version the alias points at (null until create_function)."
  value       = one(module.function[*].function_version)
}

output "role_arn" {
  description = "The function's execution role ARN (null until create_function)."
  value       = one(module.function[*].role_arn)
}

output "role_policy_json" {
  description = "The role's inline policy as rendered (null until create_function)."
  value       = one(module.function[*].role_policy_json)
}

output "event_source_mapping_uuids" {
  description = "UUID of each queue's event source mapping, by queue key (empty until create_function)."
  value       = { for k, m in aws_lambda_event_source_mapping.this : k => m.uuid }
}

output "alarm_names" {
  description = "Every alarm of the consumer: the function's Errors and Throttles, and each queue's DLQ depth, DLQ arrivals and oldest-message age."
  value = concat(
    [aws_cloudwatch_metric_alarm.errors.alarm_name, aws_cloudwatch_metric_alarm.throttles.alarm_name],
    flatten([for q in module.queue : q.alarm_names]),
  )
}
