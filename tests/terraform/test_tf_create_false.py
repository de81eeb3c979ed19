"""create = false makes the modules create nothing, and their outputs are then null
or empty instead of failing: the disabled example rendered offline (tools.tfeval)."""
from __future__ import annotations

import pytest

from tools import tfeval
from tools.tfmodel import REPO_ROOT

DISABLED = REPO_ROOT / "modules" / "personalize-pipeline" / "examples" / "disabled"


@pytest.fixture(scope="module")
def disabled() -> tfeval.Scope:
    return tfeval.root(DISABLED, tfeval.Environment())


def test_the_disabled_example_creates_no_resource_in_any_module(disabled):
    modules = list(tfeval.module_scopes(disabled))
    # The composition, its three submodules and the internal Lambda and topic modules they call.
    assert len(modules) == 1 + 1 + 3 + 4
    created = []
    for module in modules:
        for block in module.blocks:
            if block.kind == "resource":
                created += [f"{module.address}{'.'.join(block.labels)}[{key!r}]"
                            for key in module.instances("resource", *block.labels)]
    assert created == []


def test_every_output_of_every_module_is_null_or_empty(disabled):
    for module in tfeval.module_scopes(disabled):
        for block in module.blocks:
            if block.kind == "output":
                value = tfeval._plain(module.eval(block.body.attributes["value"], {}, block.file))
                assert value in (None, {}, []), f"{module.address or 'root '}output {block.labels[0]} = {value!r}"


def test_an_output_that_indexes_a_resource_not_created_fails_to_render(tmp_path):
    """The check above would catch an output that is not null-safe."""
    (tmp_path / "main.tf").write_text('''
variable "create" {
  type    = bool
  default = false
}

resource "aws_sns_topic" "this" {
  count = var.create ? 1 : 0
  name  = "x"
}

output "unsafe" {
  value = aws_sns_topic.this[0].arn
}
''')
    module = tfeval.Scope(tmp_path, {}, tfeval.Environment())
    block = module.block("output", "unsafe")
    with pytest.raises(tfeval.EvalError):
        module.eval(block.body.attributes["value"], {}, block.file)
