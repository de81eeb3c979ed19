# Hardened Lambda functions that share one package and one dead-letter queue: each
# with its own log group (KMS, retention), role and least-privilege policy, X-Ray
# tracing, JSON logs and reserved concurrency.

locals {
  # Filtered rather than `create ? map : {}`, so the map keeps its type.
  functions = { for key, fn in var.functions : key => fn if var.create }
}

data "archive_file" "this" {
  count = var.create ? 1 : 0

  type        = "zip"
  output_path = var.package.output_path

  dynamic "source" {
    for_each = var.package.files

    content {
      content  = file(source.value)
      filename = source.key
    }
  }
}

resource "aws_sqs_queue" "dead_letter" {
  count = var.create ? 1 : 0

  name                              = var.dead_letter_queue_name
  message_retention_seconds         = 1209600
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "this" {
  for_each = local.functions

  name              = "/aws/lambda/${each.value.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

resource "aws_lambda_function" "this" {
  for_each = local.functions

  #checkov:skip=CKV_AWS_117:The functions only call AWS APIs; a VPC adds NAT cost and no isolation benefit here.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile owned by the account; the package hash is pinned by source_code_hash.
  function_name                  = each.value.name
  description                    = each.value.description
  role                           = aws_iam_role.this[each.key].arn
  handler                        = each.value.handler
  runtime                        = var.lambda.runtime
  architectures                  = [var.lambda.architecture]
  timeout                        = each.value.timeout
  memory_size                    = each.value.memory_size
  reserved_concurrent_executions = var.lambda.reserved_concurrent_executions
  kms_key_arn                    = var.kms_key_arn

  filename         = data.archive_file.this[0].output_path
  source_code_hash = data.archive_file.this[0].output_base64sha256

  environment {
    variables = each.value.environment
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dead_letter[0].arn
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.this[each.key].name
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.this]
}
