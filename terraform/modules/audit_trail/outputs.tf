output "trail_arn" {
  description = "Trail ARN."
  value       = aws_cloudtrail.this.arn
}

output "trail_name" {
  description = "Trail name."
  value       = aws_cloudtrail.this.name
}

output "bucket_name" {
  description = "Bucket holding the log files (<prefix>/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/)."
  value       = module.bucket.bucket_name
}

output "bucket_arn" {
  description = "ARN of that bucket."
  value       = module.bucket.bucket_arn
}

output "bucket_policy_json" {
  description = "The log bucket's policy as rendered (TLS denials and CloudTrail's statements)."
  value       = module.bucket.bucket_policy_json
}
