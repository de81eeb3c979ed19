################################################################################
# Project KMS key: buckets, Glue, logs, topics, queues, table, Lambda environments
################################################################################

locals {
  create_kms_key = local.create && var.create_kms_key
  kms_key_arn    = local.create_kms_key ? try(aws_kms_key.this[0].arn, null) : var.kms_key_arn

  # The account keeps administration of the key beside any named
  # administrators: otherwise a list without the deploying principal fails
  # CreateKey's lockout safety check, and losing the named roles would leave a
  # key nobody can manage.
  # https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
  key_administrators = distinct(concat(["arn:${local.partition}:iam::${local.account_id}:root"], var.kms_key_administrators))
}

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:A key policy's resource "*" is the key itself; administration is limited to the named administrators.
  #checkov:skip=CKV_AWS_111:A key policy's resource "*" is the key itself; every statement names its principal and, for services, the source account.
  #checkov:skip=CKV_AWS_356:A key policy's resource "*" is the key itself, not every resource.
  count = local.create_kms_key ? 1 : 0

  # Key policies name the key itself as "*".
  statement {
    sid = "KeyAdministration"
    actions = [
      "kms:CancelKeyDeletion",
      "kms:CreateAlias",
      "kms:CreateGrant",
      "kms:DeleteAlias",
      "kms:DescribeKey",
      "kms:DisableKey",
      "kms:EnableKey",
      "kms:EnableKeyRotation",
      "kms:GetKeyPolicy",
      "kms:GetKeyRotationStatus",
      "kms:ListGrants",
      "kms:ListKeyPolicies",
      "kms:ListResourceTags",
      "kms:PutKeyPolicy",
      "kms:RevokeGrant",
      "kms:ScheduleKeyDeletion",
      "kms:TagResource",
      "kms:UntagResource",
      "kms:UpdateAlias",
      "kms:UpdateKeyDescription",
    ]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = local.key_administrators
    }
  }

  # Lets IAM policies in this account grant use of the key (the roles of this module).
  statement {
    sid       = "AccountUse"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:DescribeKey", "kms:CreateGrant"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogs"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }

  # EventBridge delivers failure events to the encrypted topics and dead letters to the encrypted queue.
  statement {
    sid       = "EventBridgeToEncryptedTargets"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

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

  # CloudWatch alarms publish to the encrypted notification topics.
  # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
  statement {
    sid       = "CloudWatchAlarmsToEncryptedTopics"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # Personalize reads the SSE-KMS exports and may encrypt the dataset group;
  # its KMS page asks for these five actions in the key policy.
  # https://docs.aws.amazon.com/personalize/latest/dg/granting-personalize-key-access.html
  statement {
    sid       = "Personalize"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant", "kms:ListGrants"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["personalize.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "this" {
  count = local.create_kms_key ? 1 : 0

  description             = "Encrypts the ${var.name} Personalize pipeline: buckets, Glue, logs, topics, queues and tables."
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_key_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms[0].json

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  count = local.create_kms_key ? 1 : 0

  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this[0].key_id
}
