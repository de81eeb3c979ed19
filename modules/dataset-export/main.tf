data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  create = var.create

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region

  database_name = coalesce(var.catalog_database_name, replace(var.name, "-", "_"))

  data_bucket_name      = coalesce(var.data_bucket.name, "${var.name}-data-${local.account_id}")
  artifacts_bucket_name = coalesce(var.artifacts_bucket.name, "${var.name}-artifacts-${local.account_id}")

  export_root    = "s3://${local.data_bucket_name}/${var.export_prefix}"
  exports_prefix = "${var.export_prefix}/exports/"
  # Rejected rows sit beside the exports, under a prefix of their own, so that
  # a lifecycle rule can keep them for less time (they may hold raw source values).
  rejected_prefix = "${var.export_prefix}/rejected/"
  # Batch inference and segment jobs read their input and write their output
  # (under each run's id) beside the exports; Personalize reads and writes there.
  batch_input_prefix  = "${var.export_prefix}/batch/input/"
  batch_output_prefix = "${var.export_prefix}/batch/output/"

  spec_key            = "config/export-spec.json"
  params_template_key = "params/params-template.json"

  # Each bucket gets the same hardening; only its lifecycle rules differ.
  buckets = {
    data = {
      name          = local.data_bucket_name
      force_destroy = var.data_bucket.force_destroy
      lifecycle_rules = [
        {
          id              = "expire-old-exports"
          prefix          = local.exports_prefix
          tag             = null
          expiration_days = var.data_bucket.export_retention_days
        },
        {
          # Rejected rows carry personal data and are only useful for a short while.
          id              = "expire-rejected-rows"
          prefix          = local.rejected_prefix
          tag             = null
          expiration_days = var.data_bucket.rejected_rows_retention_days
        },
        {
          id              = "expire-batch-input"
          prefix          = local.batch_input_prefix
          tag             = null
          expiration_days = var.data_bucket.batch_input_retention_days
        },
        {
          # Each run writes its batch recommendations under its own run id.
          id              = "expire-batch-output"
          prefix          = local.batch_output_prefix
          tag             = null
          expiration_days = var.data_bucket.batch_output_retention_days
        },
      ]
      noncurrent_days = var.data_bucket.noncurrent_version_retention_days
    }
    artifacts = {
      name            = local.artifacts_bucket_name
      force_destroy   = var.artifacts_bucket.force_destroy
      lifecycle_rules = []
      noncurrent_days = var.artifacts_bucket.noncurrent_version_retention_days
    }
  }
  created_buckets = { for key, bucket in local.buckets : key => bucket if local.create }
}

resource "terraform_data" "validation" {
  count = local.create ? 1 : 0

  lifecycle {
    precondition {
      condition     = var.kms_key_arn != null
      error_message = "kms_key_arn is required when create is true."
    }

    precondition {
      condition     = alltrue([for s in values(var.sources) : s.connection == null || contains(keys(var.connections), coalesce(s.connection, "-"))])
      error_message = "Every source connection must be a key of var.connections."
    }

    precondition {
      condition     = var.jobs.export_connections == null || alltrue([for c in coalesce(var.jobs.export_connections, []) : contains(keys(var.connections), c)])
      error_message = "Every jobs.export_connections entry must be a key of var.connections."
    }

    precondition {
      condition     = var.params_key != local.params_template_key
      error_message = "params_key must differ from the params template key (${local.params_template_key}): only the params object may start a training run."
    }
  }
}

################################################################################
# S3 buckets
################################################################################

resource "aws_s3_bucket" "this" {
  for_each = local.created_buckets

  #checkov:skip=CKV_AWS_18:Access logging needs a separate log bucket owned by the account's logging setup; CloudTrail data events are the recommended audit trail.
  #checkov:skip=CKV_AWS_144:Cross-region replication is an account-level disaster-recovery choice; exports can be re-created from the sources.
  #checkov:skip=CKV2_AWS_62:Event notifications are enabled on the artifacts bucket by the training pipeline (EventBridge); the data bucket has no consumer of them.
  bucket        = each.value.name
  force_destroy = each.value.force_destroy

  tags = merge(var.tags, { Name = each.value.name })
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = local.created_buckets

  bucket                  = aws_s3_bucket.this[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.created_buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = local.created_buckets

  bucket = aws_s3_bucket.this[each.key].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = local.created_buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    bucket_key_enabled = true

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  #checkov:skip=CKV_AWS_300:The first rule aborts incomplete multipart uploads for the whole bucket; checkov loses static rules when dynamic rules are added.
  for_each = local.created_buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = each.value.noncurrent_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  dynamic "rule" {
    for_each = each.value.lifecycle_rules

    content {
      id     = rule.value.id
      status = "Enabled"

      filter {
        dynamic "and" {
          for_each = rule.value.tag != null ? [rule.value.tag] : []

          content {
            prefix = rule.value.prefix
            tags   = { (and.value.key) = and.value.value }
          }
        }

        prefix = rule.value.tag == null ? rule.value.prefix : null
      }

      expiration {
        days = rule.value.expiration_days
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

locals {
  # The data bucket's grants to Personalize, by sid: the actions, the paths after the
  # bucket ARN ("" is the bucket itself) and any condition besides the source ones.
  personalize_bucket_grants = {
    PersonalizeReadExports = { actions = ["s3:GetObject"], paths = ["/${local.exports_prefix}*"], conditions = [] }
    PersonalizeListExports = {
      actions    = ["s3:ListBucket"]
      paths      = [""]
      conditions = [{ test = "StringLike", variable = "s3:prefix", values = ["${local.exports_prefix}*"] }]
    }
    PersonalizeBatchJobs = {
      actions    = ["s3:GetObject", "s3:PutObject"]
      paths      = ["/${local.batch_input_prefix}*", "/${local.batch_output_prefix}*"]
      conditions = []
    }
    PersonalizeListBatchPrefixes = {
      actions    = ["s3:ListBucket"]
      paths      = [""]
      conditions = [{ test = "StringLike", variable = "s3:prefix", values = ["${local.batch_input_prefix}*", "${local.batch_output_prefix}*"] }]
    }
  }
  personalize_source_conditions = [
    { test = "StringEquals", variable = "aws:SourceAccount", values = [local.account_id] },
    { test = "ArnLike", variable = "aws:SourceArn", values = ["arn:${local.partition}:personalize:${local.region}:${local.account_id}:*"] },
  ]
}

data "aws_iam_policy_document" "bucket" {
  for_each = local.created_buckets

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      "arn:${local.partition}:s3:::${each.value.name}",
      "arn:${local.partition}:s3:::${each.value.name}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # Personalize reads the exports, and runs batch jobs on the batch prefixes: only
  # Personalize working for this account (confused-deputy protection), on the data bucket.
  # https://docs.aws.amazon.com/personalize/latest/dg/granting-personalize-s3-access.html
  dynamic "statement" {
    for_each = { for sid, grant in local.personalize_bucket_grants : sid => grant if each.key == "data" && var.allow_personalize_read }

    content {
      sid       = statement.key
      effect    = "Allow"
      actions   = statement.value.actions
      resources = [for path in statement.value.paths : "arn:${local.partition}:s3:::${each.value.name}${path}"]

      principals {
        type        = "Service"
        identifiers = ["personalize.amazonaws.com"]
      }

      dynamic "condition" {
        for_each = concat(statement.value.conditions, local.personalize_source_conditions)

        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = local.created_buckets

  bucket = aws_s3_bucket.this[each.key].id
  policy = data.aws_iam_policy_document.bucket[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.this]
}
