variable "environment" {
  description = "Name of the environment (dev or prod)."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "account_id" {
  description = "AWS account this environment is deployed to; the provider refuses any other."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be a 12-digit AWS account id."
  }
}

variable "region" {
  description = "AWS region of the pipeline."
  type        = string
}

variable "default_tags" {
  description = "Tags the provider adds to every resource."
  type        = map(string)
  default     = {}
}

variable "name" {
  description = "Name of the pipeline and prefix of every resource."
  type        = string
}

variable "notification_email" {
  description = "Email address that receives training notifications and alerts."
  type        = string
}

variable "connections" {
  description = "Glue connections by key (see modules/dataset-export)."
  type = map(object({
    type               = string
    url                = optional(string)
    secret_arn         = optional(string)
    subnet_id          = string
    security_group_ids = list(string)
    availability_zone  = string
    enforce_ssl        = optional(bool, true)
    description        = optional(string)
  }))
  default = {}
}

variable "sources" {
  description = "Crawled sources by key (see modules/dataset-export)."
  type = map(object({
    type             = string
    path             = string
    connection       = optional(string)
    schedule         = optional(string)
    table_prefix     = optional(string, "")
    exclusions       = optional(list(string), [])
    update_behavior  = optional(string, "UPDATE_IN_DATABASE")
    delete_behavior  = optional(string, "DEPRECATE_IN_DATABASE")
    recrawl_behavior = optional(string, "CRAWL_EVERYTHING")
    scan_all         = optional(bool, true)
  }))
}

variable "catalog_database_name" {
  description = "Glue Data Catalog database of the sources; must match the databases named in the export spec."
  type        = string
}

variable "workflow_schedule" {
  description = "cron() schedule of the export workflow; null starts it on demand only."
  type        = string
  default     = null
}

variable "jobs" {
  description = "Glue job settings (see modules/dataset-export)."
  type = object({
    worker_type       = optional(string, "G.1X")
    number_of_workers = optional(number, 2)
    execution_class   = optional(string, "STANDARD")
    timeout_minutes   = optional(number, 120)
    max_retries       = optional(number, 0)
    keep_exports      = optional(number, 5)
  })
  default = {}
}

variable "campaign_min_provisioned_tps" {
  description = "minProvisionedTPS of the homepage campaign."
  type        = number
  default     = 1
}

variable "quality_gate_thresholds" {
  description = "Minimum offline metrics a new solution version needs before the campaign serves it."
  type        = map(number)
  default     = {}
}

variable "pause_on_breaking_drift" {
  description = "Whether breaking schema drift pauses the scheduled workflow."
  type        = bool
  default     = false
}
