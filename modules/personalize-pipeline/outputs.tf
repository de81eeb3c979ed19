output "kms_key_arn" {
  description = "ARN of the project KMS key (created or given)."
  value       = local.create ? local.kms_key_arn : null
}

output "data_bucket_name" {
  description = "Name of the bucket that receives the exports."
  value       = module.dataset_export.data_bucket_name
}

output "artifacts_bucket_name" {
  description = "Name of the bucket with scripts, packages, the export spec and the training params."
  value       = module.dataset_export.artifacts_bucket_name
}

output "export_root" {
  description = "S3 URI under which the exports are written."
  value       = module.dataset_export.export_root
}

output "export_spec_uri" {
  description = "S3 URI of the export spec (JSON)."
  value       = module.dataset_export.export_spec_uri
}

output "params_uri" {
  description = "S3 URI of the params object; each new version starts a training run."
  value       = module.dataset_export.artifacts_bucket_name == null ? null : "s3://${module.dataset_export.artifacts_bucket_name}/${module.dataset_export.params_key}"
}

output "catalog_database_name" {
  description = "Name of the Glue Data Catalog database of the sources."
  value       = module.dataset_export.catalog_database_name
}

output "workflow_name" {
  description = "Name of the Glue export workflow (start it with `aws glue start-workflow-run --name <name>`)."
  value       = module.dataset_export.workflow_name
}

output "job_names" {
  description = "Glue job names by job."
  value       = module.dataset_export.job_names
}

output "crawler_names" {
  description = "Crawler names by source key."
  value       = module.dataset_export.crawler_names
}

output "state_machine_arn" {
  description = "ARN of the training state machine."
  value       = module.training_pipeline.state_machine_arn
}

output "function_arns" {
  description = "Training Lambda ARNs by registry key."
  value       = module.training_pipeline.function_arns
}

output "personalize_role_arn" {
  description = "ARN of the Personalize service role."
  value       = module.training_pipeline.personalize_role_arn
}

output "notification_topic_arn" {
  description = "ARN of the training notification topic."
  value       = module.training_pipeline.sns_topic_arn
}

output "alert_topic_arn" {
  description = "ARN of the schema-drift and failure alert topic (null when drift alerts are off)."
  value       = module.schema_drift_alerts.sns_topic_arn
}

output "drift_function_name" {
  description = "Name of the schema-drift Lambda (null when drift alerts are off)."
  value       = module.schema_drift_alerts.function_name
}

output "ssm_parameter_prefix" {
  description = "SSM Parameter Store path under which the event tracker id is written."
  value       = module.training_pipeline.ssm_parameter_prefix
}
