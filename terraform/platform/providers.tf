provider "aws" {
  region  = var.region
  profile = var.aws_profile

  default_tags {
    tags = {
      Owner   = var.owner
      project = var.project
      env     = var.env
    }
  }
}
