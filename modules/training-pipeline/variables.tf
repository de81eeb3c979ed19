variable "create" {
  description = "Whether to create any resource of this module."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name prefix of every resource (lower case letters, digits and hyphens, starting with a letter)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.name))
    error_message = "The name must be 3-40 characters of lower case letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key for the topic, queues, logs and Lambda environments. Its policy must allow CloudWatch Logs and Personalize."
  type        = string

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>); it may only be null when create is false."
  }
}

variable "personalize_kms_key_arn" {
  description = "KMS key the dataset group is encrypted with (passed to the Lambdas as PERSONALIZE_KMS_KEY_ARN). Empty string for an AWS-owned key."
  type        = string
  default     = ""
}

variable "data_bucket_arn" {
  description = "ARN of the bucket that holds the exports."
  type        = string
}

variable "exports_prefix" {
  description = "Key prefix of the exports in the data bucket, ending with a slash (e.g. personalize/exports/)."
  type        = string

  validation {
    condition     = var.exports_prefix == null || can(regex("^([a-zA-Z0-9_-]+/)+$", var.exports_prefix))
    error_message = "exports_prefix must be a key prefix ending with a slash, e.g. personalize/exports/."
  }
}

variable "params_bucket_name" {
  description = "Name of the bucket that holds the params object."
  type        = string
}

variable "params_key" {
  description = "Key of the params object. Each new version of it starts an execution."
  type        = string
  default     = "params/params.json"
}

variable "enable_params_bucket_eventbridge" {
  description = "Whether to turn on EventBridge notifications of the params bucket (needed for the start rule; turn off if the bucket's notifications are managed elsewhere)."
  type        = bool
  default     = true
}

variable "functions_registry_path" {
  description = "Path of the Lambda registry (functions.json). Null uses the one shipped with the module."
  type        = string
  default     = null
}

variable "lambda" {
  description = "Settings shared by the pipeline Lambdas. reserved_concurrent_executions applies to each function, so the account reserves it times the number of registry entries; it is also the state machine's Map concurrency, so no Map runs more iterations at once than its function may run."
  type = object({
    runtime                        = optional(string, "python3.12")
    architecture                   = optional(string, "arm64")
    reserved_concurrent_executions = optional(number, 3)
    log_level                      = optional(string, "INFO")
  })
  default = {}

  validation {
    condition     = contains(["python3.11", "python3.12", "python3.13"], var.lambda.runtime)
    error_message = "lambda.runtime must be python3.11, python3.12 or python3.13."
  }

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda.architecture)
    error_message = "lambda.architecture must be arm64 or x86_64."
  }

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.lambda.log_level)
    error_message = "lambda.log_level must be DEBUG, INFO, WARNING or ERROR."
  }

  validation {
    condition     = var.lambda.reserved_concurrent_executions >= 1 && floor(var.lambda.reserved_concurrent_executions) == var.lambda.reserved_concurrent_executions
    error_message = "lambda.reserved_concurrent_executions must be a whole number of at least 1 (it is also the Map states' MaxConcurrency, where 0 would mean no limit)."
  }
}

variable "ssm_parameter_prefix" {
  description = "SSM Parameter Store path under which the event tracker id is written. Null gives /personalize-pipeline/<name>."
  type        = string
  default     = null

  validation {
    condition     = var.ssm_parameter_prefix == null || can(regex("^(/[a-zA-Z0-9_.-]+)+$", coalesce(var.ssm_parameter_prefix, "/x")))
    error_message = "ssm_parameter_prefix must be a path like /personalize-pipeline/dev (no trailing slash)."
  }
}

variable "log_retention_days" {
  description = "Retention of the state machine and Lambda log groups, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "state_machine_log_level" {
  description = "Step Functions execution log level: ALL, ERROR, FATAL or OFF."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL", "OFF"], var.state_machine_log_level)
    error_message = "state_machine_log_level must be ALL, ERROR, FATAL or OFF."
  }
}

variable "subscriptions" {
  description = "Subscriptions of the notification topic, by key: protocol email, https or sqs, and the endpoint (address, URL or queue ARN)."
  type = map(object({
    protocol = string
    endpoint = string
  }))
  default = {}

  validation {
    condition     = alltrue([for s in values(var.subscriptions) : contains(["email", "https", "sqs"], s.protocol)])
    error_message = "Each subscription protocol must be email, https or sqs."
  }
}

variable "monitoring" {
  description = "The CloudWatch dashboard and the optional alarms, sent to the notification topic: on a failed run, on a rejection by the quality gate, and when no run succeeded within alarm_when_no_success_in_days (1-7; null turns it off). When an alarm is on, kms_key_arn's policy must let cloudwatch.amazonaws.com use the key (kms:Decrypt, kms:GenerateDataKey), as the composition module's key does."
  type = object({
    dashboard                     = optional(bool, true)
    alarm_on_failed_run           = optional(bool, false)
    alarm_on_gate_rejection       = optional(bool, false)
    alarm_when_no_success_in_days = optional(number, null)
  })
  default = {}

  validation {
    condition     = var.monitoring.alarm_when_no_success_in_days == null || try(var.monitoring.alarm_when_no_success_in_days >= 1 && var.monitoring.alarm_when_no_success_in_days <= 7 && floor(var.monitoring.alarm_when_no_success_in_days) == var.monitoring.alarm_when_no_success_in_days, false)
    error_message = "monitoring.alarm_when_no_success_in_days must be a whole number of days from 1 to 7 (CloudWatch evaluates an alarm over at most 7 days), or null."
  }
}
