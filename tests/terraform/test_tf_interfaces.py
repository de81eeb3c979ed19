"""The modules keep the interfaces between the parts of the pipeline: the workflow's trigger chain, the
job arguments, the Lambda environments, the drift wiring, the start rule, the
params template the training Lambdas accept and the env export specs."""
from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tools import tfeval, tfmodel
from tools.tfmodel import REPO_ROOT, body_items, unquote

MODULES = REPO_ROOT / "modules"


def literal(value: Any) -> Any:
    """Python value of an hcl2 literal (quoted strings unescaped); expressions stay text."""
    if isinstance(value, str):
        text = unquote(value)
        if text is not value:
            return text.replace('\\"', '"').replace("\\\\", "\\")
        return value
    if isinstance(value, dict):
        return {k: literal(v) for k, v in body_items(value)}
    if isinstance(value, list):
        return [literal(v) for v in value]
    return value


# The examples' provider region is eu-west-1, in the aws partition.
EXAMPLE_PARTITION = "aws"


def example_literal(value: Any) -> Any:
    """literal() of a value of an example, its data.aws_partition reference resolved."""
    return literal(json.loads(json.dumps(value).replace("${data.aws_partition.current.partition}", EXAMPLE_PARTITION)))


@pytest.fixture(scope="module")
def export_module():
    return tfmodel.load_module(MODULES / "dataset-export")


def _resource(module, type_name, name):
    return module.resources("resource")[(type_name, name)].body


def test_workflow_starts_prepare_then_three_exports_then_start_training(export_module):
    locals_ = export_module.locals
    assert set(locals_["export_jobs"]) == {"export_interactions", "export_items", "export_users"}
    assert set(locals_["python_shell_jobs"]) == {"prepare", "start_training"}

    start = _resource(export_module, "aws_glue_trigger", "start")
    assert start["type"] == "${var.workflow_start.type}"
    assert start["actions"][0]["job_name"] == '${aws_glue_job.python_shell["prepare"].name}'

    exports = _resource(export_module, "aws_glue_trigger", "exports")
    assert literal(exports["type"]) == "CONDITIONAL" and exports["start_on_creation"] is True
    [condition] = exports["predicate"][0]["conditions"]
    assert condition["job_name"] == '${aws_glue_job.python_shell["prepare"].name}'
    assert literal(condition["state"]) == "SUCCEEDED" and literal(condition["logical_operator"]) == "EQUALS"
    [dynamic_actions] = exports["dynamic"]
    assert dynamic_actions['"actions"']["for_each"] == "${aws_glue_job.export}"

    training = _resource(export_module, "aws_glue_trigger", "start_training")
    assert literal(training["type"]) == "CONDITIONAL" and training["start_on_creation"] is True
    predicate = training["predicate"][0]
    assert literal(predicate["logical"]) == "AND"
    [dynamic_conditions] = predicate["dynamic"]
    conditions = dynamic_conditions['"conditions"']
    assert conditions["for_each"] == "${aws_glue_job.export}"
    assert literal(conditions["content"][0]["state"]) == "SUCCEEDED"
    assert training["actions"][0]["job_name"] == '${aws_glue_job.python_shell["start_training"].name}'

    for name in ("start", "exports", "start_training"):
        assert _resource(export_module, "aws_glue_trigger", name)["workflow_name"] == "${aws_glue_workflow.this[0].name}"


def test_jobs_get_the_documented_arguments(export_module):
    locals_ = export_module.locals
    common = locals_["common_job_arguments"]
    for argument in ("--spec_uri", "--export_root", "--keep_exports"):
        assert f'"{argument}"' in common, f"{argument} missing from the common job arguments"
    shell_arguments = locals_["python_shell_job_arguments"]
    assert set(shell_arguments["start_training"]) == {'"--params_template_uri"', '"--params_uri"'}
    # prepare ends a chain before the bucket's lifecycle rule expires its base.
    assert shell_arguments["prepare"] == {'"--export_mode"': '"auto"',
                                          '"--export_expiry_days"': "${tostring(var.data_bucket.export_retention_days)}"}

    shell = _resource(export_module, "aws_glue_job", "python_shell")
    command = shell["command"][0]
    assert literal(command["name"]) == "pythonshell" and literal(command["python_version"]) == "3.9"
    assert "local.package_wheel_uri" in shell["default_arguments"]
    assert "local.python_shell_job_arguments[each.key]" in shell["default_arguments"]

    spark = _resource(export_module, "aws_glue_job", "export")
    assert literal(spark["command"][0]["name"]) == "glueetl"
    assert "local.package_zip_uri" in spark["default_arguments"]
    for setting in ("worker_type", "number_of_workers", "execution_class", "timeout", "max_retries"):
        assert "var.jobs." in spark[setting], f"{setting} is not configurable"
    assert "--enable-auto-scaling" in spark["default_arguments"]


def test_scripts_and_package_are_uploaded_with_content_hashes(complete_stack):
    import hashlib

    import yaml

    uploads = {o["key"]: o for o in complete_stack.instances("aws_s3_object")}
    for script in (REPO_ROOT / "glue" / "jobs").glob("*.py"):
        upload = uploads[f"scripts/{script.name}"]
        assert upload["source_hash"] == hashlib.md5(script.read_bytes()).hexdigest(), script.name
    for key in [k for k in uploads if k.startswith("packages/")]:
        archive = complete_stack.one("aws_s3_object", key=key)["source"]
        # The hash of the archive Terraform builds, so a changed source re-uploads it.
        assert "output_md5" in str(uploads[key]["source_hash"]) and archive.endswith((".zip", ".whl")), key
    # The spec as JSON, from the example's own YAML file.
    spec = json.loads(uploads["config/export-spec.json"]["content"])
    example_spec = MODULES / "personalize-pipeline" / "examples" / "complete" / "export_spec.yaml"
    assert spec == yaml.safe_load(example_spec.read_text(encoding="utf-8"))


EXAMPLE = "retail-recs"  # the complete example's name


def test_training_lambdas_get_the_documented_environment(complete_stack):
    registry = json.loads((REPO_ROOT / "lambda_src" / "personalize_pipeline" / "functions.json").read_text(encoding="utf-8"))
    queue = complete_stack.one("aws_sqs_queue", name=f"{EXAMPLE}-training-dlq")
    personalize_role = complete_stack.one("aws_iam_role", name=f"{EXAMPLE}-personalize")
    for key in registry["functions"]:
        function = complete_stack.one("aws_lambda_function", function_name=f"{EXAMPLE}-{key.replace('_', '-')}")
        environment = complete_stack.block_attribute(function, "environment", "variables")
        assert set(environment) == {"PERSONALIZE_ROLE_ARN", "PERSONALIZE_KMS_KEY_ARN", "SSM_PARAMETER_PREFIX", "METRICS_NAMESPACE", "LOG_LEVEL"}, key
        assert environment["PERSONALIZE_ROLE_ARN"] == personalize_role["arn"] and environment["LOG_LEVEL"] == "INFO"
        assert complete_stack.block_attribute(function, "dead_letter_config", "target_arn") == queue["arn"]
        assert complete_stack.block_attribute(function, "tracing_config", "mode") == "Active"
        assert function["reserved_concurrent_executions"] == 10  # the example's training_lambda setting
        # The package's hash, so a changed source redeploys the function.
        assert "output_base64sha256" in str(function["source_code_hash"])


def test_start_rule_matches_new_versions_of_the_params_object(complete_stack):
    rule = complete_stack.one("aws_cloudwatch_event_rule", name=f"{EXAMPLE}-params-created")
    pattern = json.loads(rule["event_pattern"])
    [artifacts] = [b["bucket"] for b in complete_stack.instances("aws_s3_bucket") if b["bucket"].startswith(f"{EXAMPLE}-artifacts-")]
    assert pattern == {"source": ["aws.s3"], "detail-type": ["Object Created"],
                       "detail": {"bucket": {"name": [artifacts]}, "object": {"key": ["params/params.json"]}}}
    assert complete_stack.one("aws_s3_bucket_notification", bucket=artifacts)["eventbridge"] is True


def test_drift_lambda_gets_the_documented_environment_and_events(complete_stack):
    function = complete_stack.one("aws_lambda_function", function_name=f"{EXAMPLE}-schema-drift")
    assert function["handler"] == "schema_drift.handler.handler"
    environment = complete_stack.block_attribute(function, "environment", "variables")
    topic = complete_stack.one("aws_sns_topic", name=f"{EXAMPLE}-alerts")
    table = complete_stack.one("aws_dynamodb_table", name=f"{EXAMPLE}-schema-drift-events")
    assert set(environment) == {"SNS_TOPIC_ARN", "EXPORT_SPEC_URI", "DEDUP_TABLE_NAME", "NOTIFY_INFO", "PAUSE_ON_BREAKING",
                                "SCHEDULE_TRIGGER_NAME", "LOG_LEVEL"}
    assert environment["SNS_TOPIC_ARN"] == topic["arn"] and environment["DEDUP_TABLE_NAME"] == table["name"]
    assert table["hash_key"] == "event_id"
    assert complete_stack.block_attribute(table, "ttl", "attribute_name") == "expires_at"
    assert complete_stack.block_attribute(table, "point_in_time_recovery", "enabled") is True
    rule = complete_stack.one("aws_cloudwatch_event_rule", name=f"{EXAMPLE}-catalog-changes")
    pattern = json.loads(rule["event_pattern"])
    assert set(pattern["detail-type"]) == {"Glue Data Catalog Table State Change", "Glue Data Catalog Database State Change"}
    assert pattern["detail"] == {"databaseName": ["retail_recs"]}
    target = complete_stack.one("aws_cloudwatch_event_target", rule=rule["name"])
    assert target["arn"] == function["arn"]
    module = tfmodel.load_module(MODULES / "schema-drift-alerts")
    # The handler and the spec package only: no export job (Spark) code in the Lambda.
    assert {key.strip('"') for key in module.locals["bundle_roots"]} == {"schema_drift", "export_spec"}
    grants = complete_stack.grants(complete_stack.one("aws_iam_role", arn=function["role"])["name"])
    for action in ("glue:GetTable", "glue:GetTableVersions", "glue:StopTrigger", "sns:Publish", "dynamodb:PutItem", "s3:GetObject"):
        assert action in grants, f"the drift Lambda's policy lacks {action}"
    assert grants["sns:Publish"] == {topic["arn"]} and grants["dynamodb:PutItem"] == {table["arn"]}


def _type_field_names(type_text: str) -> set[str]:
    return set(re.findall(r"(\w+)\s*=\s*(?:optional|string|number|bool|list|map|object)\b", type_text))


def _params_from_training(training: dict, name: str) -> dict:
    """The params template the composition module writes for this training input
    (mirrors local.params_template: dataset_group_kms_key_arn becomes dataset_group.kms_key_arn)."""
    params = {k: v for k, v in training.items() if k != "dataset_group_kms_key_arn"}
    params.setdefault("name", name)
    if "dataset_group_kms_key_arn" in training:
        params["dataset_group"] = {"kms_key_arn": training["dataset_group_kms_key_arn"]}
    return params


def test_params_template_is_accepted_by_the_training_lambdas():
    from personalize_pipeline.params import parse_params

    composition = tfmodel.load_module(MODULES / "personalize-pipeline")
    type_text = composition.variables["training"]["type"]
    example = tfmodel.load_module(MODULES / "personalize-pipeline" / "examples" / "complete")
    call = example.of("module")[0].body
    training = example_literal(call["training"])
    used = set()

    def collect(value):
        if isinstance(value, dict):
            for key, item in value.items():
                used.add(key)
                if key != "thresholds":  # its keys are metric names, not fields
                    collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)
    collect(training)
    assert _type_field_names(type_text) <= used, f"the complete example leaves out {_type_field_names(type_text) - used}"

    params = _params_from_training(training, literal(call["name"]))
    params["export"] = {"manifest_uri": "s3://data/personalize/exports/20260101T000000Z-abc/manifest.json", "run_id": "20260101T000000Z-abc"}
    parsed = parse_params(params)
    assert [s["name"] for s in parsed["solutions"]] == ["user-personalization", "similar-items"]
    assert parsed["solutions"][0]["perform_auto_training"] is False


def _spec_databases(spec) -> set[str]:
    return {database for database, _ in spec.source_columns()}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_env_export_spec_loads_and_names_the_env_catalog_database(env):
    from export_spec import load_spec

    spec = load_spec(REPO_ROOT / "envs" / f"{env}.export_spec.yaml")
    tfvars = (REPO_ROOT / "envs" / f"{env}.tfvars").read_text(encoding="utf-8")
    database = re.search(r'^catalog_database_name\s*=\s*"([^"]+)"', tfvars, re.M).group(1)
    assert _spec_databases(spec) == {database}


@pytest.mark.parametrize("example,database", [("complete", "retail_recs"), ("minimal", "retail_recs_minimal")])
def test_example_export_spec_loads_and_names_the_example_catalog_database(example, database):
    from export_spec import load_spec

    spec = load_spec(MODULES / "personalize-pipeline" / "examples" / example / "export_spec.yaml")
    assert _spec_databases(spec) == {database}


GLUE_PROVIDED = {"JOB_NAME", "WORKFLOW_NAME", "WORKFLOW_RUN_ID"}


def _resolved_option_names(entry_module) -> dict[str, set[str]]:
    """{entry function: argument names it resolves} from calls to resolved_options()."""
    import ast

    tree = ast.parse(entry_module.read_text(encoding="utf-8"))
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = {e.value for e in node.value.elts if isinstance(e, ast.Constant)}
    out = {}
    for function in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        names = set()
        for call in ast.walk(function):
            if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "resolved_options":
                for arg in call.args[1:]:
                    for node in ast.walk(arg):
                        if isinstance(node, ast.Constant) and isinstance(node.value, str):
                            names.add(node.value)
                        elif isinstance(node, ast.Name) and node.id in constants:
                            names |= constants[node.id]
        if names:
            out[function.name] = names
    return out


def test_every_argument_a_job_resolves_is_passed_by_terraform(export_module):
    """Read the job entrypoints the scripts call and check Terraform passes what they resolve."""
    import ast

    entry = REPO_ROOT / "glue" / "personalize_export" / "glue_entry.py"
    resolved = _resolved_option_names(entry)
    assert resolved, f"no resolved_options() calls found in {entry}"
    locals_ = export_module.locals
    common = {literal(k).lstrip("-") for k in locals_["common_job_arguments"] if k.startswith('"--')}
    if not common:  # merge({...}, var.jobs.extra_arguments) keeps its literal keys in the text
        common = set(re.findall(r'"--(\w+)"', locals_["common_job_arguments"]))
    per_job = {job: {literal(k).lstrip("-") for k in args} for job, args in locals_["python_shell_job_arguments"].items()}
    for script, path in locals_["job_scripts"].items():
        source = REPO_ROOT / "glue" / "jobs" / f"{script}.py"
        called = {n.func.id for n in ast.walk(ast.parse(source.read_text(encoding="utf-8")))
                  if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in resolved}
        assert called, f"{source.relative_to(REPO_ROOT)} calls no job entrypoint of {entry.name}"
        passed = common | per_job.get(script, set()) | GLUE_PROVIDED
        for function in called:
            missing = resolved[function] - passed
            assert not missing, f"{script} ({function}) resolves {sorted(missing)}, which Terraform does not pass"


def _rendered_params_template(example: str) -> dict:
    """local.params_template of the composition module for an example's call, with
    Terraform's optional() defaults applied to var.training first."""
    from tools import tftypes

    composition = tfmodel.load_module(MODULES / "personalize-pipeline")
    training_type = tftypes.parse_type(composition.variables["training"]["type"])
    call = tfmodel.load_module(MODULES / "personalize-pipeline" / "examples" / example).of("module")[0].body
    name = literal(call["name"])
    training_input = example_literal(call.get("training", {}))
    training = tftypes.convert(training_input, training_type, "training")
    # local.training_solutions (a default solution when none is given), as Terraform evaluates it.
    solutions = tfeval.evaluate(composition.path, {"partition": json.dumps(EXAMPLE_PARTITION),
                                                   "training_solutions": composition.locals["training_solutions"]},
                                {"training": training_input})["training_solutions"]
    # The locals of personalize-pipeline/main.tf: nulls dropped where it drops them.
    params = {
        "name": training["name"] or name,
        "import_mode": training["import_mode"],
        "solutions": [{k: v for k, v in s.items() if v is not None} for s in solutions],
        "campaigns": training["campaigns"],
        "quality_gate": {k: v for k, v in training["quality_gate"].items() if v is not None},
        "filters": training["filters"],
        "readiness": training["readiness"],
    }
    if training["dataset_group_kms_key_arn"] is not None:
        params["dataset_group"] = {"kms_key_arn": training["dataset_group_kms_key_arn"]}
    if training["event_tracker"] is not None:
        params["event_tracker"] = training["event_tracker"]
    params.update(literal(call.get("params_overrides", {})))
    return params


def test_params_template_mirror_matches_the_module_locals():
    """The rendering above follows local.params_template: same keys, same null handling."""
    template = tfmodel.load_module(MODULES / "personalize-pipeline").locals["params_template"]
    for key in ("name", "import_mode", "local.training_solutions", "campaigns", "quality_gate", "filters", "readiness",
                "dataset_group", "event_tracker", "var.params_overrides", "if v != null"):
        assert key in template, f"local.params_template no longer mentions {key}: update _rendered_params_template"


@pytest.mark.parametrize("example", ["complete", "minimal"])
def test_rendered_params_template_with_defaults_is_accepted_by_the_training_lambdas(example):
    from personalize_pipeline.params import parse_params

    params = _rendered_params_template(example)
    assert params["solutions"] and all("training_mode" in s for s in params["solutions"]), "defaults were not applied"
    params["export"] = {"manifest_uri": "s3://data/personalize/exports/20260101T000000Z-abc/manifest.json", "run_id": "20260101T000000Z-abc"}
    parsed = parse_params(json.loads(json.dumps(params)))
    assert parsed["run_id"] == "20260101T000000Z-abc"
    assert [s["name"] for s in parsed["solutions"]] == [s["name"] for s in params["solutions"]]


def test_type_conversion_fills_optional_defaults_and_rejects_unknown_attributes():
    from tools import tftypes

    type_ = tftypes.parse_type('${object({a = optional(number, 1), b = optional(list(object({x = string, y = optional(bool, true)})), [{ x = "d" }]), c = optional(string)})}')
    assert tftypes.convert({}, type_) == {"a": 1, "b": [{"x": "d", "y": True}], "c": None}
    assert tftypes.convert({"b": [{"x": "e", "y": False}]}, type_)["b"] == [{"x": "e", "y": False}]
    with pytest.raises(ValueError, match="unknown attributes"):
        tftypes.convert({"z": 1}, type_)
    with pytest.raises(ValueError, match="attribute 'x' is required"):
        tftypes.convert({"b": [{}]}, type_)
