data "aws_partition" "current" {}

module "personalize_pipeline" {
  source = "../modules/personalize-pipeline"

  name = var.name

  connections           = var.connections
  sources               = var.sources
  catalog_database_name = var.catalog_database_name
  export_spec_path      = "${path.module}/${var.environment}.export_spec.yaml"

  workflow_start = var.workflow_schedule == null ? { type = "ON_DEMAND" } : {
    type     = "SCHEDULED"
    schedule = var.workflow_schedule
  }

  jobs = var.jobs

  training = {
    solutions = [
      {
        name       = "user-personalization"
        recipe_arn = "arn:${data.aws_partition.current.partition}:personalize:::recipe/aws-user-personalization-v2"
      },
    ]
    campaigns = [
      {
        name                = "homepage"
        solution            = "user-personalization"
        min_provisioned_tps = var.campaign_min_provisioned_tps
      },
    ]
    quality_gate = {
      thresholds = var.quality_gate_thresholds
    }
    event_tracker = { name = "web-events" }
  }

  notification_email = var.notification_email

  drift_alerts = {
    pause_on_breaking = var.pause_on_breaking_drift
  }
}
