provider "aws" {
  region = "eu-west-1"
}

# create = false: the module creates nothing and every output is null or empty, as
# terraform-aws-modules' create flags do. A root can keep the call (and its settings)
# and switch a pipeline off, e.g. in an account that does not run it yet.
module "personalize_pipeline" {
  source = "../.."

  create = false
  name   = "retail-recs-disabled"

  sources = { events = { type = "s3", path = "s3://retail-clickstream/events/" } }

  export_spec_path   = "${path.module}/export_spec.yaml"
  notification_email = "recs-team@example.com"
}

output "state_machine_arn" {
  description = "ARN of the training state machine: null, as nothing is created."
  value       = module.personalize_pipeline.state_machine_arn
}

output "function_arns" {
  description = "Lambda ARNs by registry key: empty, as nothing is created."
  value       = module.personalize_pipeline.function_arns
}
