################################################################################
# Catalog, security configuration, connections and crawlers
################################################################################

locals {
  connection_properties = {
    for key, c in var.connections : key => (
      c.type == "JDBC" ? {
        JDBC_CONNECTION_URL = c.url
        SECRET_ID           = c.secret_arn
        JDBC_ENFORCE_SSL    = tostring(c.enforce_ssl)
        } : c.type == "MONGODB" ? {
        CONNECTION_URL = c.url
        SECRET_ID      = c.secret_arn
      } : {}
    )
  }

  s3_source_buckets = distinct([
    for s in values(var.sources) : regex("^s3://([^/]+)", s.path)[0] if s.type == "s3"
  ])
}

resource "aws_glue_catalog_database" "this" {
  count = local.create ? 1 : 0

  name        = local.database_name
  description = "Sources of the ${var.name} Personalize export, filled by its crawlers."

  tags = var.tags
}

resource "aws_glue_security_configuration" "this" {
  count = local.create ? 1 : 0

  name = "${var.name}-export"

  encryption_configuration {
    cloudwatch_encryption {
      cloudwatch_encryption_mode = "SSE-KMS"
      kms_key_arn                = var.kms_key_arn
    }

    job_bookmarks_encryption {
      job_bookmarks_encryption_mode = "CSE-KMS"
      kms_key_arn                   = var.kms_key_arn
    }

    s3_encryption {
      s3_encryption_mode = "SSE-KMS"
      kms_key_arn        = var.kms_key_arn
    }
  }
}

resource "aws_glue_connection" "this" {
  for_each = local.create ? var.connections : {}

  name                  = "${var.name}-${each.key}"
  description           = coalesce(each.value.description, "${each.value.type} connection ${each.key} of ${var.name}")
  connection_type       = each.value.type
  connection_properties = local.connection_properties[each.key]

  physical_connection_requirements {
    availability_zone      = each.value.availability_zone
    subnet_id              = each.value.subnet_id
    security_group_id_list = each.value.security_group_ids
  }

  tags = var.tags
}

resource "aws_glue_crawler" "this" {
  for_each = local.create ? var.sources : {}

  name                   = "${var.name}-${each.key}"
  description            = "Crawls the ${each.key} source of ${var.name} into ${local.database_name}."
  database_name          = aws_glue_catalog_database.this[0].name
  role                   = aws_iam_role.crawler[0].arn
  schedule               = each.value.schedule
  table_prefix           = each.value.table_prefix
  security_configuration = aws_glue_security_configuration.this[0].name

  dynamic "jdbc_target" {
    for_each = each.value.type == "jdbc" ? [true] : []

    content {
      connection_name = aws_glue_connection.this[each.value.connection].name
      path            = each.value.path
      exclusions      = each.value.exclusions
    }
  }

  dynamic "mongodb_target" {
    for_each = each.value.type == "mongodb" ? [true] : []

    content {
      connection_name = aws_glue_connection.this[each.value.connection].name
      path            = each.value.path
      scan_all        = each.value.scan_all
    }
  }

  dynamic "s3_target" {
    for_each = each.value.type == "s3" ? [true] : []

    content {
      path            = each.value.path
      exclusions      = each.value.exclusions
      connection_name = each.value.connection != null ? aws_glue_connection.this[each.value.connection].name : null
    }
  }

  schema_change_policy {
    update_behavior = each.value.update_behavior
    delete_behavior = each.value.delete_behavior
  }

  recrawl_policy {
    recrawl_behavior = each.value.recrawl_behavior
  }

  # Keep one table per source folder and let new columns merge into existing
  # tables, so schema drift shows up as UpdateTable events.
  configuration = jsonencode({
    Version = 1
    CrawlerOutput = {
      Partitions = { AddOrUpdateBehavior = "InheritFromTable" }
      Tables     = { AddOrUpdateBehavior = "MergeNewColumns" }
    }
    Grouping = { TableGroupingPolicy = "CombineCompatibleSchemas" }
  })

  tags = var.tags
}
