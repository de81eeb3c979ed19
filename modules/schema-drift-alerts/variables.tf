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
  description = "ARN of the customer-managed KMS key for the topic, the table, the queue and the logs. Its policy must let EventBridge (events.amazonaws.com) use it, or failure events cannot reach the encrypted topic."
  type        = string

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>); it may only be null when create is false."
  }
}

variable "database_name" {
  description = "Glue Data Catalog database whose table and database changes are checked for drift."
  type        = string
}

variable "export_spec" {
  description = "Where the export spec (JSON) is: its S3 URI (EXPORT_SPEC_URI) and its object ARN (for s3:GetObject)."
  type = object({
    uri        = string
    object_arn = string
  })

  validation {
    condition     = var.export_spec.uri == null || (can(regex("^s3://[^/]+/.+$", var.export_spec.uri)) && can(regex("^arn:[a-z-]+:s3:::[^/]+/.+$", var.export_spec.object_arn)))
    error_message = "export_spec.uri must be s3://bucket/key and export_spec.object_arn an S3 object ARN."
  }
}

variable "job_names" {
  description = "Glue job names whose failures (FAILED, TIMEOUT, STOPPED) are reported."
  type        = list(string)
  default     = []
}

variable "crawler_names" {
  description = "Crawler names whose failures are reported."
  type        = list(string)
  default     = []
}

variable "schedule_trigger" {
  description = "The workflow's scheduled start trigger (name and ARN); null when the workflow starts on demand. Needed to pause the schedule on breaking drift."
  type = object({
    name = string
    arn  = string
  })
  default = null
}

variable "pause_on_breaking" {
  description = "Whether breaking drift stops the workflow's scheduled start trigger (needs schedule_trigger)."
  type        = bool
  default     = false
}

variable "notify_info" {
  description = "Whether harmless changes (e.g. a new unused column) are also notified."
  type        = bool
  default     = false
}

variable "lambda" {
  description = "Settings of the drift Lambda."
  type = object({
    runtime                        = optional(string, "python3.12")
    architecture                   = optional(string, "arm64")
    timeout                        = optional(number, 60)
    memory_size                    = optional(number, 256)
    reserved_concurrent_executions = optional(number, 2)
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
}

variable "log_retention_days" {
  description = "Retention of the Lambda log group, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "subscriptions" {
  description = "Subscriptions of the alert topic, by key: protocol email, https or sqs, and the endpoint (address, URL or queue ARN)."
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
