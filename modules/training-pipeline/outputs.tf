output "state_machine_arn" {
  description = "ARN of the training state machine."
  value       = try(aws_sfn_state_machine.this[0].arn, null)
}

output "state_machine_name" {
  description = "Name of the training state machine."
  value       = try(aws_sfn_state_machine.this[0].name, null)
}

output "function_arns" {
  description = "Lambda ARNs by registry key."
  value       = module.lambda.function_arns
}

output "function_names" {
  description = "Lambda function names by registry key."
  value       = module.lambda.function_names
}

output "sns_topic_arn" {
  description = "ARN of the pipeline notification topic (success and failure messages)."
  value       = module.notifications.arn
}

output "dead_letter_queue_arn" {
  description = "ARN of the Lambdas' dead-letter queue."
  value       = module.lambda.dead_letter_queue_arn
}

output "personalize_role_arn" {
  description = "ARN of the service role Amazon Personalize uses to read the exports."
  value       = try(aws_iam_role.personalize[0].arn, null)
}

output "start_rule_arn" {
  description = "ARN of the EventBridge rule that starts an execution when the params object changes."
  value       = try(aws_cloudwatch_event_rule.start[0].arn, null)
}

output "ssm_parameter_prefix" {
  description = "SSM Parameter Store path under which the event tracker id is written."
  value       = local.create ? local.ssm_parameter_prefix : null
}

output "state_machine_log_group_name" {
  description = "Name of the state machine's log group."
  value       = try(aws_cloudwatch_log_group.state_machine[0].name, null)
}
