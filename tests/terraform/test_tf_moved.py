"""States written by the earlier layout plan no replacement: each resource address of
that layout (recorded in fixtures/layout_before_internal_modules.json, the modules
before the Lambdas and topics moved into modules/_internal) still exists, or its
module's moved blocks lead it to a resource repeated the same way."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import tfmoves
from tools.tfmodel import REPO_ROOT

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EARLIER = json.loads((FIXTURES / "layout_before_internal_modules.json").read_text(encoding="utf-8"))


def test_the_record_holds_the_moved_resources():
    assert EARLIER["modules/training-pipeline"]["aws_lambda_function.this"] == "for_each"
    assert EARLIER["modules/schema-drift-alerts"]["aws_lambda_function.this"] == "count"
    assert EARLIER["modules/schema-drift-alerts"]["aws_sns_topic_subscription.this"] == "for_each"


@pytest.mark.parametrize("module", sorted(EARLIER))
def test_every_earlier_address_leads_to_the_current_layout(module):
    problems = tfmoves.problems(REPO_ROOT / module, EARLIER[module])
    assert not problems, "\n".join(problems)


def _module(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / name
    folder.mkdir(parents=True)
    (folder / "main.tf").write_text(text)
    return folder


def test_missing_or_misfit_moves_are_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(tfmoves, "REPO_ROOT", tmp_path)
    _module(tmp_path, "inner", '''
resource "aws_sns_topic" "keyed" {
  for_each = var.topics
  name     = each.key
}

resource "aws_sns_topic" "counted" {
  count = 1
  name  = "x"
}
''')
    outer = _module(tmp_path, "outer", '''
module "inner" {
  source = "../inner"
}

moved {
  from = aws_sns_topic.whole
  to   = module.inner.aws_sns_topic.keyed
}

moved {
  from = aws_sns_topic.one[0]
  to   = module.inner.aws_sns_topic.keyed["one"]
}

moved {
  from = aws_sns_topic.nowhere
  to   = module.elsewhere.aws_sns_topic.keyed
}

moved {
  from = aws_sns_topic.index_into_keys[0]
  to   = module.inner.aws_sns_topic.keyed[0]
}
''')
    earlier = {"aws_sns_topic.whole": "count", "aws_sns_topic.one": "count", "aws_sns_topic.nowhere": "count",
               "aws_sns_topic.index_into_keys": "count", "aws_sns_topic.forgotten": "single"}
    problems = "\n".join(tfmoves.problems(outer, earlier))
    assert "aws_sns_topic.whole (count): aws_sns_topic.whole moves to module.inner.aws_sns_topic.keyed, which is for_each" in problems
    assert "calls no module 'elsewhere'" in problems
    assert "aws_sns_topic.index_into_keys[0] moves to module.inner.aws_sns_topic.keyed[0], which is for_each" in problems
    assert "aws_sns_topic.forgotten (single) is gone and no moved block says where" in problems
    assert "aws_sns_topic.one" not in problems, "a count instance moved to a for_each key fits"
    assert len(problems.splitlines()) == 4, problems
