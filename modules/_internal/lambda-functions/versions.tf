terraform {
  required_version = ">= 1.5.0"

  # archive builds the deployment package the functions share.
  required_providers {
    archive = { source = "hashicorp/archive", version = ">= 2.4" }
    aws     = { source = "hashicorp/aws", version = ">= 6.0" }
  }
}
