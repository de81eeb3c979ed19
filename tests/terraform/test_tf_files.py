"""Every file Terraform names exists: job scripts, package and Lambda sources,
templates; every Lambda handler is a function defined in its module."""
from __future__ import annotations

from pathlib import Path

from tools import tfchecks
from tools.tfmodel import REPO_ROOT

FIXTURES = Path(__file__).resolve().parent / "fixtures"  # broken code each check must reject

SOURCE_ROOTS = [REPO_ROOT / "lambda_src", REPO_ROOT / "glue"]


def test_files_named_by_the_modules_exist(terraform_modules):
    named = [p for m in terraform_modules for _, p in tfchecks.referenced_paths(m)]
    names = {p.relative_to(REPO_ROOT).as_posix() for p in named if p.is_relative_to(REPO_ROOT)}
    for script in ("prepare", "export_interactions", "export_items", "export_users", "start_training"):
        assert f"glue/jobs/{script}.py" in names, f"glue/jobs/{script}.py is not named by any module"
    assert "lambda_src/personalize_pipeline/functions.json" in names
    assert "step_functions/training.asl.json.tftpl" in names
    problems = [p for m in terraform_modules for p in tfchecks.check_referenced_files(m)]
    assert not problems, "\n".join(problems)


def test_every_lambda_handler_exists(complete_stack):
    """Every function the complete example deploys (the training Lambdas and the drift
    Lambda, built by modules/_internal/lambda-functions) names a function its package defines."""
    import json

    registry = json.loads((REPO_ROOT / "lambda_src" / "personalize_pipeline" / "functions.json").read_text(encoding="utf-8"))
    functions = complete_stack.instances("aws_lambda_function")
    assert len(functions) == len(registry["functions"]) + 1, "expected the training Lambdas and the drift Lambda"
    problems = [f"{fn['function_name']}: {problem}" for fn in functions
                if (problem := tfchecks.handler_problem(fn["handler"], SOURCE_ROOTS))]
    assert not problems, "\n".join(problems)


def test_missing_files_and_handlers_are_reported(fixture_module):
    module = fixture_module("missing_files")
    handler_problems = tfchecks.check_lambda_handlers(module, [FIXTURES / "missing_files" / "src"])
    assert len(handler_problems) == 2, handler_problems
    assert any("defines no function 'absent'" in p for p in handler_problems)
    assert any("no file app/nowhere.py" in p for p in handler_problems)
    file_problems = tfchecks.check_referenced_files(module)
    assert len(file_problems) == 1 and "jobs/export.py does not exist" in file_problems[0], file_problems
