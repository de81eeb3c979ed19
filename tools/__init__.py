"""Developer tools, not deployed: the generators `make generate` runs, the offline
Terraform model and checks the tests in tests/terraform run, and the Makefile's
Terraform entry (terraform_cli.py)."""
