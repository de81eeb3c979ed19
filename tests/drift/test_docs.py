"""docs/schema-drift.md shows the rules and a sample alert exactly as the code produces them."""
from __future__ import annotations

from tools.sample_alert import BLOCKS, DOC, README, README_BLOCKS, current_blocks, render_blocks

REGENERATE = "regenerate with: make generate"


def test_generated_blocks_of_the_doc_are_current():
    documented = current_blocks(DOC.read_text(encoding="utf-8"))
    generated = render_blocks()
    assert set(generated) == set(BLOCKS)
    for name in BLOCKS:
        assert documented[name] is not None, "docs/schema-drift.md lacks the block <!-- generated:%s -->" % name
        assert documented[name] == generated[name], "the %s block of docs/schema-drift.md is stale; %s" % (name, REGENERATE)


def test_sample_is_a_breaking_alert_that_pauses_and_says_how_to_resume():
    email = render_blocks()["sample-email"]
    assert email.startswith("```text\nSubject: [BREAKING] retail.orders: ")
    assert "aws glue start-trigger --name personalize-dev-start" in email
    assert "read by export_interactions" in email


def test_the_readme_sample_alert_is_current():
    documented = current_blocks(README.read_text(encoding="utf-8"))
    generated = render_blocks()
    for name in README_BLOCKS:
        assert documented[name] is not None, "README.md lacks the block <!-- generated:%s -->" % name
        assert documented[name] == generated[name], "the %s block of README.md is stale; %s" % (name, REGENERATE)
