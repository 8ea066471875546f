variable "name" {
  description = "Repository name (also the image name in the repository URL)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", var.name)) && length(var.name) >= 2 && length(var.name) <= 256
    error_message = "name must be 2-256 lowercase letters, digits, '.', '_', '-' or '/' (ECR naming rules)."
  }
}

variable "keep_last_images" {
  description = "How many images the lifecycle policy keeps; older ones expire."
  type        = number
  default     = 20
  nullable    = false

  validation {
    condition     = var.keep_last_images >= 1 && var.keep_last_images <= 10000 && floor(var.keep_last_images) == var.keep_last_images
    error_message = "keep_last_images must be a whole number from 1 to 10000."
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
