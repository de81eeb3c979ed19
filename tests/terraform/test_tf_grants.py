"""What each role may do, read from the modules' IAM policy documents: every
action names a real AWS permission, and each job, Lambda and service role holds
exactly the grants its code calls for, scoped to ARNs."""
from __future__ import annotations

import re
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


# A source document named outright: data.aws_iam_policy_document.<name>[0 or "key"].json
# (the connections' documents, chosen by a for expression, are read on their own).
_SOURCE_DOCUMENT = re.compile(r'data\.aws_iam_policy_document\.([\w-]+)\[(?:0|"[\w-]+")\]\.json')


def statements(module: tfmodel.Module, document: str) -> dict[str, dict]:
    """{sid: statement} of one aws_iam_policy_document, static and dynamic statements alike,
    with those of the documents it names in source_policy_documents (the shared statements)."""
    block = module.resources("data")[("aws_iam_policy_document", document)]
    out = {}
    for source in _SOURCE_DOCUMENT.findall(str(block.body.get("source_policy_documents", ""))):
        for sid, statement in statements(module, source).items():
            assert sid not in out, f"{block.where}: two source statements with sid {sid!r}"
            out[sid] = statement
    own = set()
    for statement, _ in tfchecks._statements(block.body):
        sid = unquote(statement.get("sid", '""'))
        assert sid not in own, f"{block.where}: two statements with sid {sid!r}"
        own.add(sid)
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


def test_every_job_gets_the_package_and_exports_run_without_bookmarks(complete_stack):
    # The two packages the jobs import: the export code and the spec.
    package = {f"{name}/{p.relative_to(REPO_ROOT / 'glue' / name).as_posix()}": p.read_text(encoding="utf-8")
               for name in ("personalize_export", "export_spec")
               for p in (REPO_ROOT / "glue" / name).rglob("*.py") if "__pycache__" not in p.parts}
    archives = {a["output_path"]: complete_stack.archive_files(a) for a in complete_stack.data_instances("archive_file")}
    uploaded = {}
    for upload in complete_stack.instances("aws_s3_object"):
        if upload["key"].startswith("packages/"):
            uploaded[f"s3://{upload['bucket']}/{upload['key']}"] = archives[upload["source"]]
    assert len(uploaded) == 2
    for job in complete_stack.instances("aws_glue_job"):
        arguments = job["default_arguments"]
        archive = uploaded[arguments["--extra-py-files"]]
        # Every .py file of the packages the jobs import, as it is in the repository.
        assert {name: archive[name] for name in package} == package, job["name"]
        kind = complete_stack.block_attribute(job, "command", "name")
        if kind == "glueetl":
            assert arguments["--extra-py-files"].endswith(".zip") and arguments["--job-bookmark-option"] == "job-bookmark-disable"
        else:  # Python-shell jobs on Python 3.9 install only wheels
            assert kind == "pythonshell" and arguments["--extra-py-files"].endswith("-py3-none-any.whl"), job["name"]
            assert any(name.endswith(".dist-info/WHEEL") for name in archive)


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
    """prepare_run() / prepare_export() publish the run id and mode (get + put); current_run_id()
    and current_plan() only read them."""
    document_of = {"prepare": "prepare", "start_training": "start_training"}
    calls = _entry_calls()
    assert set(calls) == set(export_module.locals["job_scripts"])
    for job, names in calls.items():
        grants = granted(export_module, document_of.get(job, "export"))
        puts = bool({"prepare_run", "prepare_export"} & set(names))
        reads = puts or bool({"current_run_id", "current_plan"} & set(names))
        assert ("glue:PutWorkflowRunProperties" in grants) == puts, f"{job}: PutWorkflowRunProperties granted={not puts}, code puts={puts}"
        assert ("glue:GetWorkflowRunProperties" in grants) == reads, f"{job}: GetWorkflowRunProperties does not follow the code"


def test_prepare_publishes_the_run_id_and_reads_only_its_code_the_spec_and_the_last_export(export_module):
    """prepare chooses FULL or INCREMENTAL from the spec and the last export's pointer and
    manifest: it reads them, lists only the exports prefix, and writes nothing in S3."""
    grants = granted(export_module, "prepare")
    assert grants["glue:GetWorkflowRunProperties"] == grants["glue:PutWorkflowRunProperties"] == {"${local.workflow_arn}"}
    # The shell jobs' shared document, one per job, reads that job's script.
    assert export_module.resources("data")[("aws_iam_policy_document", "shell_job")].body["for_each"] == \
        "${local.create ? local.python_shell_jobs : {}}"
    assert grants["s3:GetObject"] == {"${local.job_script_arns[each.key]}", "${local.package_wheel_arn}", "${local.spec_object_arn}",
                                      "${local.exports_objects_arn}", "${local.artifacts_bucket_arn}/tmp/*"}
    listing = statements(export_module, "prepare")["ListExports"]
    assert resources_of(listing) == ["${local.data_bucket_arn}"]
    assert conditions_of(listing) == [("StringLike", "s3:prefix", ("${local.exports_prefix}*",))]
    assert not any(a.startswith(("glue:GetTable", "secretsmanager:")) for a in grants)
    assert not any(r.startswith("${local.data_bucket_arn}") or r.startswith("${local.exports_objects_arn}")
                   for a, rs in grants.items() if a in ("s3:PutObject", "s3:DeleteObject") for r in rs)


def test_start_training_maintains_exports_and_writes_params(export_module):
    assert plain(export_module.locals["exports_prefix"]) == "${var.export_prefix}/exports/"
    assert plain(export_module.locals["exports_objects_arn"]) == "${local.data_bucket_arn}/${local.exports_prefix}*"
    found = statements(export_module, "start_training")
    grants = granted(export_module, "start_training")
    assert grants["glue:GetWorkflowRunProperties"] == {"${local.workflow_arn}"}

    listings = [found["ListExports"], found["ListRejectedRows"]]
    for listing in listings:
        assert actions_of(listing) == {"s3:ListBucket"} and resources_of(listing) == ["${local.data_bucket_arn}"]
    assert [conditions_of(listing) for listing in listings] == [[("StringLike", "s3:prefix", ("${local.exports_prefix}*",))],
                                                                [("StringLike", "s3:prefix", ("${local.rejected_prefix}*",))]]
    assert all("${local.exports_objects_arn}" in grants[a] for a in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"))
    # Retention removes old runs' rejected rows, and may do nothing else there.
    assert plain(export_module.locals["rejected_objects_arn"]) == "${local.data_bucket_arn}/${local.rejected_prefix}*"
    assert actions_of(found["RemoveOldRejectedRows"]) == {"s3:DeleteObject"}
    assert resources_of(found["RemoveOldRejectedRows"]) == ["${local.rejected_objects_arn}"]
    assert not any("${local.rejected_objects_arn}" in grants[a] for a in ("s3:GetObject", "s3:PutObject"))

    assert actions_of(found["ReadSpec"]) == actions_of(found["ReadParamsTemplate"]) == {"s3:GetObject"}
    assert resources_of(found["ReadSpec"]) == ["${local.spec_object_arn}"]
    assert resources_of(found["ReadParamsTemplate"]) == ["${local.params_template_object_arn}"]
    assert actions_of(found["WriteParams"]) == {"s3:PutObject"} and resources_of(found["WriteParams"]) == ["${local.params_object_arn}"]
    assert plain(export_module.locals["params_object_arn"]) == "${local.artifacts_bucket_arn}/${var.params_key}"
    assert plain(export_module.locals["params_template_object_arn"]) == "${local.artifacts_bucket_arn}/${local.params_template_key}"
    # What start_training shares with prepare is written once, in the shell jobs' document.
    for document in ("prepare", "start_training"):
        body = export_module.resources("data")[("aws_iam_policy_document", document)].body
        assert body["source_policy_documents"] == [f'${{data.aws_iam_policy_document.shell_job["{document}"].json}}']
    for document, source in (("shell_job", "job_base"), ("job_base", "glue_base")):
        body = export_module.resources("data")[("aws_iam_policy_document", document)].body
        assert body["source_policy_documents"] == [f"${{data.aws_iam_policy_document.{source}[0].json}}"]
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


def terraform_job_tables(spec_path: Path) -> dict[str, set[tuple[str, str]]]:
    """local.export_job_tables of the dataset-export module, evaluated (tools.tfeval) for one spec file."""
    from tools import tfeval

    module = tfeval.Scope(MODULES / "dataset-export", {"export_spec_path": str(spec_path)}, tfeval.Environment())
    tables = tfeval._plain(module.local("export_job_tables"))
    return {job: {(t["database"], t["table"]) for t in entries} for job, entries in tables.items() if entries}


SPECS = sorted([*(REPO_ROOT / "envs").glob("*.export_spec.yaml"), *(MODULES / "personalize-pipeline" / "examples").glob("*/export_spec.yaml")])


@pytest.mark.parametrize("spec_path", SPECS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_terraform_grants_each_export_job_the_tables_the_export_code_reads(export_module, spec_path):
    from export_spec import load_spec

    assert export_module.locals["export_spec"] == "${yamldecode(file(var.export_spec_path))}"
    expected: dict[str, set[tuple[str, str]]] = {}
    for table, jobs in load_spec(spec_path).source_columns().items():
        for job in jobs:
            expected.setdefault(job, set()).add(table)
    assert terraform_job_tables(spec_path) == expected


def test_spec_table_rule_follows_item_reconciliation(tmp_path):
    """Without an interactions dataset the items source is not read by the interactions job."""
    spec = tmp_path / "spec.yaml"
    spec.write_text("sources:\n  o: {catalog: {database: d, table: orders}}\n  p: {catalog: {database: d, table: products}}\n"
                    "  c: {path: local.csv}\n"
                    "datasets:\n  items: {source: p}\n  users: {source: c}\n")
    assert terraform_job_tables(spec) == {"export_items": {("d", "products")}}
    spec.write_text(spec.read_text() + "  interactions: {source: o}\n")
    assert terraform_job_tables(spec) == {
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
# Training side: read from the complete example rendered for concrete values
################################################################################

EXAMPLE = "retail-recs"  # the complete example's name
ACCOUNT, REGION = "111122223333", "eu-west-1"


def _registry() -> dict:
    import json

    return json.loads(tfchecks.registry_path_of(tfmodel.load_module(MODULES / "training-pipeline")).read_text(encoding="utf-8"))["functions"]


def _function_name(key: str) -> str:
    return f"{EXAMPLE}-{key.replace('_', '-')}"


def test_state_machine_invokes_only_the_registry_functions_and_notifies(complete_stack):
    found = complete_stack.statements(f"{EXAMPLE}-training-state-machine")
    functions = [complete_stack.one("aws_lambda_function", function_name=_function_name(key)) for key in _registry()]
    assert set(found["InvokeSteps"]["Action"]) == {"lambda:InvokeFunction"}
    # Each registry function, and its versions and aliases; nothing else.
    assert set(found["InvokeSteps"]["Resource"]) == {arn for fn in functions for arn in (fn["arn"], f"{fn['arn']}:*")}
    topic = complete_stack.one("aws_sns_topic", name=f"{EXAMPLE}-training")
    assert set(found["Notify"]["Action"]) == {"sns:Publish"} and found["Notify"]["Resource"] == [topic["arn"]]
    assert {"kms:Decrypt", "kms:GenerateDataKey"} <= set(found["EncryptedTopic"]["Action"])
    assert found["EncryptedTopic"]["Resource"] == [topic["kms_master_key_id"]]


def test_start_rule_passes_the_whole_event_for_the_exact_params_key(training_module, complete_stack):
    import json

    target = complete_stack.one("aws_cloudwatch_event_target", target_id="training-state-machine")
    for setting in ("input", "input_path"):
        assert setting not in target, f"the start target sets {setting}: the state machine reads the whole event"
    assert not complete_stack.has_block(target, "input_transformer"), "the state machine reads the whole event"
    machine = complete_stack.one("aws_sfn_state_machine", name=f"{EXAMPLE}-training")
    assert target["arn"] == machine["arn"]
    rule = complete_stack.one("aws_cloudwatch_event_rule", name=target["rule"])
    pattern = json.loads(rule["event_pattern"])
    # The exact key (no prefix or wildcard match) of the params object the export writes.
    assert pattern["detail"]["object"] == {"key": ["params/params.json"]}
    role = complete_stack.one("aws_iam_role", arn=target["role_arn"])
    assert complete_stack.grants(role["name"]) == {"states:StartExecution": {machine["arn"]}}


def test_lambda_capabilities_cover_what_the_registry_functions_call(complete_stack):
    registry = _registry()
    # read_params reads <SSM_PARAMETER_PREFIX>/<name>/durations; finalize writes it.
    assert "write_event_tracker_parameter" in registry["read_params"]["permissions"]
    assert {"personalize:ListDatasetImportJobs", "personalize:ListSolutionVersions"} <= set(registry["check_resources"]["personalize_actions"])
    for key, entry in registry.items():
        function = complete_stack.one("aws_lambda_function", function_name=_function_name(key))
        role = complete_stack.one("aws_iam_role", arn=function["role"])
        grants = complete_stack.grants(role["name"])
        environment = complete_stack.block_attribute(function, "environment", "variables")
        prefix = environment["SSM_PARAMETER_PREFIX"]
        assert prefix == f"/personalize-pipeline/{EXAMPLE}"
        parameters = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{prefix}/*"
        writes_parameter = "write_event_tracker_parameter" in entry["permissions"]
        assert (grants.get("ssm:PutParameter") == grants.get("ssm:GetParameter") == {parameters}) is writes_parameter, key
        # The registry's Personalize actions: those with a resource type scoped to this
        # account's Personalize ARNs, the others (no resource type) on "*" (tests/iam proves the split).
        personalize = {a: r for a, r in grants.items() if a.startswith("personalize:")}
        assert set(personalize) == set(entry["personalize_actions"]), key
        for action, resources in personalize.items():
            assert resources in ({f"arn:aws:personalize:{REGION}:{ACCOUNT}:*"}, {"*"}), (key, action, resources)
        # The standard statements every function holds: its own log group, the queue, the key, tracing.
        assert grants["logs:PutLogEvents"] == {f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{function['function_name']}:*"}
        assert grants["sqs:SendMessage"] == {f"arn:aws:sqs:{REGION}:{ACCOUNT}:{EXAMPLE}-training-dlq"}
        assert grants["xray:PutTraceSegments"] == {"*"}


def _bucket_of(complete_stack, prefix: str) -> str:
    [bucket] = [b["bucket"] for b in complete_stack.instances("aws_s3_bucket") if b["bucket"].startswith(prefix)]
    return f"arn:aws:s3:::{bucket}"


def test_read_exports_lists_only_the_exports_prefix(complete_stack):
    data_bucket = _bucket_of(complete_stack, f"{EXAMPLE}-data-")
    readers = [key for key, entry in _registry().items() if "read_exports" in entry["permissions"]]
    assert readers
    for key in readers:
        function = complete_stack.one("aws_lambda_function", function_name=_function_name(key))
        statements = complete_stack.statements(complete_stack.one("aws_iam_role", arn=function["role"])["name"])
        assert statements["ReadExports"]["Action"] == ["s3:GetObject"]
        assert statements["ReadExports"]["Resource"] == [f"{data_bucket}/personalize/exports/*"]
        assert statements["ReadExports1"]["Action"] == ["s3:ListBucket"] and statements["ReadExports1"]["Resource"] == [data_bucket]
        assert statements["ReadExports1"]["Condition"] == {"StringLike": {"s3:prefix": ["personalize/exports/*"]}}


def test_personalize_role_reads_the_exports_prefix_only(complete_stack):
    data_bucket = _bucket_of(complete_stack, f"{EXAMPLE}-data-")
    found = complete_stack.statements(f"{EXAMPLE}-personalize")
    # The read_exports capability's statements, as the functions that read the exports hold them.
    assert found["ReadExports1"]["Action"] == ["s3:ListBucket"] and found["ReadExports1"]["Resource"] == [data_bucket]
    assert found["ReadExports1"]["Condition"] == {"StringLike": {"s3:prefix": ["personalize/exports/*"]}}
    assert found["ReadExports"]["Action"] == ["s3:GetObject"]
    assert found["ReadExports"]["Resource"] == [f"{data_bucket}/personalize/exports/*"]
    # The project key, which encrypts the buckets the exports are in, and the dataset group's key.
    [project_key] = [k["arn"] for k in complete_stack.instances("aws_kms_key")]
    encryption = complete_stack.instances("aws_s3_bucket_server_side_encryption_configuration")
    assert encryption and {complete_stack.nested(sse, "rule", "apply_server_side_encryption_by_default", "kms_master_key_id")
                           for sse in encryption} == {project_key}
    assert "kms:Decrypt" in found["UseKeys"]["Action"]
    assert set(found["UseKeys"]["Resource"]) == {project_key, "arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"}
