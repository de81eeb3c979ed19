# Everything the project needs is installed into the repository (.venv, .venv39,
# .tools, node_modules) from pinned lock files, so `make demo` and `make test`
# work from a fresh clone.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON   ?= $(shell command -v python3.11 || command -v python3)
# Glue Python-shell jobs run Python 3.9: their code is also tested under it.
PYTHON39 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.9*/bin/python3.9 /usr/bin/python3.9 /usr/local/bin/python3.9))
VENV     := .venv
VENV39   := .venv39
CHECKOV  := .tools/checkov
PY       := $(VENV)/bin/python
ENV      ?= dev
OUT      ?= out

export PYTHONPATH := $(CURDIR)/glue:$(CURDIR)/lambda_src:$(CURDIR)/step_functions:$(CURDIR)
export PYSPARK_PYTHON := $(CURDIR)/$(PY)
export PYSPARK_DRIVER_PYTHON := $(CURDIR)/$(PY)

.PHONY: help deps system-deps lint generate generate-iam-docs test test-py39 teardown demo bench-export bench-pipeline fmt fmt-check plan apply version clean

help: ## list the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $@

$(VENV39)/.installed: requirements-py39.lock
	@test -x "$(PYTHON39)" || { echo "Python 3.9 (the Glue Python-shell runtime) was not found: install it (e.g. 'pyenv install 3.9') or pass PYTHON39=/path/to/python3.9" >&2; exit 1; }
	$(PYTHON39) -m venv $(VENV39)
	$(VENV39)/bin/pip install --quiet --disable-pip-version-check -r requirements-py39.lock
	touch $@

$(CHECKOV)/.installed: requirements-checkov.lock
	# checkov pins an older boto3, so it lives in a venv of its own.
	$(PYTHON) -m venv $(CHECKOV)
	$(CHECKOV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.lock
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

deps: $(VENV)/.installed $(VENV39)/.installed $(CHECKOV)/.installed node_modules/.installed system-deps ## install every pinned dependency into the repo

system-deps: ## Java 17, PostgreSQL, its JDBC driver and Chromium (Debian packages; as root)
	@./.ci/system-deps.sh

lint: $(VENV)/.installed ## ruff (pinned in requirements.lock; rules in pyproject.toml)
	$(VENV)/bin/ruff check .

# The generators live in tools/; a test fails when any file they write is stale.
generate: $(VENV)/.installed ## rewrite the generated files: ASL template, module README tables, drift docs' rules and sample alert, env export specs
	$(PY) -m tools.asl_source
	$(PY) -m tools.readme_tables
	$(PY) -m tools.sample_alert --write
	$(PY) -m tools.env_specs

generate-iam-docs: $(VENV)/.installed ## rewrite docs/terraform.md's table of IAM calls (runs the recording suites: minutes)
	$(PY) -m tools.iam_docs_table

test: deps ## lint, then run every test and offline check
	$(MAKE) --no-print-directory lint
	$(VENV)/bin/python -m pytest
	$(MAKE) --no-print-directory test-py39

test-py39: $(VENV39)/.installed ## the Python-shell job tests under Python 3.9
	$(VENV39)/bin/python -m pytest -p no:cacheprovider -o addopts="" tests/shell_jobs

teardown: $(VENV)/.installed ## delete every Personalize resource a pipeline created: make teardown NAME=<params name> (asks to confirm)
	@test -n "$(NAME)" || (echo "usage: make teardown NAME=<params name>"; exit 2)
	$(PY) -m tools.teardown $(NAME)

demo: $(VENV)/.installed system-deps ## run the pipeline on embedded sample data
	$(PY) -m local_pipeline.demo --out $(OUT)/demo

bench-export: $(VENV)/.installed system-deps ## export benchmark at 1M and 5M rows (options: ARGS="...")
	$(PY) tests/benchmarks/bench_export.py $(ARGS)

bench-pipeline: $(VENV)/.installed ## state-machine cost and noise figures
	$(PY) tests/benchmarks/bench_polling.py

# fmt, fmt-check, plan and apply go through tools/terraform_cli.py (python-terraform).
fmt: $(VENV)/.installed ## format the Terraform code (bundled Terraform 1.0.3)
	$(PY) -m tools.terraform_cli fmt

fmt-check: $(VENV)/.installed ## fail if any Terraform file is unformatted
	$(PY) -m tools.terraform_cli fmt-check

# One root (envs/) for every environment: ENV picks envs/$(ENV).tfvars and envs/$(ENV).s3.tfbackend.
plan: $(VENV)/.installed ## terraform plan of environment $(ENV) (your Terraform >= 1.10 via TERRAFORM_BIN or PATH, AWS credentials, network)
	$(PY) -m tools.terraform_cli plan --dir envs --var-file $(ENV).tfvars --backend-config $(ENV).s3.tfbackend --out $(ENV).tfplan

apply: $(VENV)/.installed ## terraform apply the plan of environment $(ENV) made by `make plan`
	$(PY) -m tools.terraform_cli apply --dir envs --plan $(ENV).tfplan

version: ## print the project version (pyproject.toml)
	@sed -n '/^\[project\]/,/^\[/ s/^version = "\(.*\)"$$/\1/p' pyproject.toml

clean: ## remove generated output (keeps installed dependencies)
	rm -rf $(OUT) spark-warehouse metastore_db derby.log .pytest_cache
