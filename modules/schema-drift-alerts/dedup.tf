################################################################################
# Dedup table: EventBridge delivers at least once
################################################################################

resource "aws_dynamodb_table" "dedup" {
  count = local.create ? 1 : 0

  name         = "${var.name}-schema-drift-events"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "event_id"

  attribute {
    name = "event_id"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags
}
