data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  create = var.create

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region

  function_name = "${var.name}-schema-drift"
  can_pause     = var.pause_on_breaking && var.schedule_trigger != null

  # The Lambda bundles its handler and the export spec package (standard library
  # only), not the export jobs' code: a change to the transforms does not redeploy it.
  bundle_roots = {
    "schema_drift" = "${path.module}/../../lambda_src/schema_drift"
    "export_spec"  = "${path.module}/../../glue/export_spec"
  }
  bundle_files = merge([
    for package, dir in local.bundle_roots : {
      for f in fileset(dir, "**/*.py") : "${package}/${f}" => "${dir}/${f}"
    }
  ]...)

  failure_rules = {
    job = length(var.job_names) == 0 ? null : {
      description = "Glue job runs of ${var.name} that failed, timed out or were stopped."
      pattern = {
        source        = ["aws.glue"]
        "detail-type" = ["Glue Job State Change"]
        detail        = { jobName = var.job_names, state = ["FAILED", "TIMEOUT", "STOPPED"] }
      }
      input_paths    = { name = "$.detail.jobName", state = "$.detail.state", message = "$.detail.message", run = "$.detail.jobRunId" }
      input_template = "\"Glue job <name> run <run> ended <state>: <message>\""
    }
    crawler = length(var.crawler_names) == 0 ? null : {
      description = "Crawler runs of ${var.name} that failed."
      pattern = {
        source        = ["aws.glue"]
        "detail-type" = ["Glue Crawler State Change"]
        detail        = { crawlerName = var.crawler_names, state = ["Failed"] }
      }
      input_paths    = { name = "$.detail.crawlerName", state = "$.detail.state", message = "$.detail.errorMessage" }
      input_template = "\"Glue crawler <name> ended <state>: <message>\""
    }
  }
  active_failure_rules = { for k, v in local.failure_rules : k => v if local.create && v != null }
}

resource "terraform_data" "validation" {
  count = local.create ? 1 : 0

  lifecycle {
    precondition {
      condition     = var.kms_key_arn != null && var.export_spec.uri != null && var.database_name != null
      error_message = "kms_key_arn, export_spec and database_name are required when create is true."
    }

    precondition {
      condition     = !var.pause_on_breaking || var.schedule_trigger != null
      error_message = "pause_on_breaking needs schedule_trigger: an on-demand workflow has no schedule to pause."
    }
  }
}

################################################################################
# Alert topic
################################################################################

resource "aws_sns_topic" "this" {
  count = local.create ? 1 : 0

  name              = "${var.name}-alerts"
  display_name      = "${var.name} schema drift and export failures"
  kms_master_key_id = var.kms_key_arn

  tags = var.tags
}

data "aws_iam_policy_document" "topic" {
  count = local.create ? 1 : 0

  statement {
    sid       = "EventBridgeFailureEvents"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this[0].arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${var.name}-*"]
    }
  }
}

resource "aws_sns_topic_policy" "this" {
  count = local.create ? 1 : 0

  arn    = aws_sns_topic.this[0].arn
  policy = data.aws_iam_policy_document.topic[0].json
}

resource "aws_sns_topic_subscription" "this" {
  for_each = local.create ? var.subscriptions : {}

  topic_arn = aws_sns_topic.this[0].arn
  protocol  = each.value.protocol
  endpoint  = each.value.endpoint
}

################################################################################
# Dedup table: EventBridge delivers at least once
################################################################################

resource "aws_dynamodb_table" "dedup" {
  count = local.create ? 1 : 0

  name         = "${var.name}-schema-drift-events"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "event_id"

  attribute {
    name = "event_id"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags
}

################################################################################
# Drift Lambda
################################################################################

data "archive_file" "this" {
  count = local.create ? 1 : 0

  type        = "zip"
  output_path = "${path.module}/build/${var.name}/schema_drift.zip"

  dynamic "source" {
    for_each = local.bundle_files

    content {
      content  = file(source.value)
      filename = source.key
    }
  }
}

resource "aws_sqs_queue" "dlq" {
  count = local.create ? 1 : 0

  name                              = "${local.function_name}-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300

  tags = var.tags
}

# Undeliverable catalog events land here too.
data "aws_iam_policy_document" "dlq" {
  count = local.create ? 1 : 0

  statement {
    sid       = "EventBridgeDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq[0].arn]

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

  queue_url = aws_sqs_queue.dlq[0].id
  policy    = data.aws_iam_policy_document.dlq[0].json
}

resource "aws_cloudwatch_log_group" "this" {
  count = local.create ? 1 : 0

  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

resource "aws_lambda_function" "this" {
  count = local.create ? 1 : 0

  #checkov:skip=CKV_AWS_117:The function only calls AWS APIs (Glue, SNS, DynamoDB, S3); a VPC adds NAT cost and no isolation benefit here.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile owned by the account; the package hash is pinned by source_code_hash.
  function_name                  = local.function_name
  description                    = "Explains Glue catalog changes of ${var.database_name} against the export spec and alerts on drift."
  role                           = aws_iam_role.this[0].arn
  handler                        = "schema_drift.handler.handler"
  runtime                        = var.lambda.runtime
  architectures                  = [var.lambda.architecture]
  timeout                        = var.lambda.timeout
  memory_size                    = var.lambda.memory_size
  reserved_concurrent_executions = var.lambda.reserved_concurrent_executions
  kms_key_arn                    = var.kms_key_arn

  filename         = data.archive_file.this[0].output_path
  source_code_hash = data.archive_file.this[0].output_base64sha256

  environment {
    variables = {
      SNS_TOPIC_ARN         = aws_sns_topic.this[0].arn
      EXPORT_SPEC_URI       = var.export_spec.uri
      DEDUP_TABLE_NAME      = aws_dynamodb_table.dedup[0].name
      NOTIFY_INFO           = tostring(var.notify_info)
      PAUSE_ON_BREAKING     = tostring(local.can_pause)
      SCHEDULE_TRIGGER_NAME = var.schedule_trigger != null ? var.schedule_trigger.name : ""
      LOG_LEVEL             = var.lambda.log_level
    }
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq[0].arn
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.this[0].name
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.this]
}

data "aws_iam_policy_document" "assume" {
  count = local.create ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

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
    resources = [aws_sns_topic.this[0].arn]
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

  statement {
    sid       = "UseKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this[0].arn}:*"]
  }

  statement {
    sid       = "DeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq[0].arn]
  }

  # X-Ray trace segments have no resource ARN.
  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role" "this" {
  count = local.create ? 1 : 0

  name               = local.function_name
  description        = "Runs the ${var.name} schema-drift Lambda."
  assume_role_policy = data.aws_iam_policy_document.assume[0].json

  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  count = local.create ? 1 : 0

  name   = "schema-drift"
  role   = aws_iam_role.this[0].id
  policy = data.aws_iam_policy_document.this[0].json
}

################################################################################
# EventBridge rules
################################################################################

resource "aws_cloudwatch_event_rule" "catalog" {
  count = local.create ? 1 : 0

  name        = "${var.name}-catalog-changes"
  description = "Table and database changes in ${var.database_name}, checked for schema drift."

  event_pattern = jsonencode({
    source        = ["aws.glue"]
    "detail-type" = ["Glue Data Catalog Table State Change", "Glue Data Catalog Database State Change"]
    detail        = { databaseName = [var.database_name] }
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "catalog" {
  count = local.create ? 1 : 0

  rule      = aws_cloudwatch_event_rule.catalog[0].name
  target_id = "schema-drift-lambda"
  arn       = aws_lambda_function.this[0].arn

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 8
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq[0].arn
  }
}

resource "aws_lambda_permission" "catalog" {
  count = local.create ? 1 : 0

  statement_id  = "AllowCatalogChangeEvents"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[0].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.catalog[0].arn
}

# Failures go straight to the topic: there is nothing to explain.
resource "aws_cloudwatch_event_rule" "failure" {
  for_each = local.active_failure_rules

  name          = "${var.name}-${each.key}-failures"
  description   = each.value.description
  event_pattern = jsonencode(each.value.pattern)

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "failure" {
  for_each = local.active_failure_rules

  rule      = aws_cloudwatch_event_rule.failure[each.key].name
  target_id = "alert-topic"
  arn       = aws_sns_topic.this[0].arn

  input_transformer {
    input_paths    = each.value.input_paths
    input_template = each.value.input_template
  }
}
