# One root for every environment: <env>.tfvars sets these. Inputs this root passes
# to modules/personalize-pipeline unchanged are typed `any`: their object types are
# declared once, by that module.

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
  description = "Glue connections by key: the personalize-pipeline module's connections input."
  type        = any
  default     = {}
}

variable "sources" {
  description = "Crawled sources by key: the personalize-pipeline module's sources input."
  type        = any
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
  description = "Glue job settings: the personalize-pipeline module's jobs input."
  type        = any
  default     = {}
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
