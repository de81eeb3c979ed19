output "sns_topic_arn" {
  description = "ARN of the alert topic (schema drift, Glue job and crawler failures)."
  value       = module.alerts.arn
}

output "function_arn" {
  description = "ARN of the schema-drift Lambda."
  value       = try(module.lambda.function_arns["schema_drift"], null)
}

output "function_name" {
  description = "Name of the schema-drift Lambda."
  value       = try(module.lambda.function_names["schema_drift"], null)
}

output "dedup_table_name" {
  description = "Name of the DynamoDB table that remembers processed event ids."
  value       = try(aws_dynamodb_table.dedup[0].name, null)
}

output "catalog_rule_arn" {
  description = "ARN of the EventBridge rule for catalog changes."
  value       = try(aws_cloudwatch_event_rule.catalog[0].arn, null)
}

output "failure_rule_arns" {
  description = "ARNs of the EventBridge rules for job and crawler failures, by kind (job, crawler)."
  value       = { for k, r in aws_cloudwatch_event_rule.failure : k => r.arn }
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue of the drift Lambda and its event target."
  value       = module.lambda.dead_letter_queue_arn
}
