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
  arn       = module.lambda.function_arns["schema_drift"]

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 8
  }

  dead_letter_config {
    arn = module.lambda.dead_letter_queue_arn
  }
}

resource "aws_lambda_permission" "catalog" {
  count = local.create ? 1 : 0

  statement_id  = "AllowCatalogChangeEvents"
  action        = "lambda:InvokeFunction"
  function_name = module.lambda.function_names["schema_drift"]
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
  arn       = module.alerts.arn

  input_transformer {
    input_paths    = each.value.input_paths
    input_template = each.value.input_template
  }
}
