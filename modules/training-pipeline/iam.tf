################################################################################
# Lambda roles: statements built from each function's registry entry
################################################################################

locals {
  # The capability names of the registry and the statements they grant.
  capabilities = {
    read_params = [
      { actions = ["s3:GetObject", "s3:GetObjectVersion"], resources = [local.params_object_arn], conditions = [] },
    ]
    read_exports = [
      { actions = ["s3:GetObject"], resources = ["${var.data_bucket_arn}/${var.exports_prefix}*"], conditions = [] },
      {
        actions    = ["s3:ListBucket"]
        resources  = [var.data_bucket_arn]
        conditions = [{ test = "StringLike", variable = "s3:prefix", values = ["${var.exports_prefix}*"] }]
      },
    ]
    pass_personalize_role = [
      {
        actions    = ["iam:PassRole"]
        resources  = [local.personalize_role_arn]
        conditions = [{ test = "StringEquals", variable = "iam:PassedToService", values = ["personalize.amazonaws.com"] }]
      },
    ]
    write_event_tracker_parameter = [
      {
        actions    = ["ssm:PutParameter", "ssm:GetParameter"]
        resources  = ["arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.ssm_parameter_prefix}/*"]
        conditions = []
      },
    ]
    use_kms = [
      { actions = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], resources = local.personalize_key_arns, conditions = [] },
    ]
    # PutMetricData has no resource type: the namespace condition keeps each
    # pipeline's Finalize to its own namespace (cloudwatch_metrics.py).
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html
    publish_metrics = [
      {
        actions    = ["cloudwatch:PutMetricData"]
        resources  = ["*"]
        conditions = [{ test = "StringEquals", variable = "cloudwatch:namespace", values = [local.metrics_namespace] }]
      },
    ]
    # One run at a time per dataset group: ReadParams lists this state machine's running executions.
    list_own_executions = [
      # parliament:accept RESOURCE_MISMATCH states:ListExecutions: the Service Authorization Reference lists stateMachine or mapRun for it, parliament's data takes only mapRun
      { actions = ["states:ListExecutions"], resources = [local.state_machine_arn], conditions = [] },
    ]
  }

  # Personalize's List actions (ListTagsForResource aside) have no resource
  # type in the Service Authorization Reference, and TagResource none that is
  # required: a statement scoped to an ARN never matches them.
  # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonpersonalize.html
  # parliament:accept RESOURCE_MISMATCH personalize:ListTagsForResource: the Service Authorization Reference gives it every Personalize resource type (none required), so it stays scoped to the account's Personalize ARNs; parliament's data takes only "*"
  personalize_unscoped_actions = {
    for key, fn in local.functions : key => [
      for a in fn.personalize_actions : a
      if a == "personalize:TagResource" || (startswith(a, "personalize:List") && a != "personalize:ListTagsForResource")
    ]
  }
  personalize_scoped_actions = {
    for key, fn in local.functions : key => [
      for a in fn.personalize_actions : a if !contains(local.personalize_unscoped_actions[key], a)
    ]
  }
}

# Each capability's statements, written once: the functions that hold it and
# Personalize's service role (read_exports) take them from here.
data "aws_iam_policy_document" "capability" {
  for_each = local.create ? local.capabilities : {}

  dynamic "statement" {
    for_each = each.value

    content {
      sid       = "${replace(title(replace(each.key, "_", " ")), " ", "")}${statement.key == 0 ? "" : statement.key}"
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = statement.value.conditions

        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

# What each function's code calls; the lambda-functions module adds the statements
# every function needs (its log group, the dead-letter queue, the key, tracing).
data "aws_iam_policy_document" "lambda" {
  for_each = local.created_functions

  source_policy_documents = [for p in each.value.permissions : data.aws_iam_policy_document.capability[p].json]

  dynamic "statement" {
    for_each = length(local.personalize_scoped_actions[each.key]) > 0 ? [true] : []

    content {
      sid       = "Personalize"
      actions   = local.personalize_scoped_actions[each.key]
      resources = ["arn:${local.partition}:personalize:${local.region}:${local.account_id}:*"]
    }
  }

  # Actions with no resource type: only Resource "*" grants them.
  dynamic "statement" {
    for_each = length(local.personalize_unscoped_actions[each.key]) > 0 ? [true] : []

    content {
      sid       = "PersonalizeWithoutResourceType"
      actions   = local.personalize_unscoped_actions[each.key]
      resources = ["*"]
    }
  }
}

################################################################################
# State machine role
################################################################################

data "aws_iam_policy_document" "state_machine_assume" {
  count = local.create ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "state_machine" {
  count = local.create ? 1 : 0

  statement {
    sid       = "InvokeSteps"
    actions   = ["lambda:InvokeFunction"]
    resources = flatten([for arn in values(module.lambda.function_arns) : [arn, "${arn}:*"]])
  }

  statement {
    sid       = "Notify"
    actions   = ["sns:Publish"]
    resources = [module.notifications.arn]
  }

  statement {
    sid       = "EncryptedTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  # Log delivery and X-Ray APIs do not support resource-level permissions.
  statement {
    sid = "LogDeliveryAndTracing"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
      "xray:PutTraceSegments",
      "xray:PutTelemetryRecords",
      "xray:GetSamplingRules",
      "xray:GetSamplingTargets",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role" "state_machine" {
  count = local.create ? 1 : 0

  name               = "${var.name}-training-state-machine"
  description        = "Runs the ${var.name} training state machine."
  assume_role_policy = data.aws_iam_policy_document.state_machine_assume[0].json

  tags = var.tags
}

resource "aws_iam_role_policy" "state_machine" {
  count = local.create ? 1 : 0

  name   = "training-state-machine"
  role   = aws_iam_role.state_machine[0].id
  policy = data.aws_iam_policy_document.state_machine[0].json
}

################################################################################
# EventBridge role: may only start this state machine
################################################################################

data "aws_iam_policy_document" "events_assume" {
  count = local.create ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "events" {
  count = local.create ? 1 : 0

  statement {
    sid       = "StartTraining"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.this[0].arn]
  }
}

resource "aws_iam_role" "events" {
  count = local.create ? 1 : 0

  name               = "${var.name}-training-start"
  description        = "Lets EventBridge start the ${var.name} training state machine."
  assume_role_policy = data.aws_iam_policy_document.events_assume[0].json

  tags = var.tags
}

resource "aws_iam_role_policy" "events" {
  count = local.create ? 1 : 0

  name   = "start-training"
  role   = aws_iam_role.events[0].id
  policy = data.aws_iam_policy_document.events[0].json
}

################################################################################
# Personalize service role (reads the exports)
################################################################################

data "aws_iam_policy_document" "personalize_assume" {
  count = local.create ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["personalize.amazonaws.com"]
    }

    # Confused-deputy protection.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:personalize:${local.region}:${local.account_id}:*"]
    }
  }
}

data "aws_iam_policy_document" "personalize" {
  count = local.create ? 1 : 0

  source_policy_documents = [data.aws_iam_policy_document.capability["read_exports"].json]

  # Personalize's KMS page asks for these five actions on the role too.
  # https://docs.aws.amazon.com/personalize/latest/dg/granting-personalize-key-access.html
  statement {
    sid       = "UseKeys"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant", "kms:ListGrants"]
    resources = local.personalize_key_arns
  }
}

resource "aws_iam_role" "personalize" {
  count = local.create ? 1 : 0

  name               = "${var.name}-personalize"
  description        = "Service role Amazon Personalize uses to read the ${var.name} exports."
  assume_role_policy = data.aws_iam_policy_document.personalize_assume[0].json

  tags = var.tags
}

resource "aws_iam_role_policy" "personalize" {
  count = local.create ? 1 : 0

  name   = "read-exports"
  role   = aws_iam_role.personalize[0].id
  policy = data.aws_iam_policy_document.personalize[0].json
}
