# State lives in a versioned, encrypted bucket of this account, created once
# before the first `make plan` (see docs/terraform.md). use_lockfile keeps a
# lock object next to the state so two applies cannot run at once.
terraform {
  backend "s3" {
    bucket       = "acme-terraform-state-prod"
    key          = "personalize-pipeline/prod/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    use_lockfile = true
  }
}
