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
  description = "ARN of the customer-managed KMS key that encrypts the buckets, the Glue security configuration and the logs. Its policy must allow CloudWatch Logs and Personalize."
  type        = string

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>); it may only be null when create is false."
  }
}

variable "data_bucket" {
  description = "The bucket that receives the exports. The name defaults to <name>-data-<account id>."
  type = object({
    name                              = optional(string)
    force_destroy                     = optional(bool, false)
    export_retention_days             = optional(number, 90)
    rejected_rows_retention_days      = optional(number, 30)
    noncurrent_version_retention_days = optional(number, 30)
    batch_input_retention_days        = optional(number, 30)
    batch_output_retention_days       = optional(number, 30)
  })
  default = {}

  validation {
    condition     = var.data_bucket.export_retention_days >= 1 && var.data_bucket.rejected_rows_retention_days >= 1 && var.data_bucket.noncurrent_version_retention_days >= 1 && var.data_bucket.batch_input_retention_days >= 1 && var.data_bucket.batch_output_retention_days >= 1
    error_message = "data_bucket retention days must all be at least 1."
  }
}

variable "artifacts_bucket" {
  description = "The bucket that holds the job scripts, the shared package, the export spec and the training params. The name defaults to <name>-artifacts-<account id>."
  type = object({
    name                              = optional(string)
    force_destroy                     = optional(bool, false)
    noncurrent_version_retention_days = optional(number, 90)
  })
  default = {}

  validation {
    condition     = var.artifacts_bucket.noncurrent_version_retention_days >= 1
    error_message = "artifacts_bucket.noncurrent_version_retention_days must be at least 1."
  }
}

variable "export_prefix" {
  description = "Key prefix in the data bucket under which the exports are written (export root = s3://<data bucket>/<export_prefix>)."
  type        = string
  default     = "personalize"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]+(/[a-zA-Z0-9_-]+)*$", var.export_prefix))
    error_message = "export_prefix must be a key prefix without leading or trailing slash (letters, digits, _ and -, separated by /)."
  }
}

variable "allow_personalize_read" {
  description = "Whether the data bucket policy lets Amazon Personalize (personalize.amazonaws.com, limited to this account by aws:SourceAccount/aws:SourceArn) read the exports."
  type        = bool
  default     = true
}

variable "catalog_database_name" {
  description = "Name of the Glue Data Catalog database the crawlers fill. Defaults to the module name with hyphens replaced by underscores."
  type        = string
  default     = null

  validation {
    condition     = var.catalog_database_name == null || can(regex("^[a-z0-9_]{1,255}$", var.catalog_database_name))
    error_message = "catalog_database_name must be lower case letters, digits and underscores (Glue lower-cases catalog names)."
  }
}

variable "connections" {
  description = "Glue connections by key. type is JDBC, MONGODB (MongoDB or DocumentDB) or NETWORK. Credentials are read from Secrets Manager (secret_arn, passed to Glue as SECRET_ID); url is the JDBC URL or the mongodb:// URL."
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

  validation {
    condition     = alltrue([for c in values(var.connections) : contains(["JDBC", "MONGODB", "NETWORK"], c.type)])
    error_message = "Each connection type must be one of JDBC, MONGODB or NETWORK."
  }

  validation {
    condition     = alltrue([for c in values(var.connections) : c.type == "NETWORK" || (c.url != null && c.secret_arn != null)])
    error_message = "JDBC and MONGODB connections need url and secret_arn (credentials come from Secrets Manager, never a plain password)."
  }

  validation {
    condition     = alltrue([for c in values(var.connections) : c.secret_arn == null || can(regex("^arn:[a-z-]+:secretsmanager:", c.secret_arn))])
    error_message = "Each connection secret_arn must be a Secrets Manager secret ARN."
  }

  validation {
    condition     = alltrue([for k in keys(var.connections) : can(regex("^[a-z][a-z0-9_-]{0,62}$", k))])
    error_message = "Connection keys must be 1-63 lower case letters, digits, _ or -, starting with a letter."
  }
}

variable "sources" {
  description = "One crawler per source, by key. type is jdbc (path like 'shop/public/%'), mongodb (path 'database/collection', MongoDB or DocumentDB) or s3 (path 's3://bucket/prefix/'). connection names a key of var.connections (required for jdbc and mongodb). schedule is a cron() expression; null runs the crawler on demand."
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

  validation {
    condition     = length(var.sources) > 0
    error_message = "At least one source is needed."
  }

  validation {
    condition     = alltrue([for s in values(var.sources) : contains(["jdbc", "mongodb", "s3"], s.type)])
    error_message = "Each source type must be one of jdbc, mongodb or s3."
  }

  validation {
    condition     = alltrue([for s in values(var.sources) : s.type == "s3" || s.connection != null])
    error_message = "jdbc and mongodb sources need a connection (a key of var.connections)."
  }

  validation {
    condition     = alltrue([for s in values(var.sources) : s.type != "s3" || can(regex("^s3://[a-z0-9][a-z0-9.-]+[a-z0-9](/.*)?$", s.path))])
    error_message = "s3 source paths must look like s3://bucket/prefix/."
  }

  validation {
    condition     = alltrue([for s in values(var.sources) : contains(["LOG", "UPDATE_IN_DATABASE"], s.update_behavior)])
    error_message = "update_behavior must be LOG or UPDATE_IN_DATABASE."
  }

  validation {
    condition     = alltrue([for s in values(var.sources) : contains(["LOG", "DELETE_FROM_DATABASE", "DEPRECATE_IN_DATABASE"], s.delete_behavior)])
    error_message = "delete_behavior must be LOG, DELETE_FROM_DATABASE or DEPRECATE_IN_DATABASE."
  }

  validation {
    condition     = alltrue([for s in values(var.sources) : contains(["CRAWL_EVERYTHING", "CRAWL_NEW_FOLDERS_ONLY"], s.recrawl_behavior)])
    error_message = "recrawl_behavior must be CRAWL_EVERYTHING or CRAWL_NEW_FOLDERS_ONLY."
  }

  validation {
    condition     = alltrue([for s in values(var.sources) : s.recrawl_behavior == "CRAWL_EVERYTHING" || (s.type == "s3" && s.update_behavior == "LOG" && s.delete_behavior == "LOG")])
    error_message = "CRAWL_NEW_FOLDERS_ONLY is only for s3 sources, with update_behavior and delete_behavior both LOG (a Glue rule)."
  }

  validation {
    condition     = alltrue([for s in values(var.sources) : s.schedule == null || can(regex("^cron\\(.+\\)$", s.schedule))])
    error_message = "A source schedule must be a cron(...) expression."
  }

  validation {
    condition     = alltrue([for k in keys(var.sources) : can(regex("^[a-z][a-z0-9_-]{0,62}$", k))])
    error_message = "Source keys must be 1-63 lower case letters, digits, _ or -, starting with a letter."
  }
}

variable "export_spec_path" {
  description = "Path of the export spec (YAML or JSON). It is uploaded as JSON where the jobs and the schema-drift Lambda read it."
  type        = string
}

variable "params_template_json" {
  description = "The training params template, as a JSON document. start_training adds the export section and writes it to the params object."
  type        = string

  validation {
    condition     = can(jsondecode(var.params_template_json))
    error_message = "params_template_json must be valid JSON."
  }
}

variable "params_key" {
  description = "Key of the params object in the artifacts bucket. Each new version of it starts a training run."
  type        = string
  default     = "params/params.json"
}

variable "workflow_start" {
  description = "How the workflow starts: type ON_DEMAND, or SCHEDULED with a cron() schedule."
  type = object({
    type     = optional(string, "ON_DEMAND")
    schedule = optional(string)
  })
  default = {}

  validation {
    condition     = contains(["ON_DEMAND", "SCHEDULED"], var.workflow_start.type)
    error_message = "workflow_start.type must be ON_DEMAND or SCHEDULED."
  }

  validation {
    condition     = var.workflow_start.type == "ON_DEMAND" || can(regex("^cron\\(.+\\)$", coalesce(var.workflow_start.schedule, "-")))
    error_message = "A SCHEDULED workflow_start needs a cron(...) schedule."
  }
}

variable "jobs" {
  description = "Settings of the Glue jobs. The Spark settings apply to the three export jobs; the python_shell settings to prepare and start_training. export_connections lists keys of var.connections the export jobs attach (null = all)."
  type = object({
    glue_version                 = optional(string, "5.0")
    worker_type                  = optional(string, "G.1X")
    number_of_workers            = optional(number, 2)
    enable_auto_scaling          = optional(bool, true)
    execution_class              = optional(string, "STANDARD")
    timeout_minutes              = optional(number, 120)
    max_retries                  = optional(number, 0)
    python_shell_max_capacity    = optional(number, 0.0625)
    python_shell_timeout_minutes = optional(number, 30)
    keep_exports                 = optional(number, 5)
    export_connections           = optional(list(string))
    extra_arguments              = optional(map(string), {})
  })
  default = {}

  validation {
    condition     = contains(["G.1X", "G.2X", "G.4X", "G.8X", "G.12X", "G.16X", "R.1X", "R.2X", "R.4X", "R.8X"], var.jobs.worker_type)
    error_message = "jobs.worker_type must be one of G.1X, G.2X, G.4X, G.8X, G.12X, G.16X, R.1X, R.2X, R.4X or R.8X."
  }

  validation {
    condition     = contains(["STANDARD", "FLEX"], var.jobs.execution_class)
    error_message = "jobs.execution_class must be STANDARD or FLEX."
  }

  validation {
    condition     = contains([0.0625, 1], var.jobs.python_shell_max_capacity)
    error_message = "jobs.python_shell_max_capacity must be 0.0625 or 1 (the DPU sizes of Python-shell jobs)."
  }

  validation {
    condition     = var.jobs.number_of_workers >= 2 && var.jobs.timeout_minutes >= 1 && var.jobs.python_shell_timeout_minutes >= 1 && var.jobs.max_retries >= 0 && var.jobs.max_retries <= 10
    error_message = "jobs needs number_of_workers >= 2, timeouts >= 1 minute and max_retries between 0 and 10."
  }

  validation {
    condition     = var.jobs.keep_exports >= 1
    error_message = "jobs.keep_exports must be at least 1 (the latest export is always kept)."
  }
}
