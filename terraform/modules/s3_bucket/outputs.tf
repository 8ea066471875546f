output "name" {
  description = "Bucket name."
  value       = aws_s3_bucket.this.id
}

output "arn" {
  description = "Bucket ARN."
  value       = aws_s3_bucket.this.arn
}

output "objects_arn" {
  description = "ARN pattern of every object in the bucket (<arn>/*), for IAM statements."
  value       = "${aws_s3_bucket.this.arn}/*"
}

output "bucket_regional_domain_name" {
  description = "Regional domain name of the bucket."
  value       = aws_s3_bucket.this.bucket_regional_domain_name
}

output "tls_only_policy_json" {
  description = "The TLS-only bucket policy document (attached when tls_only_policy is true)."
  value       = data.aws_iam_policy_document.tls_only.json
}
