################################################################################
# Job scripts, the spec and the params template (the shared package: packaging.tf)
################################################################################

locals {
  export_spec = yamldecode(file(var.export_spec_path))

  job_scripts = {
    prepare             = "${path.module}/../../glue/jobs/prepare.py"
    export_interactions = "${path.module}/../../glue/jobs/export_interactions.py"
    export_items        = "${path.module}/../../glue/jobs/export_items.py"
    export_users        = "${path.module}/../../glue/jobs/export_users.py"
    start_training      = "${path.module}/../../glue/jobs/start_training.py"
  }

  python_shell_jobs = {
    prepare        = "Allocates the export run id and puts it in the workflow run properties."
    start_training = "Validates the export manifest, moves the latest pointer and writes the training params that start the state machine."
  }

  export_jobs = {
    export_interactions = "Exports the interactions dataset as Personalize CSV."
    export_items        = "Exports the items dataset as Personalize CSV."
    export_users        = "Exports the users dataset as Personalize CSV."
  }

  artifacts_bucket_arn = "arn:${local.partition}:s3:::${local.artifacts_bucket_name}"
  data_bucket_arn      = "arn:${local.partition}:s3:::${local.data_bucket_name}"

  spec_uri            = "s3://${local.artifacts_bucket_name}/${local.spec_key}"
  params_template_uri = "s3://${local.artifacts_bucket_name}/${local.params_template_key}"
  params_uri          = "s3://${local.artifacts_bucket_name}/${var.params_key}"
  package_zip_uri     = "s3://${local.artifacts_bucket_name}/packages/personalize_export.zip"
  package_wheel_uri   = "s3://${local.artifacts_bucket_name}/packages/${local.wheel_name}"

  # Arguments every job reads: where the spec is, where exports go, how many to keep.
  common_job_arguments = merge({
    "--spec_uri"                         = local.spec_uri
    "--export_root"                      = local.export_root
    "--keep_exports"                     = tostring(var.jobs.keep_exports)
    "--job-language"                     = "python"
    "--enable-continuous-cloudwatch-log" = "true"
    "--enable-metrics"                   = "true"
    "--TempDir"                          = "s3://${local.artifacts_bucket_name}/tmp/"
  }, var.jobs.extra_arguments)

  python_shell_job_arguments = {
    # auto: FULL or INCREMENTAL as docs/export-spec.md describes. A run started with the
    # run property export_requested = FULL (or INCREMENTAL) overrides it for that run;
    # --export_mode FULL/INCREMENTAL here forces every run (a run property that disagrees
    # is refused).
    prepare = {
      "--export_mode" = "auto"
      # The lifecycle rule's expiry: prepare starts a new chain before its base expires.
      "--export_expiry_days" = tostring(var.data_bucket.export_retention_days)
    }
    start_training = {
      "--params_template_uri" = local.params_template_uri
      "--params_uri"          = local.params_uri
    }
  }

  export_connection_keys = var.jobs.export_connections != null ? var.jobs.export_connections : keys(var.connections)
}

resource "aws_s3_object" "job_script" {
  for_each = local.create ? local.job_scripts : {}

  bucket                 = aws_s3_bucket.this["artifacts"].id
  key                    = "scripts/${each.key}.py"
  source                 = each.value
  source_hash            = filemd5(each.value)
  content_type           = "text/x-python"
  server_side_encryption = "aws:kms"
  kms_key_id             = var.kms_key_arn

  tags = var.tags
}

resource "aws_s3_object" "export_spec" {
  count = local.create ? 1 : 0

  bucket                 = aws_s3_bucket.this["artifacts"].id
  key                    = local.spec_key
  content                = jsonencode(local.export_spec)
  content_type           = "application/json"
  server_side_encryption = "aws:kms"
  kms_key_id             = var.kms_key_arn

  tags = var.tags
}

resource "aws_s3_object" "params_template" {
  count = local.create ? 1 : 0

  bucket                 = aws_s3_bucket.this["artifacts"].id
  key                    = local.params_template_key
  content                = jsonencode(jsondecode(var.params_template_json))
  content_type           = "application/json"
  server_side_encryption = "aws:kms"
  kms_key_id             = var.kms_key_arn

  tags = var.tags
}

################################################################################
# Jobs
################################################################################

resource "aws_glue_job" "python_shell" {
  for_each = local.create ? local.python_shell_jobs : {}

  name                   = "${var.name}-${replace(each.key, "_", "-")}"
  description            = each.value
  role_arn               = aws_iam_role.job[each.key].arn
  glue_version           = "3.0"
  max_capacity           = var.jobs.python_shell_max_capacity
  timeout                = var.jobs.python_shell_timeout_minutes
  max_retries            = var.jobs.max_retries
  security_configuration = aws_glue_security_configuration.this[0].name

  command {
    name            = "pythonshell"
    python_version  = "3.9"
    script_location = "s3://${aws_s3_object.job_script[each.key].bucket}/${aws_s3_object.job_script[each.key].key}"
  }

  default_arguments = merge(local.common_job_arguments, local.python_shell_job_arguments[each.key], {
    "--extra-py-files" = local.package_wheel_uri
  })

  execution_property {
    max_concurrent_runs = 1
  }

  tags = var.tags

  depends_on = [aws_s3_object.package]
}

resource "aws_glue_job" "export" {
  for_each = local.create ? local.export_jobs : {}

  name                   = "${var.name}-${replace(each.key, "_", "-")}"
  description            = each.value
  role_arn               = aws_iam_role.job[each.key].arn
  glue_version           = var.jobs.glue_version
  worker_type            = var.jobs.worker_type
  number_of_workers      = var.jobs.number_of_workers
  execution_class        = var.jobs.execution_class
  timeout                = var.jobs.timeout_minutes
  max_retries            = var.jobs.max_retries
  security_configuration = aws_glue_security_configuration.this[0].name
  connections            = [for key in local.export_connection_keys : aws_glue_connection.this[key].name]

  command {
    name            = "glueetl"
    python_version  = "3"
    script_location = "s3://${aws_s3_object.job_script[each.key].bucket}/${aws_s3_object.job_script[each.key].key}"
  }

  default_arguments = merge(local.common_job_arguments, {
    "--extra-py-files"      = local.package_zip_uri
    "--enable-auto-scaling" = tostring(var.jobs.enable_auto_scaling)
    "--job-bookmark-option" = "job-bookmark-disable"
  })

  execution_property {
    max_concurrent_runs = 1
  }

  tags = var.tags

  depends_on = [aws_s3_object.package]
}

################################################################################
# Workflow: start -> prepare -> three exports in parallel -> start_training
################################################################################

resource "aws_glue_workflow" "this" {
  count = local.create ? 1 : 0

  name                = var.name
  description         = "Exports the ${var.name} sources to Amazon Personalize CSV and hands the export to training."
  max_concurrent_runs = 1

  tags = var.tags
}

resource "aws_glue_trigger" "start" {
  count = local.create ? 1 : 0

  name          = "${var.name}-start"
  description   = "Starts the export workflow (${var.workflow_start.type})."
  workflow_name = aws_glue_workflow.this[0].name
  type          = var.workflow_start.type
  schedule      = var.workflow_start.type == "SCHEDULED" ? var.workflow_start.schedule : null

  # hashicorp/aws calls StartTrigger right after creating an ON_DEMAND trigger whose
  # `enabled` is true (its default), which starts a workflow run on the first apply,
  # before any crawler has filled the catalog. So an ON_DEMAND trigger is created
  # disabled (it still starts with StartWorkflowRun); a SCHEDULED one is activated.
  enabled           = var.workflow_start.type == "SCHEDULED"
  start_on_creation = var.workflow_start.type == "SCHEDULED" ? true : null

  actions {
    job_name = aws_glue_job.python_shell["prepare"].name
  }

  tags = var.tags

  lifecycle {
    # On breaking schema drift the drift Lambda stops this trigger (StopTrigger). The
    # provider reads a stopped SCHEDULED trigger back as enabled = false, so without this
    # the next unrelated apply would call StartTrigger and undo the pause. The pause
    # lasts until a person resumes it: aws glue start-trigger --name <trigger name>.
    ignore_changes = [enabled]
  }
}

resource "aws_glue_trigger" "exports" {
  count = local.create ? 1 : 0

  name              = "${var.name}-exports"
  description       = "Starts the three export jobs in parallel once prepare has succeeded."
  workflow_name     = aws_glue_workflow.this[0].name
  type              = "CONDITIONAL"
  start_on_creation = true

  predicate {
    conditions {
      job_name         = aws_glue_job.python_shell["prepare"].name
      state            = "SUCCEEDED"
      logical_operator = "EQUALS"
    }
  }

  dynamic "actions" {
    for_each = aws_glue_job.export

    content {
      job_name = actions.value.name
    }
  }

  tags = var.tags
}

resource "aws_glue_trigger" "start_training" {
  count = local.create ? 1 : 0

  name              = "${var.name}-start-training"
  description       = "Hands the export to training once all three exports have succeeded."
  workflow_name     = aws_glue_workflow.this[0].name
  type              = "CONDITIONAL"
  start_on_creation = true

  predicate {
    logical = "AND"

    dynamic "conditions" {
      for_each = aws_glue_job.export

      content {
        job_name         = conditions.value.name
        state            = "SUCCEEDED"
        logical_operator = "EQUALS"
      }
    }
  }

  actions {
    job_name = aws_glue_job.python_shell["start_training"].name
  }

  tags = var.tags
}
