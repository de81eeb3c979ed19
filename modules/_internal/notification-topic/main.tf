# An encrypted topic that only the named EventBridge rules (and the roles granted
# sns:Publish on it) may publish to, with its subscriptions.

resource "aws_sns_topic" "this" {
  count = var.create ? 1 : 0

  name              = var.name
  display_name      = var.display_name
  kms_master_key_id = var.kms_key_arn

  tags = var.tags
}

data "aws_iam_policy_document" "this" {
  count = var.create ? 1 : 0

  statement {
    sid       = var.eventbridge_publisher.sid
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this[0].arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    dynamic "condition" {
      for_each = var.eventbridge_publisher.conditions

      content {
        test     = condition.value.test
        variable = condition.value.variable
        values   = condition.value.values
      }
    }
  }

  # CloudWatch alarms that notify through the topic, named by their ARNs.
  # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
  dynamic "statement" {
    for_each = var.cloudwatch_alarm_publisher != null ? [var.cloudwatch_alarm_publisher] : []

    content {
      sid       = statement.value.sid
      actions   = ["sns:Publish"]
      resources = [aws_sns_topic.this[0].arn]

      principals {
        type        = "Service"
        identifiers = ["cloudwatch.amazonaws.com"]
      }

      condition {
        test     = "ArnLike"
        variable = "aws:SourceArn"
        values   = statement.value.source_arns
      }
    }
  }
}

resource "aws_sns_topic_policy" "this" {
  count = var.create ? 1 : 0

  arn    = aws_sns_topic.this[0].arn
  policy = data.aws_iam_policy_document.this[0].json
}

resource "aws_sns_topic_subscription" "this" {
  for_each = var.create ? var.subscriptions : {}

  topic_arn = aws_sns_topic.this[0].arn
  protocol  = each.value.protocol
  endpoint  = each.value.endpoint
}
