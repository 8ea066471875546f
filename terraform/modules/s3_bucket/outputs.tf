output "bucket_name" {
  description = "Bucket name."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "Bucket ARN."
  value       = aws_s3_bucket.this.arn
}

output "bucket_objects_arn" {
  description = "ARN pattern of every object in the bucket (<arn>/*), for IAM statements."
  value       = "${aws_s3_bucket.this.arn}/*"
}

output "bucket_regional_domain_name" {
  description = "Regional domain name of the bucket."
  value       = aws_s3_bucket.this.bucket_regional_domain_name
}

output "bucket_policy_json" {
  description = "The bucket policy document: TLS-only, TLS >= minimum_tls_version, plus additional_policy_json (attached when attach_policy is true)."
  value       = data.aws_iam_policy_document.this.json
}
