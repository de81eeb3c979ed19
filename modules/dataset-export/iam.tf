################################################################################
# IAM: one role for the jobs, one for the crawlers
################################################################################

locals {
  catalog_arn       = "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog"
  database_arn      = "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${local.database_name}"
  tables_arn        = "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${local.database_name}/*"
  workflow_arn      = "arn:${local.partition}:glue:${local.region}:${local.account_id}:workflow/${var.name}"
  connection_arns   = [for key in keys(var.connections) : "arn:${local.partition}:glue:${local.region}:${local.account_id}:connection/${var.name}-${key}"]
  glue_log_groups   = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws-glue/*"
  has_vpc_endpoints = length(var.connections) > 0
}

data "aws_iam_policy_document" "glue_assume" {
  count = local.create ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["glue.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# Statements both roles need: logs, KMS, connections (secrets + VPC ENIs).
data "aws_iam_policy_document" "glue_common" {
  count = local.create ? 1 : 0

  statement {
    sid       = "WriteGlueLogs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"]
    resources = [local.glue_log_groups, "${local.glue_log_groups}:log-stream:*"]
  }

  statement {
    sid       = "UseProjectKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "ReadSecurityConfiguration"
    actions   = ["glue:GetSecurityConfiguration"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = length(local.secret_arns) > 0 ? [true] : []

    content {
      sid       = "ReadConnectionSecrets"
      actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
      resources = local.secret_arns
    }
  }

  dynamic "statement" {
    for_each = local.has_vpc_endpoints ? [true] : []

    content {
      sid       = "ReadConnections"
      actions   = ["glue:GetConnection"]
      resources = concat([local.catalog_arn], local.connection_arns)
    }
  }

  # Glue places network interfaces in the connection's subnet; the describe
  # calls cannot be scoped to a resource.
  dynamic "statement" {
    for_each = local.has_vpc_endpoints ? [true] : []

    content {
      sid = "DescribeNetwork"
      actions = [
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcAttribute",
        "ec2:DescribeVpcEndpoints",
        "ec2:DescribeRouteTables",
      ]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = local.has_vpc_endpoints ? [true] : []

    content {
      sid       = "ManageNetworkInterfaces"
      actions   = ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:CreateTags", "ec2:DeleteTags"]
      resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:*"]
    }
  }
}

################################################################################
# Jobs
################################################################################

data "aws_iam_policy_document" "job" {
  count = local.create ? 1 : 0

  source_policy_documents = [data.aws_iam_policy_document.glue_common[0].json]

  statement {
    sid       = "ReadArtifacts"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${local.artifacts_bucket_arn}/scripts/*", "${local.artifacts_bucket_arn}/packages/*", "${local.artifacts_bucket_arn}/${local.spec_key}", "${local.artifacts_bucket_arn}/${local.params_template_key}"]
  }

  statement {
    sid       = "WriteParams"
    actions   = ["s3:PutObject"]
    resources = ["${local.artifacts_bucket_arn}/${var.params_key}"]
  }

  statement {
    sid       = "UseTempDir"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.artifacts_bucket_arn}/tmp/*"]
  }

  statement {
    sid       = "ListBuckets"
    actions   = ["s3:ListBucket"]
    resources = [local.artifacts_bucket_arn, local.data_bucket_arn]
  }

  statement {
    sid       = "WriteExports"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:PutObjectTagging"]
    resources = ["${local.data_bucket_arn}/${var.export_prefix}/*"]
  }

  dynamic "statement" {
    for_each = length(local.s3_source_buckets) > 0 ? [true] : []

    content {
      sid       = "ReadS3Sources"
      actions   = ["s3:GetObject", "s3:ListBucket"]
      resources = flatten([for b in local.s3_source_buckets : ["arn:${local.partition}:s3:::${b}", "arn:${local.partition}:s3:::${b}/*"]])
    }
  }

  statement {
    sid       = "ReadCatalog"
    actions   = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition"]
    resources = [local.catalog_arn, local.database_arn, local.tables_arn]
  }

  statement {
    sid       = "PassRunId"
    actions   = ["glue:GetWorkflowRunProperties", "glue:PutWorkflowRunProperties"]
    resources = [local.workflow_arn]
  }

  statement {
    sid       = "PublishMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["Glue"]
    }
  }
}

resource "aws_iam_role" "job" {
  count = local.create ? 1 : 0

  name               = "${var.name}-glue-jobs"
  description        = "Runs the ${var.name} export jobs."
  assume_role_policy = data.aws_iam_policy_document.glue_assume[0].json

  tags = var.tags
}

resource "aws_iam_role_policy" "job" {
  count = local.create ? 1 : 0

  name   = "export-jobs"
  role   = aws_iam_role.job[0].id
  policy = data.aws_iam_policy_document.job[0].json
}

################################################################################
# Crawlers
################################################################################

data "aws_iam_policy_document" "crawler" {
  count = local.create ? 1 : 0

  source_policy_documents = [data.aws_iam_policy_document.glue_common[0].json]

  statement {
    sid = "MaintainCatalog"
    actions = [
      "glue:GetDatabase",
      "glue:GetTable",
      "glue:GetTables",
      "glue:CreateTable",
      "glue:UpdateTable",
      "glue:DeleteTable",
      "glue:BatchDeleteTable",
      "glue:GetPartition",
      "glue:GetPartitions",
      "glue:BatchGetPartition",
      "glue:CreatePartition",
      "glue:BatchCreatePartition",
      "glue:UpdatePartition",
      "glue:BatchUpdatePartition",
      "glue:DeletePartition",
      "glue:BatchDeletePartition",
    ]
    resources = [local.catalog_arn, local.database_arn, local.tables_arn]
  }

  dynamic "statement" {
    for_each = length(local.s3_source_buckets) > 0 ? [true] : []

    content {
      sid       = "ReadS3Sources"
      actions   = ["s3:GetObject", "s3:ListBucket"]
      resources = flatten([for b in local.s3_source_buckets : ["arn:${local.partition}:s3:::${b}", "arn:${local.partition}:s3:::${b}/*"]])
    }
  }
}

resource "aws_iam_role" "crawler" {
  count = local.create ? 1 : 0

  name               = "${var.name}-glue-crawlers"
  description        = "Runs the ${var.name} source crawlers."
  assume_role_policy = data.aws_iam_policy_document.glue_assume[0].json

  tags = var.tags
}

resource "aws_iam_role_policy" "crawler" {
  count = local.create ? 1 : 0

  name   = "source-crawlers"
  role   = aws_iam_role.crawler[0].id
  policy = data.aws_iam_policy_document.crawler[0].json
}
