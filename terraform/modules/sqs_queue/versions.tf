terraform {
  # A module states minimums only; the root stack pins the versions (and commits the lock file).
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60" # data.aws_service_principal
    }
  }
}
