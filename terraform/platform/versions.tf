terraform {
  # 1.11: S3 native state locking (use_lockfile) is generally available.
  required_version = ">= 1.11"

  # The root pins the provider (modules state minimums); .terraform.lock.hcl records the exact
  # version and its checksums: commit it.
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Partial configuration: bucket, key and region come from -backend-config at init (see
  # README.md). use_lockfile = true turns on S3 native state locking, so no DynamoDB lock table
  # is needed.
  backend "s3" {}
}
