# The Lambda and the alert topic moved into the shared internal modules
# (modules/_internal): states written before keep their objects, nothing is replaced.
# The Lambda's resources were counted; in the module they are keyed by function.

moved {
  from = aws_lambda_function.this[0]
  to   = module.lambda.aws_lambda_function.this["schema_drift"]
}

moved {
  from = aws_cloudwatch_log_group.this[0]
  to   = module.lambda.aws_cloudwatch_log_group.this["schema_drift"]
}

moved {
  from = aws_iam_role.this[0]
  to   = module.lambda.aws_iam_role.this["schema_drift"]
}

moved {
  from = aws_iam_role_policy.this[0]
  to   = module.lambda.aws_iam_role_policy.this["schema_drift"]
}

moved {
  from = aws_sqs_queue.dlq
  to   = module.lambda.aws_sqs_queue.dead_letter
}

moved {
  from = aws_sns_topic.this
  to   = module.alerts.aws_sns_topic.this
}

moved {
  from = aws_sns_topic_policy.this
  to   = module.alerts.aws_sns_topic_policy.this
}

moved {
  from = aws_sns_topic_subscription.this
  to   = module.alerts.aws_sns_topic_subscription.this
}
