################################################################################
# IAM: one role per job, one for the crawlers
################################################################################

locals {
  catalog_arn     = "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog"
  database_arn    = "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${local.database_name}"
  tables_arn      = "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${local.database_name}/*"
  workflow_arn    = "arn:${local.partition}:glue:${local.region}:${local.account_id}:workflow/${var.name}"
  connection_arns = { for key in keys(var.connections) : key => "arn:${local.partition}:glue:${local.region}:${local.account_id}:connection/${var.name}-${key}" }
  glue_log_groups = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws-glue/*"

  job_script_arns            = { for job in keys(local.job_scripts) : job => "${local.artifacts_bucket_arn}/scripts/${job}.py" }
  package_zip_arn            = "${local.artifacts_bucket_arn}/packages/personalize_export.zip"
  package_wheel_arn          = "${local.artifacts_bucket_arn}/packages/${local.wheel_name}"
  spec_object_arn            = "${local.artifacts_bucket_arn}/${local.spec_key}"
  params_template_object_arn = "${local.artifacts_bucket_arn}/${local.params_template_key}"
  params_object_arn          = "${local.artifacts_bucket_arn}/${var.params_key}"
  exports_objects_arn        = "${local.data_bucket_arn}/${local.exports_prefix}*"
  rejected_objects_arn       = "${local.data_bucket_arn}/${local.rejected_prefix}*"

  # Which connections each role uses: the crawlers those of their sources, the
  # export jobs those they attach. A role reads only those connections' secrets.
  connection_users = {
    crawler = distinct([for s in values(var.sources) : s.connection if s.connection != null])
    export  = local.export_connection_keys
  }
  connection_secret_arns = {
    for user, keys in local.connection_users : user => distinct([for key in keys : var.connections[key].secret_arn if var.connections[key].secret_arn != null])
  }

  # The Data Catalog tables each export job reads, by the export code's rule
  # (ExportSpec.source_columns): the dataset's source, and for the interactions
  # job also the items source, whose item ids it reconciles against.
  spec_sources  = try(local.export_spec.sources, {})
  spec_datasets = try(local.export_spec.datasets, {})
  export_job_sources = {
    export_interactions = compact([
      try(local.spec_datasets.interactions.source, ""),
      can(local.spec_datasets.interactions.source) ? try(local.spec_datasets.items.source, "") : "",
    ])
    export_items = compact([try(local.spec_datasets.items.source, "")])
    export_users = compact([try(local.spec_datasets.users.source, "")])
  }
  export_job_tables = {
    for job, names in local.export_job_sources : job => distinct([
      for name in names : {
        database = local.spec_sources[name].catalog.database
        table    = local.spec_sources[name].catalog.table
      } if can(local.spec_sources[name].catalog.table)
    ])
  }
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

# Statements every role needs: logs and the project key (the security
# configuration encrypts logs, bookmarks and S3 output with it).
data "aws_iam_policy_document" "glue_base" {
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
}

# Connections of one role (the crawlers': their sources'; the export jobs':
# jobs.export_connections): the connection, its secret only, and the network
# interfaces Glue places in the connection's subnet.
data "aws_iam_policy_document" "connections" {
  #checkov:skip=CKV_AWS_356:Only the ec2:Describe* calls Glue makes for a connection's subnet have resource "*"; they do not support resource-level permissions.
  for_each = { for user, keys in local.connection_users : user => keys if local.create && length(keys) > 0 }

  statement {
    sid       = "ReadConnections"
    actions   = ["glue:GetConnection"]
    resources = concat([local.catalog_arn], [for key in each.value : local.connection_arns[key]])
  }

  dynamic "statement" {
    for_each = length(local.connection_secret_arns[each.key]) > 0 ? [true] : []

    content {
      sid       = "ReadConnectionSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = local.connection_secret_arns[each.key]
    }
  }

  # These describe calls cannot be scoped to a resource.
  statement {
    sid = "DescribeNetwork"
    actions = [
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeSubnets",
      "ec2:DescribeVpcEndpoints",
      "ec2:DescribeRouteTables",
    ]
    resources = ["*"]
  }

  # DescribeVpcAttribute has a resource type: the VPC of the connection's subnet.
  statement {
    sid       = "DescribeVpcAttribute"
    actions   = ["ec2:DescribeVpcAttribute"]
    resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:vpc/*"]
  }

  # Scoped as AWS's managed Glue service role (AWSGlueServiceRole) scopes them:
  # network interfaces in the connection's subnets and security groups, and
  # only Glue's own tag on them.
  # https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSGlueServiceRole.html
  statement {
    sid     = "ManageNetworkInterfaces"
    actions = ["ec2:CreateNetworkInterface"]
    resources = [
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*",
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:subnet/*",
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:security-group/*",
    ]
  }

  statement {
    sid       = "DeleteNetworkInterfaces"
    actions   = ["ec2:DeleteNetworkInterface"]
    resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"]
  }

  statement {
    sid     = "TagNetworkInterfaces"
    actions = ["ec2:CreateTags", "ec2:DeleteTags"]
    resources = [
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*",
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:security-group/*",
    ]

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = ["aws-glue-service-resource"]
    }
  }
}

################################################################################
# Jobs: one role each, so every job holds only what its code calls
################################################################################

# Statements every job role holds: the base, the job's temp dir and the run id
# (prepare publishes it; the others read it).
data "aws_iam_policy_document" "job_base" {
  count = local.create ? 1 : 0

  source_policy_documents = [data.aws_iam_policy_document.glue_base[0].json]

  statement {
    sid       = "UseTempDir"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.artifacts_bucket_arn}/tmp/*"]
  }

  statement {
    sid       = "ReadRunId"
    actions   = ["glue:GetWorkflowRunProperties"]
    resources = [local.workflow_arn]
  }
}

# The Python shell jobs (prepare, start_training): their code and what both read
# to judge the exports: the spec, and the exports' pointer, manifests and
# readiness under <export_root>/exports/.
data "aws_iam_policy_document" "shell_job" {
  for_each = local.create ? local.python_shell_jobs : {}

  source_policy_documents = [data.aws_iam_policy_document.job_base[0].json]

  statement {
    sid       = "ReadJobCode"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = [local.job_script_arns[each.key], local.package_wheel_arn]
  }

  statement {
    sid       = "ReadSpec"
    actions   = ["s3:GetObject"]
    resources = [local.spec_object_arn]
  }

  statement {
    sid       = "ListExports"
    actions   = ["s3:ListBucket"]
    resources = [local.data_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.exports_prefix}*"]
    }
  }

  statement {
    sid       = "ReadExports"
    actions   = ["s3:GetObject"]
    resources = [local.exports_objects_arn]
  }
}

# prepare: allocates the run id, chooses FULL or INCREMENTAL from the spec and the
# last successful export, and publishes both as workflow run properties.
data "aws_iam_policy_document" "prepare" {
  count = local.create ? 1 : 0

  source_policy_documents = [data.aws_iam_policy_document.shell_job["prepare"].json]

  statement {
    sid       = "PublishRunId"
    actions   = ["glue:PutWorkflowRunProperties"]
    resources = [local.workflow_arn]
  }
}

# start_training: reads the run id, then the manifest, readiness, the latest
# pointer, retention and the params hand-off, under <export_root>/exports/ and
# the params object.
data "aws_iam_policy_document" "start_training" {
  count = local.create ? 1 : 0

  source_policy_documents = [data.aws_iam_policy_document.shell_job["start_training"].json]

  statement {
    sid       = "ReadParamsTemplate"
    actions   = ["s3:GetObject"]
    resources = [local.params_template_object_arn]
  }

  statement {
    sid       = "WriteParams"
    actions   = ["s3:PutObject"]
    resources = [local.params_object_arn]
  }

  # The latest pointer moves, and retention removes old runs.
  statement {
    sid       = "MaintainExports"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = [local.exports_objects_arn]
  }

  # Retention removes an old run's rejected rows together with the run.
  statement {
    sid       = "ListRejectedRows"
    actions   = ["s3:ListBucket"]
    resources = [local.data_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.rejected_prefix}*"]
    }
  }

  statement {
    sid       = "RemoveOldRejectedRows"
    actions   = ["s3:DeleteObject"]
    resources = [local.rejected_objects_arn]
  }
}

# export_<dataset>: reads its source tables from the Data Catalog and writes
# the dataset's files under <export_root>/exports/<run_id>/.
data "aws_iam_policy_document" "export" {
  for_each = local.create ? local.export_jobs : {}

  source_policy_documents = concat(
    [data.aws_iam_policy_document.job_base[0].json],
    [for user, doc in data.aws_iam_policy_document.connections : doc.json if user == "export"],
  )

  statement {
    sid       = "ReadJobCode"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = [local.job_script_arns[each.key], local.package_zip_arn, local.spec_object_arn]
  }

  # Spark's S3 file system probes keys that do not exist yet; S3 answers those
  # with 404 only to a caller allowed to list the bucket (a prefix condition
  # does not apply to the probe), otherwise with 403, which fails the write.
  statement {
    sid       = "ListExportAndTempBuckets"
    actions   = ["s3:ListBucket"]
    resources = [local.data_bucket_arn, local.artifacts_bucket_arn]
  }

  statement {
    sid       = "WriteExports"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [local.exports_objects_arn, local.rejected_objects_arn]
  }

  dynamic "statement" {
    for_each = length(local.s3_source_buckets) > 0 ? [true] : []

    content {
      sid       = "ReadS3Sources"
      actions   = ["s3:GetObject", "s3:ListBucket"]
      resources = flatten([for b in local.s3_source_buckets : ["arn:${local.partition}:s3:::${b}", "arn:${local.partition}:s3:::${b}/*"]])
    }
  }

  dynamic "statement" {
    for_each = length(local.export_job_tables[each.key]) > 0 ? [true] : []

    content {
      sid     = "ReadSourceTables"
      actions = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartitions"]
      resources = concat(
        [local.catalog_arn],
        distinct([for t in local.export_job_tables[each.key] : "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${t.database}"]),
        [for t in local.export_job_tables[each.key] : "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${t.database}/${t.table}"],
      )
    }
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

locals {
  job_policies = merge(
    { for key, doc in data.aws_iam_policy_document.prepare : "prepare" => doc.json },
    { for key, doc in data.aws_iam_policy_document.start_training : "start_training" => doc.json },
    { for key, doc in data.aws_iam_policy_document.export : key => doc.json },
  )
}

resource "aws_iam_role" "job" {
  for_each = local.create ? local.job_scripts : {}

  name               = "${var.name}-job-${replace(each.key, "_", "-")}"
  description        = "Runs the ${var.name} ${each.key} Glue job."
  assume_role_policy = data.aws_iam_policy_document.glue_assume[0].json

  tags = var.tags
}

resource "aws_iam_role_policy" "job" {
  for_each = local.create ? local.job_scripts : {}

  name   = each.key
  role   = aws_iam_role.job[each.key].id
  policy = local.job_policies[each.key]
}

################################################################################
# Crawlers
################################################################################

data "aws_iam_policy_document" "crawler" {
  count = local.create ? 1 : 0

  source_policy_documents = concat(
    [data.aws_iam_policy_document.glue_base[0].json],
    [for user, doc in data.aws_iam_policy_document.connections : doc.json if user == "crawler"],
  )

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
