################################################################################
# Drift Lambda
################################################################################

module "lambda" {
  source = "../_internal/lambda-functions"

  # With create = false the module filters the function out; its values must still
  # evaluate with the inputs unset (null), hence the guard on database_name.
  create = local.create
  functions = {
    schema_drift = {
      name             = local.function_name
      description      = var.database_name == null ? null : "Explains Glue catalog changes of ${var.database_name} against the export spec and alerts on drift."
      role_description = "Runs the ${var.name} schema-drift Lambda."
      handler          = "schema_drift.handler.handler"
      timeout          = var.lambda.timeout
      memory_size      = var.lambda.memory_size
      environment = {
        SNS_TOPIC_ARN         = module.alerts.arn
        EXPORT_SPEC_URI       = var.export_spec.uri
        DEDUP_TABLE_NAME      = one(aws_dynamodb_table.dedup[*].name)
        NOTIFY_INFO           = tostring(var.notify_info)
        PAUSE_ON_BREAKING     = tostring(local.can_pause)
        SCHEDULE_TRIGGER_NAME = var.schedule_trigger != null ? var.schedule_trigger.name : ""
        LOG_LEVEL             = var.lambda.log_level
      }
      policy_json = one(data.aws_iam_policy_document.this[*].json)
    }
  }
  package = {
    output_path = "${path.module}/build/${var.name}/schema_drift.zip"
    files       = local.bundle_files
  }
  lambda                 = var.lambda
  dead_letter_queue_name = "${local.function_name}-dlq"
  policy_name            = "schema-drift"
  kms_key_arn            = var.kms_key_arn
  log_retention_days     = var.log_retention_days

  tags = var.tags
}

# Undeliverable catalog events land in the function's dead-letter queue too.
data "aws_iam_policy_document" "dlq" {
  count = local.create ? 1 : 0

  statement {
    sid       = "EventBridgeDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [module.lambda.dead_letter_queue_arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.catalog[0].arn]
    }
  }
}

resource "aws_sqs_queue_policy" "dlq" {
  count = local.create ? 1 : 0

  queue_url = module.lambda.dead_letter_queue_url
  policy    = data.aws_iam_policy_document.dlq[0].json
}

# What the drift code calls; the lambda-functions module adds the statements every
# function needs (its log group, the dead-letter queue, the key, tracing).
data "aws_iam_policy_document" "this" {
  count = local.create ? 1 : 0

  statement {
    sid     = "ReadCatalogVersions"
    actions = ["glue:GetTable", "glue:GetTableVersions"]
    resources = [
      "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog",
      "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${var.database_name}",
      "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${var.database_name}/*",
    ]
  }

  dynamic "statement" {
    for_each = local.can_pause ? [true] : []

    content {
      sid       = "PauseSchedule"
      actions   = ["glue:StopTrigger"]
      resources = [var.schedule_trigger.arn]
    }
  }

  statement {
    sid       = "Notify"
    actions   = ["sns:Publish"]
    resources = [module.alerts.arn]
  }

  statement {
    sid       = "Deduplicate"
    actions   = ["dynamodb:PutItem"]
    resources = [aws_dynamodb_table.dedup[0].arn]
  }

  statement {
    sid       = "ReadSpec"
    actions   = ["s3:GetObject"]
    resources = [var.export_spec.object_arn]
  }
}
