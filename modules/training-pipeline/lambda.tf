################################################################################
# Lambdas: one per entry of the registry (functions.json)
################################################################################

locals {
  lambda_root  = "${path.module}/../../lambda_src"
  lambda_files = sort(tolist(fileset(local.lambda_root, "personalize_pipeline/**/*.{py,json}")))

  lambda_environment = {
    PERSONALIZE_ROLE_ARN    = local.personalize_role_arn
    PERSONALIZE_KMS_KEY_ARN = var.personalize_kms_key_arn
    SSM_PARAMETER_PREFIX    = local.ssm_parameter_prefix
    METRICS_NAMESPACE       = local.metrics_namespace
    LOG_LEVEL               = var.lambda.log_level
  }
}

data "archive_file" "lambda" {
  count = local.create ? 1 : 0

  type        = "zip"
  output_path = "${path.module}/build/${var.name}/personalize_pipeline.zip"

  dynamic "source" {
    for_each = local.lambda_files

    content {
      content  = file("${local.lambda_root}/${source.value}")
      filename = source.value
    }
  }
}

resource "aws_sqs_queue" "dlq" {
  count = local.create ? 1 : 0

  name                              = "${var.name}-training-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "lambda" {
  for_each = local.created_functions

  name              = "/aws/lambda/${var.name}-${replace(each.key, "_", "-")}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

resource "aws_lambda_function" "this" {
  for_each = local.created_functions

  #checkov:skip=CKV_AWS_117:The functions only call AWS APIs (Personalize, S3, SSM); a VPC adds NAT cost and no isolation benefit here.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile owned by the account; the package hash is pinned by source_code_hash.
  function_name                  = "${var.name}-${replace(each.key, "_", "-")}"
  description                    = try(each.value.description, "Personalize training step ${each.key}")
  role                           = aws_iam_role.lambda[each.key].arn
  handler                        = each.value.handler
  runtime                        = var.lambda.runtime
  architectures                  = [var.lambda.architecture]
  timeout                        = try(each.value.timeout, 60)
  memory_size                    = try(each.value.memory_size, 256)
  reserved_concurrent_executions = var.lambda.reserved_concurrent_executions
  kms_key_arn                    = var.kms_key_arn

  filename         = data.archive_file.lambda[0].output_path
  source_code_hash = data.archive_file.lambda[0].output_base64sha256

  environment {
    variables = local.lambda_environment
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq[0].arn
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.lambda[each.key].name
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.lambda]
}
