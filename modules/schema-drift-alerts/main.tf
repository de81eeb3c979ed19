data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  create = var.create

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region

  function_name = "${var.name}-schema-drift"
  can_pause     = var.pause_on_breaking && var.schedule_trigger != null

  # The Lambda bundles its handler and the export spec package (standard library
  # only), not the export jobs' code: a change to the transforms does not redeploy it.
  bundle_roots = {
    "schema_drift" = "${path.module}/../../lambda_src/schema_drift"
    "export_spec"  = "${path.module}/../../glue/export_spec"
  }
  bundle_files = merge([
    for package, dir in local.bundle_roots : {
      for f in fileset(dir, "**/*.py") : "${package}/${f}" => "${dir}/${f}"
    }
  ]...)

  failure_rules = {
    job = length(var.job_names) == 0 ? null : {
      description = "Glue job runs of ${var.name} that failed, timed out or were stopped."
      pattern = {
        source        = ["aws.glue"]
        "detail-type" = ["Glue Job State Change"]
        detail        = { jobName = var.job_names, state = ["FAILED", "TIMEOUT", "STOPPED"] }
      }
      input_paths    = { name = "$.detail.jobName", state = "$.detail.state", message = "$.detail.message", run = "$.detail.jobRunId" }
      input_template = "\"Glue job <name> run <run> ended <state>: <message>\""
    }
    crawler = length(var.crawler_names) == 0 ? null : {
      description = "Crawler runs of ${var.name} that failed."
      pattern = {
        source        = ["aws.glue"]
        "detail-type" = ["Glue Crawler State Change"]
        detail        = { crawlerName = var.crawler_names, state = ["Failed"] }
      }
      input_paths    = { name = "$.detail.crawlerName", state = "$.detail.state", message = "$.detail.errorMessage" }
      input_template = "\"Glue crawler <name> ended <state>: <message>\""
    }
  }
  active_failure_rules = { for k, v in local.failure_rules : k => v if local.create && v != null }
}

resource "terraform_data" "validation" {
  count = local.create ? 1 : 0

  lifecycle {
    precondition {
      condition     = var.kms_key_arn != null && var.export_spec.uri != null && var.database_name != null
      error_message = "kms_key_arn, export_spec and database_name are required when create is true."
    }

    precondition {
      condition     = !var.pause_on_breaking || var.schedule_trigger != null
      error_message = "pause_on_breaking needs schedule_trigger: an on-demand workflow has no schedule to pause."
    }
  }
}
