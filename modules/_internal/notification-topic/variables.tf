variable "create" {
  description = "Whether to create any resource of this module."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the topic."
  type        = string
}

variable "display_name" {
  description = "Display name of the topic (the sender name of email notifications)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key the topic encrypts its messages with."
  type        = string
}

variable "eventbridge_publisher" {
  description = "The EventBridge rules that may publish to the topic: the statement's sid and the conditions (test, variable, values) that name them."
  type = object({
    sid = string
    conditions = list(object({
      test     = string
      variable = string
      values   = list(string)
    }))
  })
}

variable "cloudwatch_alarm_publisher" {
  description = "CloudWatch alarms that may publish to the topic: the statement's sid and the alarm ARNs (patterns allowed). Null: none."
  type = object({
    sid         = string
    source_arns = list(string)
  })
  default = null
}

variable "subscriptions" {
  description = "Subscriptions by key: protocol and endpoint."
  type        = map(object({ protocol = string, endpoint = string }))
  default     = {}
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
