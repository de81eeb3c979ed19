terraform {
  required_version = ">= 1.5.0"

  # The module's providers; with create = false they are configured but make no call.
  required_providers {
    archive = { source = "hashicorp/archive", version = ">= 2.4" }
    aws     = { source = "hashicorp/aws", version = ">= 6.0" }
  }
}
