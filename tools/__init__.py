"""Developer tools, not deployed: the generators `make generate` runs, the offline
Terraform model, evaluator (tfeval.py, also the IAM proof's) and checks the tests in
tests/terraform run, and the Makefile's Terraform entry (terraform_cli.py)."""
