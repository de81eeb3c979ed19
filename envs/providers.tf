provider "aws" {
  region = var.region

  # Only this account may be changed from this root.
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = merge(var.default_tags, {
      Environment = var.environment
      ManagedBy   = "terraform"
      Repository  = "terraform-aws-personalize-pipeline"
    })
  }
}
