provider "aws" {
  region = "eu-west-1"
}

# The smallest call: a name, the sources, the export spec and a notification address.
module "personalize_pipeline" {
  source = "../.."

  name = "retail-recs-minimal"

  sources = {
    events = {
      type = "s3"
      path = "s3://retail-clickstream/events/"
    }
  }

  export_spec_path   = "${path.module}/export_spec.yaml"
  notification_email = "recs-team@example.com"
}

output "workflow_name" {
  description = "Name of the Glue export workflow."
  value       = module.personalize_pipeline.workflow_name
}
