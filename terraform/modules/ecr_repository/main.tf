data "aws_service_principal" "lambda" {
  service_name = "lambda"
}

resource "aws_ecr_repository" "this" {
  name = var.name
  # Immutable tags: a tag names one image forever, so a deployed digest can be traced to its tag.
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = var.kms_key_arn == null ? "AES256" : "KMS"
    kms_key         = var.kms_key_arn
  }

  tags = var.tags
}

# Only untagged images expire. Every pushed image is tagged (git SHA, immutable), and any of
# them may be what a function version runs or rolls back to; a count-based rule over tagged
# images could expire the deployed one (Lambda cannot start from a deleted image).
resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name

  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Expire untagged images ${var.untagged_image_expiry_days} days after push"
      selection = {
        tagStatus   = "untagged"
        countType   = "sinceImagePushed"
        countUnit   = "days"
        countNumber = var.untagged_image_expiry_days
      }
      action = { type = "expire" }
    }]
  })
}

# Lambda pulls the image as its service principal. Declared here, Lambda does not add its own
# statement at function creation (which needs ecr:SetRepositoryPolicy on the deployer and
# leaves a policy Terraform does not know about).
data "aws_iam_policy_document" "lambda_pull" {
  count = length(var.lambda_function_arns) > 0 ? 1 : 0

  statement {
    sid     = "LambdaPullStackFunctions"
    effect  = "Allow"
    actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]

    principals {
      type        = "Service"
      identifiers = [data.aws_service_principal.lambda.name]
    }

    # Only for these functions (and their versions and aliases).
    condition {
      test     = "StringLike"
      variable = "aws:SourceArn"
      values   = flatten([for arn in var.lambda_function_arns : [arn, "${arn}:*"]])
    }
  }
}

resource "aws_ecr_repository_policy" "this" {
  count = length(var.lambda_function_arns) > 0 ? 1 : 0

  repository = aws_ecr_repository.this.name
  policy     = data.aws_iam_policy_document.lambda_pull[0].json
}
