output "arn" {
  description = "ARN of the topic."
  value       = try(aws_sns_topic.this[0].arn, null)
}

output "kms_key_arn" {
  description = "KMS key the topic is encrypted with."
  value       = try(aws_sns_topic.this[0].kms_master_key_id, null)
}
