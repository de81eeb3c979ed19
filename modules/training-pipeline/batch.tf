################################################################################
# Batch inference and batch segment jobs: what Personalize reads and writes
################################################################################

locals {
  # Beside the exports (<export prefix>/exports/): the jobs read
  # <export prefix>/batch/input/<job>/ and write <export prefix>/batch/output/<run id>/<job>/
  # (lambda_src/personalize_pipeline/batch_jobs.py; the dataset-export module's
  # lifecycle rules and bucket policy cover the same prefixes).
  batch_prefix        = "${trimsuffix(coalesce(var.exports_prefix, "exports/"), "exports/")}batch/"
  batch_input_prefix  = "${local.batch_prefix}input/"
  batch_output_prefix = "${local.batch_prefix}output/"
}

# The role Personalize runs the jobs with lists and reads the input prefix and
# writes the output prefix, nothing else; the data bucket's key is already the
# role's (UseKeys in iam.tf).
# https://docs.aws.amazon.com/personalize/latest/dg/granting-personalize-s3-access.html
data "aws_iam_policy_document" "personalize_batch" {
  count = local.create ? 1 : 0

  statement {
    sid       = "ListBatchPrefixes"
    actions   = ["s3:ListBucket"]
    resources = [var.data_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.batch_input_prefix}*", "${local.batch_output_prefix}*"]
    }
  }

  statement {
    sid       = "ReadBatchInput"
    actions   = ["s3:GetObject"]
    resources = ["${var.data_bucket_arn}/${local.batch_input_prefix}*"]
  }

  statement {
    sid       = "WriteBatchOutput"
    actions   = ["s3:PutObject"]
    resources = ["${var.data_bucket_arn}/${local.batch_output_prefix}*"]
  }
}

resource "aws_iam_role_policy" "personalize_batch" {
  count = local.create ? 1 : 0

  name   = "batch-jobs"
  role   = aws_iam_role.personalize[0].id
  policy = data.aws_iam_policy_document.personalize_batch[0].json
}
