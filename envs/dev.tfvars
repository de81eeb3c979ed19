environment = "dev"
account_id  = "111122223333"
region      = "eu-west-1"

default_tags = {
  CostCenter = "recommendations"
  Owner      = "recs-team"
}

name                  = "retail-recs-dev"
notification_email    = "recs-team-dev@example.com"
catalog_database_name = "retail_recs_dev"

connections = {
  shop_db = {
    type               = "JDBC"
    url                = "jdbc:postgresql://shop-db.dev.internal:5432/shop"
    secret_arn         = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:retail-recs-dev/shop-db-AbCdEf"
    subnet_id          = "subnet-0a1b2c3d4e5f60001"
    security_group_ids = ["sg-0a1b2c3d4e5f60001"]
    availability_zone  = "eu-west-1a"
  }
}

sources = {
  orders = {
    type       = "jdbc"
    connection = "shop_db"
    path       = "shop/public/orders"
  }
  products = {
    type = "s3"
    path = "s3://acme-catalog-feed-dev/products/"
  }
  customers = {
    type = "s3"
    path = "s3://acme-catalog-feed-dev/customers/"
  }
}

# Dev runs on demand, small and cheap.
workflow_schedule = null

jobs = {
  worker_type       = "G.1X"
  number_of_workers = 2
  execution_class   = "FLEX"
  keep_exports      = 3
}

campaign_min_provisioned_tps = 1
quality_gate_thresholds      = {}
pause_on_breaking_drift      = false
