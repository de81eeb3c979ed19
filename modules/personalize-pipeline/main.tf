data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  create = var.create

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region

  # Recipe ARNs name a partition: the default solution's recipe is that of the partition the
  # pipeline is deployed to (aws, aws-cn in China, aws-us-gov in GovCloud).
  training_solutions = var.training.solutions != null ? var.training.solutions : [{
    name                  = "user-personalization"
    recipe_arn            = "arn:${local.partition}:personalize:::recipe/aws-user-personalization-v2"
    training_mode         = "FULL"
    perform_auto_training = false
    perform_hpo           = false
    event_type            = null
  }]
  training_arns = concat([for s in local.training_solutions : s.recipe_arn], compact([var.training.dataset_group_kms_key_arn]))

  subscriptions = merge({ email = { protocol = "email", endpoint = var.notification_email } }, var.subscriptions)

  # The params template in the training Lambdas' format; nulls are left out so
  # their defaults apply.
  params_template = merge(
    {
      name        = coalesce(var.training.name, var.name)
      import_mode = var.training.import_mode
      solutions   = [for s in local.training_solutions : { for k, v in s : k => v if v != null }]
      campaigns   = var.training.campaigns
      quality_gate = {
        for k, v in var.training.quality_gate : k => v if v != null
      }
      filters   = var.training.filters
      readiness = var.training.readiness
    },
    {
      for key, value in {
        dataset_group = var.training.dataset_group_kms_key_arn != null ? { kms_key_arn = var.training.dataset_group_kms_key_arn } : null
        event_tracker = var.training.event_tracker
      } : key => value if value != null
    },
    var.params_overrides,
  )
}

resource "terraform_data" "validation" {
  count = local.create ? 1 : 0

  lifecycle {
    precondition {
      condition     = var.create_kms_key || var.kms_key_arn != null
      error_message = "Set kms_key_arn when create_kms_key is false."
    }

    precondition {
      condition     = alltrue([for c in var.training.campaigns : contains([for s in local.training_solutions : s.name], c.solution)])
      error_message = "Each training campaign must name one of the training solutions."
    }

    # Personalize finds no recipe or key by an ARN of another partition.
    precondition {
      condition     = alltrue([for arn in local.training_arns : can(regex("^arn:${local.partition}:", arn))])
      error_message = "Every training recipe_arn and dataset_group_kms_key_arn must be an ARN of the partition the pipeline is deployed to (arn:<partition>:...)."
    }
  }
}

module "dataset_export" {
  source = "../dataset-export"

  create = local.create
  name   = var.name
  tags   = var.tags

  kms_key_arn           = local.kms_key_arn
  data_bucket           = var.data_bucket
  artifacts_bucket      = var.artifacts_bucket
  export_prefix         = var.export_prefix
  catalog_database_name = var.catalog_database_name
  connections           = var.connections
  sources               = var.sources
  export_spec_path      = var.export_spec_path
  params_template_json  = jsonencode(local.params_template)
  workflow_start        = var.workflow_start
  jobs                  = var.jobs
}

module "training_pipeline" {
  source = "../training-pipeline"

  create = local.create
  name   = var.name
  tags   = var.tags

  kms_key_arn             = local.kms_key_arn
  personalize_kms_key_arn = var.training.dataset_group_kms_key_arn != null ? var.training.dataset_group_kms_key_arn : ""
  data_bucket_arn         = module.dataset_export.data_bucket_arn
  exports_prefix          = module.dataset_export.exports_prefix
  params_bucket_name      = module.dataset_export.artifacts_bucket_name
  params_key              = module.dataset_export.params_key
  lambda                  = var.training_lambda
  ssm_parameter_prefix    = var.ssm_parameter_prefix
  log_retention_days      = var.log_retention_days
  state_machine_log_level = var.state_machine_log_level
  subscriptions           = local.subscriptions
  monitoring              = var.training_monitoring
}

module "schema_drift_alerts" {
  source = "../schema-drift-alerts"

  create = local.create && var.drift_alerts.enabled
  name   = var.name
  tags   = var.tags

  kms_key_arn   = local.kms_key_arn
  database_name = module.dataset_export.catalog_database_name
  export_spec = {
    uri        = module.dataset_export.export_spec_uri
    object_arn = module.dataset_export.export_spec_object_arn
  }
  job_names     = values(module.dataset_export.job_names)
  crawler_names = values(module.dataset_export.crawler_names)
  schedule_trigger = module.dataset_export.schedule_trigger_name == null ? null : {
    name = module.dataset_export.schedule_trigger_name
    arn  = module.dataset_export.schedule_trigger_arn
  }
  pause_on_breaking  = var.drift_alerts.pause_on_breaking
  notify_info        = var.drift_alerts.notify_info
  log_retention_days = var.log_retention_days
  subscriptions      = local.subscriptions
}
