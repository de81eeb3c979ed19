provider "aws" {
  region = "eu-west-1"

  default_tags {
    tags = {
      Project = "retail-recs"
      Example = "complete"
    }
  }
}

# Every setting of the composition module: JDBC and document-store sources over
# VPC connections, an S3 source, a scheduled workflow, Flex export jobs, two
# solutions, a campaign behind a quality gate, a filter and an event tracker.
data "aws_partition" "current" {}

module "personalize_pipeline" {
  source = "../.."

  name = "retail-recs"
  tags = { Team = "recommendations" }

  connections = {
    shop_db = {
      type               = "JDBC"
      url                = "jdbc:postgresql://shop-db.internal:5432/shop"
      secret_arn         = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:retail-recs/shop-db-AbCdEf"
      subnet_id          = "subnet-0123456789abcdef0"
      security_group_ids = ["sg-0123456789abcdef0"]
      availability_zone  = "eu-west-1a"
    }
    crm_docdb = {
      type               = "MONGODB"
      url                = "mongodb://crm-docdb.cluster-abc.eu-west-1.docdb.amazonaws.com:27017/crm"
      secret_arn         = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:retail-recs/crm-docdb-AbCdEf"
      subnet_id          = "subnet-0123456789abcdef0"
      security_group_ids = ["sg-0123456789abcdef0"]
      availability_zone  = "eu-west-1a"
    }
  }

  sources = {
    orders = {
      type       = "jdbc"
      connection = "shop_db"
      path       = "shop/public/orders"
      schedule   = "cron(0 1 * * ? *)"
    }
    customers = {
      type         = "mongodb"
      connection   = "crm_docdb"
      path         = "crm/customer_profiles"
      table_prefix = ""
    }
    products = {
      type             = "s3"
      path             = "s3://retail-catalog-feed/products/"
      recrawl_behavior = "CRAWL_NEW_FOLDERS_ONLY"
      update_behavior  = "LOG"
      delete_behavior  = "LOG"
    }
  }

  catalog_database_name = "retail_recs"
  export_spec_path      = "${path.module}/export_spec.yaml"

  data_bucket = {
    export_retention_days        = 120
    rejected_rows_retention_days = 14
  }

  workflow_start = {
    type     = "SCHEDULED"
    schedule = "cron(0 3 * * ? *)"
  }

  jobs = {
    worker_type       = "G.2X"
    number_of_workers = 4
    execution_class   = "FLEX"
    timeout_minutes   = 180
    max_retries       = 1
    keep_exports      = 7
  }

  training = {
    name                      = "retail-recs"
    dataset_group_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
    import_mode               = "follow_export"
    solutions = [
      {
        name                  = "user-personalization"
        recipe_arn            = "arn:${data.aws_partition.current.partition}:personalize:::recipe/aws-user-personalization-v2"
        training_mode         = "FULL"
        perform_auto_training = false
        perform_hpo           = false
        event_type            = "purchase"
      },
      {
        name       = "similar-items"
        recipe_arn = "arn:${data.aws_partition.current.partition}:personalize:::recipe/aws-similar-items"
      },
    ]
    campaigns = [
      {
        name                = "homepage"
        solution            = "user-personalization"
        min_provisioned_tps = 2
      },
    ]
    quality_gate = {
      thresholds = {
        normalized_discounted_cumulative_gain_at_10 = 0.05
        coverage                                    = 0.1
      }
      compare_with_serving = true
      tolerance            = 0.02
      compare_metrics      = ["normalized_discounted_cumulative_gain_at_10"]
    }
    filters = [
      {
        name       = "in-stock"
        expression = "EXCLUDE ItemID WHERE Items.IN_STOCK IN (\"false\")"
      },
    ]
    event_tracker = { name = "web-events" }
    readiness = {
      min_interactions = 50000
    }
  }

  training_lambda = {
    reserved_concurrent_executions = 10
    log_level                      = "INFO"
  }

  training_monitoring = {
    alarm_on_failed_run           = true
    alarm_on_gate_rejection       = true
    alarm_when_no_success_in_days = 7
  }

  notification_email = "recs-team@example.com"
  subscriptions = {
    oncall = {
      protocol = "https"
      endpoint = "https://oncall.example.com/hooks/sns"
    }
  }

  drift_alerts = {
    notify_info       = true
    pause_on_breaking = true
  }
}

output "state_machine_arn" {
  description = "ARN of the training state machine."
  value       = module.personalize_pipeline.state_machine_arn
}

output "workflow_name" {
  description = "Name of the Glue export workflow."
  value       = module.personalize_pipeline.workflow_name
}

output "params_uri" {
  description = "S3 URI of the params object; each new version starts a training run."
  value       = module.personalize_pipeline.params_uri
}
