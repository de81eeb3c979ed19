output "data_bucket_name" {
  description = "Name of the bucket that receives the exports."
  value       = try(aws_s3_bucket.this["data"].id, null)
}

output "data_bucket_arn" {
  description = "ARN of the bucket that receives the exports."
  value       = try(aws_s3_bucket.this["data"].arn, null)
}

output "artifacts_bucket_name" {
  description = "Name of the bucket that holds scripts, packages, the export spec and the training params."
  value       = try(aws_s3_bucket.this["artifacts"].id, null)
}

output "artifacts_bucket_arn" {
  description = "ARN of the artifacts bucket."
  value       = try(aws_s3_bucket.this["artifacts"].arn, null)
}

output "export_root" {
  description = "S3 URI under which the exports are written (<export_root>/exports/<run_id>/...)."
  value       = local.create ? local.export_root : null
}

output "exports_prefix" {
  description = "Key prefix of the exports in the data bucket (Personalize reads from here)."
  value       = local.create ? local.exports_prefix : null
}

output "export_spec_uri" {
  description = "S3 URI of the export spec (JSON) read by the jobs and the schema-drift Lambda."
  value       = try("s3://${aws_s3_object.export_spec[0].bucket}/${aws_s3_object.export_spec[0].key}", null)
}

output "export_spec_object_arn" {
  description = "ARN of the export spec object, for read permissions."
  value       = try("${aws_s3_bucket.this["artifacts"].arn}/${aws_s3_object.export_spec[0].key}", null)
}

output "params_template_uri" {
  description = "S3 URI of the training params template."
  value       = try("s3://${aws_s3_object.params_template[0].bucket}/${aws_s3_object.params_template[0].key}", null)
}

output "params_key" {
  description = "Key of the params object in the artifacts bucket; a new version of it starts training."
  value       = local.create ? var.params_key : null
}

output "catalog_database_name" {
  description = "Name of the Glue Data Catalog database of the sources."
  value       = try(aws_glue_catalog_database.this[0].name, null)
}

output "security_configuration_name" {
  description = "Name of the Glue security configuration used by the jobs and crawlers."
  value       = try(aws_glue_security_configuration.this[0].name, null)
}

output "connection_names" {
  description = "Glue connection names by key."
  value       = { for k, c in aws_glue_connection.this : k => c.name }
}

output "crawler_names" {
  description = "Crawler names by source key."
  value       = { for k, c in aws_glue_crawler.this : k => c.name }
}

output "job_names" {
  description = "Glue job names by job (prepare, export_interactions, export_items, export_users, start_training)."
  value       = merge({ for k, j in aws_glue_job.python_shell : k => j.name }, { for k, j in aws_glue_job.export : k => j.name })
}

output "workflow_name" {
  description = "Name of the Glue workflow."
  value       = try(aws_glue_workflow.this[0].name, null)
}

output "schedule_trigger_name" {
  description = "Name of the workflow's scheduled start trigger; null when the workflow starts on demand."
  value       = var.workflow_start.type == "SCHEDULED" ? try(aws_glue_trigger.start[0].name, null) : null
}

output "schedule_trigger_arn" {
  description = "ARN of the workflow's scheduled start trigger; null when the workflow starts on demand."
  value       = var.workflow_start.type == "SCHEDULED" ? try(aws_glue_trigger.start[0].arn, null) : null
}

output "job_role_arns" {
  description = "Map of job key (prepare, export_interactions, export_items, export_users, start_training) to the ARN of the IAM role that job runs as."
  value       = { for key, role in aws_iam_role.job : key => role.arn }
}

output "crawler_role_arn" {
  description = "ARN of the IAM role the crawlers run as."
  value       = try(aws_iam_role.crawler[0].arn, null)
}
