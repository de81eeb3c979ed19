output "function_arns" {
  description = "Function ARNs by key."
  value       = { for key, fn in aws_lambda_function.this : key => fn.arn }
}

output "function_names" {
  description = "Function names by key."
  value       = { for key, fn in aws_lambda_function.this : key => fn.function_name }
}

output "role_arns" {
  description = "ARNs of the functions' roles by key."
  value       = { for key, role in aws_iam_role.this : key => role.arn }
}

output "dead_letter_queue_arn" {
  description = "ARN of the functions' dead-letter queue."
  value       = try(aws_sqs_queue.dead_letter[0].arn, null)
}

output "dead_letter_queue_url" {
  description = "URL of the functions' dead-letter queue."
  value       = try(aws_sqs_queue.dead_letter[0].id, null)
}
