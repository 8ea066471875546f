variable "name" {
  description = "Repository name (also the image name in the repository URL)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", var.name)) && length(var.name) >= 2 && length(var.name) <= 256
    error_message = "name must be 2-256 lowercase letters, digits, '.', '_', '-' or '/' (ECR naming rules)."
  }
}

variable "untagged_image_expiry_days" {
  description = "Untagged images expire this many days after push. Tagged images never expire (a function may run any of them); delete old tags yourself."
  type        = number
  default     = 7
  nullable    = false

  validation {
    condition     = var.untagged_image_expiry_days >= 1 && floor(var.untagged_image_expiry_days) == var.untagged_image_expiry_days
    error_message = "untagged_image_expiry_days must be a whole number >= 1."
  }
}

variable "lambda_function_arns" {
  description = "Unqualified ARNs of the Lambda functions that may pull images (the repository policy allows the Lambda service principal for these alone, by aws:SourceArn). The functions need not exist yet. Empty: no repository policy."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for a in var.lambda_function_arns : can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\\d{12}:function:[A-Za-z0-9_-]{1,64}$", a))])
    error_message = "lambda_function_arns must be unqualified Lambda function ARNs (arn:aws:lambda:<region>:<account>:function:<name>)."
  }
}

variable "kms_key_arn" {
  description = "KMS key ARN for image encryption. null uses AES256 (ECR-managed keys)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:...) or null."
  }
}

variable "force_delete" {
  description = "Delete the repository even if it still holds images (terraform destroy)."
  type        = bool
  default     = false
  nullable    = false
}

variable "tags" {
  description = "Tags for the repository (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
  nullable    = false
}
