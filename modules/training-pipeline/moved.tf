# The Lambdas and the notification topic moved into the shared internal modules
# (modules/_internal): states written before keep their objects, nothing is replaced.

moved {
  from = aws_lambda_function.this
  to   = module.lambda.aws_lambda_function.this
}

moved {
  from = aws_cloudwatch_log_group.lambda
  to   = module.lambda.aws_cloudwatch_log_group.this
}

moved {
  from = aws_iam_role.lambda
  to   = module.lambda.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.lambda
  to   = module.lambda.aws_iam_role_policy.this
}

moved {
  from = aws_sqs_queue.dlq
  to   = module.lambda.aws_sqs_queue.dead_letter
}

moved {
  from = aws_sns_topic.this
  to   = module.notifications.aws_sns_topic.this
}

moved {
  from = aws_sns_topic_policy.this
  to   = module.notifications.aws_sns_topic_policy.this
}

moved {
  from = aws_sns_topic_subscription.this
  to   = module.notifications.aws_sns_topic_subscription.this
}
