variable "create" {
  description = "Whether to create any resource of this module."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the pipeline and prefix of every resource (lower case letters, digits and hyphens, starting with a letter)."
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

################################################################################
# Sources and export
################################################################################

variable "sources" {
  description = "One crawler per source, by key: type jdbc, mongodb or s3, path, and for jdbc/mongodb the key of a connection. The type and its defaults are the dataset-export module's sources input."
  # Passed to dataset-export unchanged: the object type is declared there, once.
  type = any
}

variable "connections" {
  description = "Glue connections by key: type JDBC, MONGODB or NETWORK, url, secret_arn (Secrets Manager) and VPC settings. The type and its defaults are the dataset-export module's connections input."
  # Passed to dataset-export unchanged: the object type is declared there, once.
  type    = any
  default = {}
}

variable "export_spec_path" {
  description = "Path of the export spec (YAML or JSON) that says which catalog tables become which Personalize datasets."
  type        = string
}

variable "catalog_database_name" {
  description = "Name of the Glue Data Catalog database of the sources. Defaults to the name with hyphens replaced by underscores."
  type        = string
  default     = null
}

variable "export_prefix" {
  description = "Key prefix in the data bucket under which the exports are written."
  type        = string
  default     = "personalize"
}

variable "data_bucket" {
  description = "Settings of the data bucket: the dataset-export module's data_bucket input (type and defaults)."
  # Passed to dataset-export unchanged: the object type is declared there, once.
  type    = any
  default = {}
}

variable "artifacts_bucket" {
  description = "Settings of the artifacts bucket: the dataset-export module's artifacts_bucket input (type and defaults)."
  # Passed to dataset-export unchanged: the object type is declared there, once.
  type    = any
  default = {}
}

variable "workflow_start" {
  description = "How the export workflow starts: ON_DEMAND, or SCHEDULED with a cron() schedule. The type and its defaults are the dataset-export module's workflow_start input."
  # Passed to dataset-export unchanged: the object type is declared there, once.
  type    = any
  default = {}
}

variable "jobs" {
  description = "Settings of the Glue jobs: the dataset-export module's jobs input (type and defaults)."
  # Passed to dataset-export unchanged: the object type is declared there, once.
  type    = any
  default = {}
}

################################################################################
# Training
################################################################################

variable "training" {
  description = "The training params template: solutions, campaigns, quality gate, filters, event tracker and the interactions minimum. start_training adds the export section on each run. See docs/training.md for each field. solutions null trains one user-personalization solution on the aws-user-personalization-v2 recipe of the partition the pipeline is deployed to; recipe and key ARNs must be of that partition."
  type = object({
    name                      = optional(string)
    dataset_group_kms_key_arn = optional(string)
    import_mode               = optional(string, "follow_export")
    solutions = optional(list(object({
      name                  = string
      recipe_arn            = string
      training_mode         = optional(string, "FULL")
      perform_auto_training = optional(bool, false)
      perform_hpo           = optional(bool, false)
      event_type            = optional(string)
    })))
    campaigns = optional(list(object({
      name                = string
      solution            = string
      min_provisioned_tps = optional(number, 1)
    })), [])
    quality_gate = optional(object({
      thresholds           = optional(map(number), {})
      compare_with_serving = optional(bool, true)
      tolerance            = optional(number, 0)
      compare_metrics      = optional(list(string))
    }), {})
    filters = optional(list(object({
      name       = string
      expression = string
    })), [])
    event_tracker = optional(object({
      name = optional(string, "events")
    }))
    readiness = optional(object({
      min_interactions = optional(number, 1000)
    }), {})
  })
  default = {}

  validation {
    condition     = contains(["follow_export", "full_only"], var.training.import_mode)
    error_message = "training.import_mode must be follow_export (import each dataset in its export's mode) or full_only (FULL exports only); FULL and INCREMENTAL are no longer accepted (FULL becomes full_only, INCREMENTAL follow_export)."
  }

  validation {
    condition     = var.training.solutions == null ? true : (length(var.training.solutions) > 0 && alltrue([for s in var.training.solutions : contains(["FULL", "UPDATE", "follow_import"], s.training_mode)]))
    error_message = "training needs at least one solution, and each training_mode must be FULL, UPDATE or follow_import."
  }

  validation {
    condition     = alltrue([for c in var.training.campaigns : c.min_provisioned_tps >= 1])
    error_message = "Each training campaign must have min_provisioned_tps >= 1."
  }

  validation {
    condition     = var.training.readiness.min_interactions >= 1000
    error_message = "training.readiness.min_interactions cannot be below Personalize's own minimum of 1000 (the users rule is checked by the export's readiness)."
  }

  validation {
    condition     = var.training.name == null || can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]{0,39}$", coalesce(var.training.name, "x")))
    error_message = "training.name must be 1-40 letters, digits, _ or -, starting with a letter or digit."
  }
}

variable "params_overrides" {
  description = "Extra top-level fields merged into the params template as they are (e.g. waits, tags), for settings the typed training variable does not cover."
  type        = any
  default     = {}
}

variable "training_lambda" {
  description = "Settings shared by the training Lambdas. reserved_concurrent_executions applies to each function and is also the state machine's Map concurrency."
  type = object({
    runtime                        = optional(string, "python3.12")
    architecture                   = optional(string, "arm64")
    reserved_concurrent_executions = optional(number, 3)
    log_level                      = optional(string, "INFO")
  })
  default = {}
}

variable "ssm_parameter_prefix" {
  description = "SSM Parameter Store path for the event tracker id. Null gives /personalize-pipeline/<name>."
  type        = string
  default     = null
}

variable "state_machine_log_level" {
  description = "Step Functions execution log level: ALL, ERROR, FATAL or OFF."
  type        = string
  default     = "ERROR"
}

################################################################################
# Alerts and notifications
################################################################################

variable "notification_email" {
  description = "Email address subscribed to the training notifications and the drift/failure alerts."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.notification_email))
    error_message = "notification_email must be an email address."
  }
}

variable "subscriptions" {
  description = "Further subscriptions of both topics, by key: protocol email, https or sqs, and the endpoint."
  type = map(object({
    protocol = string
    endpoint = string
  }))
  default = {}
}

variable "drift_alerts" {
  description = "Schema-drift alerts: whether to create them, whether harmless changes are notified, and whether breaking drift pauses a scheduled workflow."
  type = object({
    enabled           = optional(bool, true)
    notify_info       = optional(bool, false)
    pause_on_breaking = optional(bool, false)
  })
  default = {}
}

variable "log_retention_days" {
  description = "Retention of the pipeline's log groups, in days."
  type        = number
  default     = 365
}

################################################################################
# Encryption
################################################################################

variable "create_kms_key" {
  description = "Whether to create the project KMS key. When false, kms_key_arn must name a key whose policy grants what this module's key policy grants."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "ARN of an existing customer-managed key to use instead of creating one."
  type        = string
  default     = null
}

variable "kms_key_deletion_window_days" {
  description = "Waiting period before the created key is deleted, in days (7-30)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_key_deletion_window_days >= 7 && var.kms_key_deletion_window_days <= 30
    error_message = "kms_key_deletion_window_days must be between 7 and 30."
  }
}

variable "kms_key_administrators" {
  description = "IAM principal ARNs allowed to administer the created key, beside the account itself: the key policy always keeps the account root as an administrator, so IAM policies in the account (the deploying principal's included) can still manage the key and CreateKey passes its lockout safety check."
  type        = list(string)
  default     = []
}

variable "training_monitoring" {
  description = "The training pipeline's CloudWatch dashboard and optional alarms (on a failed run, a quality-gate rejection, no successful run within alarm_when_no_success_in_days, 1-7), sent to the training notification topic: the training-pipeline module's monitoring input (type and defaults). See docs/training.md."
  # Passed to training-pipeline unchanged: the object type is declared there, once.
  type    = any
  default = {}
}
