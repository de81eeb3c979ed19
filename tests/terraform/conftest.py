"""Fixtures of the offline Terraform checks."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tools import tfeval, tfmodel, tfschema

FIXTURES = Path(__file__).resolve().parent / "fixtures"  # broken code each check must reject


@pytest.fixture(scope="session")
def aws_schema() -> dict:
    try:
        return tfschema.full_schema()
    except tfschema.SchemaUnavailable as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def terraform_modules() -> list[tfmodel.Module]:
    dirs = tfmodel.module_dirs()
    assert dirs, "no .tf files found under modules/ or envs/"
    return [tfmodel.load_module(d) for d in dirs]


@pytest.fixture
def fixture_module():
    def load(name: str) -> tfmodel.Module:
        return tfmodel.load_module(FIXTURES / name)
    return load


class RenderedStack:
    """A root rendered for concrete values (tools.tfeval): what the checks of meaning
    read (which role may do which action on which ARN, what a function is wired to)
    instead of the expression text that writes it."""

    def __init__(self, root: tfeval.Scope):
        self.root = root

    def instances(self, type_: str) -> list[Any]:
        return [instance for _, _, _, instance in tfeval.resource_instances(self.root, type_)]

    def one(self, type_: str, **attributes: Any) -> Any:
        """The one instance of the type whose attributes have these values."""
        found = [i for i in self.instances(type_) if all(i[k] == v for k, v in attributes.items())]
        assert len(found) == 1, f"{len(found)} {type_} with {attributes}"
        return found[0]

    def block_attribute(self, instance: Any, block_kind: str, attribute: str) -> Any:
        """An attribute of a nested block of a rendered resource (environment.variables...)."""
        return self.nested(instance, block_kind, attribute)

    def nested(self, instance: Any, *path: str) -> Any:
        """An attribute of a block nested several deep (rule.apply_server_side_encryption_by_default.kms_master_key_id)."""
        body = instance.block.body
        for kind in path[:-1]:
            [block] = body.blocks_of(kind)
            body = block.body
        module = next(s for s in tfeval.module_scopes(self.root) if s.path == instance.block.file.parent)
        return tfeval._plain(module.eval(body.attributes[path[-1]], instance.ctx, instance.block.file))

    def data_instances(self, type_: str) -> list[Any]:
        return [instance for module in tfeval.module_scopes(self.root) for block in module.blocks
                if block.kind == "data" and block.labels[0] == type_
                for instance in module.instances("data", type_, block.labels[1]).values()]

    def archive_files(self, archive: Any) -> dict[str, str]:
        """{file name in the zip: content} of a rendered archive_file's source blocks, dynamic ones included."""
        module = next(s for s in tfeval.module_scopes(self.root) if s.path == archive.block.file.parent)
        out = {}
        for dynamic in archive.block.body.blocks_of("dynamic"):
            each = module.eval(dynamic.body.attributes["for_each"], archive.ctx, archive.block.file)
            pairs = each.items() if isinstance(each, dict) else list(enumerate(each))
            for key, value in pairs:
                ctx = {**archive.ctx, dynamic.labels[0]: {"key": key, "value": value}}
                [content] = dynamic.body.blocks_of("content")
                name = module.eval(content.body.attributes["filename"], ctx, archive.block.file)
                out[name] = module.eval(content.body.attributes["content"], ctx, archive.block.file)
        return out

    def has_block(self, instance: Any, block_kind: str) -> bool:
        return bool(instance.block.body.blocks_of(block_kind))

    def statements(self, role_name: str) -> dict[str, dict]:
        """{Sid: statement} over the inline policies of the role with this name."""
        self.one("aws_iam_role", name=role_name)
        out: dict[str, dict] = {}
        for policy in self.instances("aws_iam_role_policy"):
            if policy["role"] == role_name:
                for statement in json.loads(policy["policy"])["Statement"]:
                    assert statement["Sid"] not in out, f"{role_name}: two statements {statement['Sid']}"
                    out[statement["Sid"]] = statement
        assert out, f"role {role_name} has no inline policy"
        return out

    def grants(self, role_name: str) -> dict[str, set[str]]:
        """{action: resources} the role's Allow statements grant."""
        out: dict[str, set[str]] = {}
        for statement in self.statements(role_name).values():
            if statement["Effect"] == "Allow":
                for action in statement["Action"]:
                    out.setdefault(action, set()).update(statement["Resource"])
        return out


# The complete example's provider region and account of its ARNs.
EXAMPLE_ENVIRONMENT = tfeval.Environment(account="111122223333", region="eu-west-1", partition="aws")


@pytest.fixture(scope="session")
def complete_stack() -> RenderedStack:
    return RenderedStack(tfeval.root(tfmodel.REPO_ROOT / "modules" / "personalize-pipeline" / "examples" / "complete",
                                     EXAMPLE_ENVIRONMENT))
