terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }

  # Partial configuration: bucket, key and region come from -backend-config at init (see
  # README.md). use_lockfile = true turns on S3 native state locking (Terraform >= 1.10), so no
  # DynamoDB lock table is needed.
  backend "s3" {}
}
