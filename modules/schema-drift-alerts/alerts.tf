################################################################################
# Alert topic: drift findings of the Lambda, job and crawler failures of EventBridge
################################################################################

module "alerts" {
  source = "../_internal/notification-topic"

  create       = local.create
  name         = "${var.name}-alerts"
  display_name = "${var.name} schema drift and export failures"
  kms_key_arn  = var.kms_key_arn
  eventbridge_publisher = {
    sid = "EventBridgeFailureEvents"
    conditions = [
      { test = "StringEquals", variable = "aws:SourceAccount", values = [local.account_id] },
      { test = "ArnLike", variable = "aws:SourceArn", values = ["arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${var.name}-*"] },
    ]
  }
  subscriptions = var.subscriptions

  tags = var.tags
}
