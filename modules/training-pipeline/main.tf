data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  create = var.create

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region

  registry_path = coalesce(var.functions_registry_path, "${path.module}/../../lambda_src/personalize_pipeline/functions.json")
  functions     = jsondecode(file(local.registry_path)).functions

  # Filtered rather than `create ? map : {}`: the registry entries differ in type.
  created_functions = { for key, fn in local.functions : key => fn if local.create }

  template_path = "${path.module}/../../step_functions/training.asl.json.tftpl"

  ssm_parameter_prefix = coalesce(var.ssm_parameter_prefix, "/personalize-pipeline/${var.name}")
  params_bucket_arn    = "arn:${local.partition}:s3:::${var.params_bucket_name}"
  params_object_arn    = "${local.params_bucket_arn}/${var.params_key}"
  personalize_role_arn = "arn:${local.partition}:iam::${local.account_id}:role/${var.name}-personalize"
  personalize_key_arns = compact([var.kms_key_arn, var.personalize_kms_key_arn])

  state_machine_name = "${var.name}-training"
  state_machine_arn  = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.state_machine_name}"
}

resource "terraform_data" "validation" {
  count = local.create ? 1 : 0

  lifecycle {
    precondition {
      condition     = var.kms_key_arn != null
      error_message = "kms_key_arn is required when create is true."
    }

    precondition {
      condition     = alltrue(flatten([for f in values(local.functions) : [for p in f.permissions : contains(keys(local.capabilities), p)]]))
      error_message = "Every permission in ${local.registry_path} must be one of: ${join(", ", keys(local.capabilities))}."
    }

    precondition {
      condition     = alltrue(flatten([for f in values(local.functions) : [for a in f.personalize_actions : can(regex("^personalize:[A-Za-z]+$", a))]]))
      error_message = "Every personalize_actions entry in ${local.registry_path} must be one exact personalize:<Action> (no wildcards)."
    }
  }
}

################################################################################
# Notifications
################################################################################

module "notifications" {
  source = "../_internal/notification-topic"

  create       = local.create
  name         = "${var.name}-training"
  display_name = "${var.name} training pipeline"
  kms_key_arn  = var.kms_key_arn
  eventbridge_publisher = {
    sid        = "StateMachineStatusEvents"
    conditions = [{ test = "ArnEquals", variable = "aws:SourceArn", values = aws_cloudwatch_event_rule.execution_status[*].arn }]
  }
  subscriptions = var.subscriptions
  # The optional alarms (alarms.tf) publish to the topic.
  cloudwatch_alarm_publisher = length([for alarm in values(local.alarms) : alarm if alarm.enabled]) > 0 ? {
    sid         = "CloudWatchAlarms"
    source_arns = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.name}-training-*"]
  } : null

  tags = var.tags
}

################################################################################
# State machine
################################################################################

resource "aws_cloudwatch_log_group" "state_machine" {
  count = local.create ? 1 : 0

  name              = "/aws/vendedlogs/states/${local.state_machine_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

resource "aws_sfn_state_machine" "this" {
  count = local.create ? 1 : 0

  name     = local.state_machine_name
  role_arn = aws_iam_role.state_machine[0].arn
  type     = "STANDARD"

  # Each Map iteration invokes one function: the Maps run at most as many iterations at
  # once as each function may run (its reserved concurrency), so none is throttled.
  definition = templatefile(local.template_path, {
    function_arns          = module.lambda.function_arns
    notification_topic_arn = module.notifications.arn
    partition              = local.partition
    map_max_concurrency    = var.lambda.reserved_concurrent_executions
  })

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine[0].arn}:*"
    include_execution_data = true
    level                  = var.state_machine_log_level
  }

  tracing_configuration {
    enabled = true
  }

  tags = var.tags
}

################################################################################
# Start rule: a new version of the params object starts an execution
################################################################################

resource "aws_s3_bucket_notification" "params" {
  count = local.create && var.enable_params_bucket_eventbridge ? 1 : 0

  bucket      = var.params_bucket_name
  eventbridge = true
}

resource "aws_cloudwatch_event_rule" "start" {
  count = local.create ? 1 : 0

  name        = "${var.name}-params-created"
  description = "Starts the ${var.name} training state machine when a new params version is written."

  event_pattern = jsonencode({
    source        = ["aws.s3"]
    "detail-type" = ["Object Created"]
    detail = {
      bucket = { name = [var.params_bucket_name] }
      object = { key = [var.params_key] }
    }
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "start" {
  count = local.create ? 1 : 0

  rule      = aws_cloudwatch_event_rule.start[0].name
  target_id = "training-state-machine"
  arn       = aws_sfn_state_machine.this[0].arn
  role_arn  = aws_iam_role.events[0].arn
}

# Executions that time out or are aborted never reach the definition's own
# failure notification, so EventBridge reports them.
resource "aws_cloudwatch_event_rule" "execution_status" {
  count = local.create ? 1 : 0

  name        = "${var.name}-training-aborted"
  description = "Reports ${var.name} training executions that timed out or were aborted."

  event_pattern = jsonencode({
    source        = ["aws.states"]
    "detail-type" = ["Step Functions Execution Status Change"]
    detail = {
      stateMachineArn = [local.state_machine_arn]
      status          = ["TIMED_OUT", "ABORTED"]
    }
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "execution_status" {
  count = local.create ? 1 : 0

  rule      = aws_cloudwatch_event_rule.execution_status[0].name
  target_id = "notification-topic"
  arn       = module.notifications.arn

  input_transformer {
    input_paths = {
      execution = "$.detail.executionArn"
      status    = "$.detail.status"
    }
    input_template = "\"Training execution <execution> ended <status>.\""
  }
}
