environment = "prod"
account_id  = "444455556666"
region      = "eu-west-1"

default_tags = {
  CostCenter = "recommendations"
  Owner      = "recs-team"
}

name                  = "retail-recs-prod"
notification_email    = "recs-team@example.com"
catalog_database_name = "retail_recs_prod"

connections = {
  shop_db = {
    type               = "JDBC"
    url                = "jdbc:postgresql://shop-db.prod.internal:5432/shop"
    secret_arn         = "arn:aws:secretsmanager:eu-west-1:444455556666:secret:retail-recs-prod/shop-db-AbCdEf"
    subnet_id          = "subnet-0f1e2d3c4b5a60001"
    security_group_ids = ["sg-0f1e2d3c4b5a60001"]
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
  products = {
    type     = "s3"
    path     = "s3://acme-catalog-feed-prod/products/"
    schedule = "cron(30 1 * * ? *)"
  }
  customers = {
    type     = "s3"
    path     = "s3://acme-catalog-feed-prod/customers/"
    schedule = "cron(30 1 * * ? *)"
  }
}

# Nightly export after the crawlers have run; training follows on its own.
workflow_schedule = "cron(0 3 * * ? *)"

jobs = {
  worker_type       = "G.2X"
  number_of_workers = 10
  execution_class   = "STANDARD"
  timeout_minutes   = 240
  max_retries       = 1
  keep_exports      = 7
}

campaign_min_provisioned_tps = 2

quality_gate_thresholds = {
  normalized_discounted_cumulative_gain_at_10 = 0.05
  coverage                                    = 0.1
}

pause_on_breaking_drift = true
