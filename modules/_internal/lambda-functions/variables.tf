variable "create" {
  description = "Whether to create any resource of this module."
  type        = bool
  default     = true
}

variable "functions" {
  description = "The functions by key: name (also of the role and log group), descriptions, handler, timeout, memory_size, environment and policy_json, a policy document with what the function's code calls (the module adds logs, dead-letter queue, key and tracing)."
  type = map(object({
    name             = string
    description      = string
    role_description = string
    handler          = string
    timeout          = number
    memory_size      = number
    environment      = map(string)
    policy_json      = string
  }))
}

variable "package" {
  description = "The deployment package every function runs: where the zip is written and its files (name in the zip => path of the source file)."
  type = object({
    output_path = string
    files       = map(string)
  })
}

variable "lambda" {
  description = "runtime, architecture and reserved_concurrent_executions of every function (the caller validates them)."
  type = object({
    runtime                        = string
    architecture                   = string
    reserved_concurrent_executions = number
  })
}

variable "dead_letter_queue_name" {
  description = "Name of the queue that keeps the events the functions could not process."
  type        = string
}

variable "policy_name" {
  description = "Name of each role's inline policy."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the environment variables, the log groups and the dead-letter queue."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the functions' log groups."
  type        = number
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
