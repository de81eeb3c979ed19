# State lives in a versioned, encrypted bucket of each environment's account,
# created once before the first `make plan` (see docs/terraform.md). The bucket,
# key and region come from <env>.s3.tfbackend (`terraform init -backend-config`).
# use_lockfile keeps a lock object next to the state so two applies cannot run at once.
terraform {
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}
