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

module "lambda" {
  source = "../_internal/lambda-functions"

  create = local.create
  functions = {
    for key, fn in local.created_functions : key => {
      name             = "${var.name}-${replace(key, "_", "-")}"
      description      = try(fn.description, "Personalize training step ${key}")
      role_description = "Runs the ${key} step of the ${var.name} training pipeline."
      handler          = fn.handler
      timeout          = try(fn.timeout, 60)
      memory_size      = try(fn.memory_size, 256)
      environment      = local.lambda_environment
      policy_json      = data.aws_iam_policy_document.lambda[key].json
    }
  }
  package = {
    output_path = "${path.module}/build/${var.name}/personalize_pipeline.zip"
    files       = { for f in local.lambda_files : f => "${local.lambda_root}/${f}" }
  }
  lambda                 = var.lambda
  dead_letter_queue_name = "${var.name}-training-dlq"
  policy_name            = "training-step"
  kms_key_arn            = var.kms_key_arn
  log_retention_days     = var.log_retention_days

  tags = var.tags
}
