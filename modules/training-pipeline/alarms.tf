################################################################################
# Optional alarms, sent to the notification topic
################################################################################

locals {
  alarm_actions = local.create ? [module.notifications.arn] : []

  alarms = {
    # Step Functions' own execution metrics.
    # https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html
    failed-run = {
      enabled             = var.monitoring.alarm_on_failed_run
      description         = "A ${var.name} training execution failed (the failure notice names the step)."
      namespace           = "AWS/States"
      metric_name         = "ExecutionsFailed"
      dimensions          = { StateMachineArn = local.state_machine_arn }
      statistic           = "Sum"
      period              = 300
      comparison_operator = "GreaterThanOrEqualToThreshold"
      threshold           = 1
      treat_missing_data  = "notBreaching"
    }
    # Published by the RecordGateRejection step (cloudwatch_metrics.py).
    gate-rejected = {
      enabled             = var.monitoring.alarm_on_gate_rejection
      description         = "The ${var.name} quality gate rejected the new versions; the campaigns keep serving the old ones."
      namespace           = local.metrics_namespace
      metric_name         = "GateRejections"
      dimensions          = {}
      statistic           = "Sum"
      period              = 300
      comparison_operator = "GreaterThanOrEqualToThreshold"
      threshold           = 1
      treat_missing_data  = "notBreaching"
    }
    # No execution at all is no success either: missing data breaches. One period
    # of N days, as Period x EvaluationPeriods may not pass 7 days (PutMetricAlarm).
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
    no-success = {
      enabled             = var.monitoring.alarm_when_no_success_in_days != null
      description         = "No ${var.name} training execution succeeded in ${coalesce(var.monitoring.alarm_when_no_success_in_days, 0)} days."
      namespace           = "AWS/States"
      metric_name         = "ExecutionsSucceeded"
      dimensions          = { StateMachineArn = local.state_machine_arn }
      statistic           = "Sum"
      period              = 86400 * coalesce(var.monitoring.alarm_when_no_success_in_days, 1)
      comparison_operator = "LessThanThreshold"
      threshold           = 1
      treat_missing_data  = "breaching"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = { for key, alarm in local.alarms : key => alarm if local.create && alarm.enabled }

  alarm_name          = "${var.name}-training-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = each.value.period
  evaluation_periods  = 1
  comparison_operator = each.value.comparison_operator
  threshold           = each.value.threshold
  treat_missing_data  = each.value.treat_missing_data
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = var.tags
}
