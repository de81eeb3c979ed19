output "workflow_name" {
  description = "Glue export workflow; start a run with `aws glue start-workflow-run --name <name>`."
  value       = module.personalize_pipeline.workflow_name
}

output "state_machine_arn" {
  description = "ARN of the training state machine."
  value       = module.personalize_pipeline.state_machine_arn
}

output "params_uri" {
  description = "S3 URI of the params object; each new version starts a training run."
  value       = module.personalize_pipeline.params_uri
}

output "export_root" {
  description = "S3 URI under which the exports are written."
  value       = module.personalize_pipeline.export_root
}

output "notification_topic_arn" {
  description = "Training notification topic."
  value       = module.personalize_pipeline.notification_topic_arn
}

output "alert_topic_arn" {
  description = "Schema-drift and failure alert topic."
  value       = module.personalize_pipeline.alert_topic_arn
}

output "ssm_parameter_prefix" {
  description = "SSM path of the event tracker id."
  value       = module.personalize_pipeline.ssm_parameter_prefix
}
