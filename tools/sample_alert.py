"""Generates the rules table and the sample alert in docs/schema-drift.md (and the
README's sample email) from the real code, run against the drift tests' moto stand-ins.

    PYTHONPATH=glue:lambda_src:. .venv/bin/python -m tools.sample_alert --write

(or `make generate`) rewrites the generated blocks; tests/drift/test_docs.py fails
when they are stale.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional

DOC = Path(__file__).resolve().parents[1] / "docs" / "schema-drift.md"
# The README shows the sample email alert too; it holds only that block.
README = Path(__file__).resolve().parents[1] / "README.md"
README_BLOCKS = ("sample-email",)
BLOCKS = ("rules", "sample-email", "sample-sqs", "sample-message")
SAMPLE_EVENT_ID = "5f3e2a7c-9d41-4b8e-a0c2-6e1f7b9d3c84"
# Fields SNS sets on every delivery; shown as placeholders so the sample stays stable.
_PER_DELIVERY = ("MessageId", "Timestamp", "Signature", "SigningCertURL", "UnsubscribeURL")


def rules_table() -> str:
    from schema_drift.rules import RULES, SEVERITY_RANK

    order = list(RULES)
    rows = ["| severity | rule | when | why |", "|---|---|---|---|"]
    for rule in sorted(RULES.values(), key=lambda r: (-SEVERITY_RANK[r.severity], order.index(r.rule_id))):
        rows.append("| %s | `%s` | %s | %s |" % (rule.severity, rule.rule_id, rule.when, rule.why))
    return "\n".join(rows)


def sample_alert() -> Dict[str, str]:
    """A crawler renamed orders.customer_id, widened amount and added coupon_code; pausing is on."""
    from schema_drift.service import Clients, Settings, process_event
    from tests.drift.conftest import AWS_TEST_ENV, ORDERS_COLUMNS, RecordingSns, moto_drift_aws, table_event

    saved_env = dict(os.environ)
    os.environ.update(AWS_TEST_ENV)
    try:
        with moto_drift_aws() as aws:
            orders = aws.create_table("orders", ORDERS_COLUMNS)
            changed = copy.deepcopy(orders)
            for column in changed["StorageDescriptor"]["Columns"]:
                if column["Name"] == "customer_id":
                    column["Name"] = "client_id"
                elif column["Name"] == "amount":
                    column["Type"] = "double"
            changed["StorageDescriptor"]["Columns"].append({"Name": "coupon_code", "Type": "string"})
            aws.update_table(changed)

            sns = RecordingSns(aws.sns)
            settings = Settings.from_env(aws.env(PAUSE_ON_BREAKING="true"))
            clients = Clients(glue=aws.glue, sns=sns, dynamodb=aws.dynamodb, s3=aws.s3)
            process_event(table_event("UpdateTable", "orders", event_id=SAMPLE_EVENT_ID), settings, clients)
            [published] = sns.published
            [envelope] = aws.received(aws.breaking_queue)
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
    for key in _PER_DELIVERY:
        envelope[key] = "<%s>" % key
    email_text = json.loads(published["Message"])["email"]
    return {
        "email": "Subject: %s\n\n%s" % (published["Subject"], email_text),
        "sqs": json.dumps(envelope, indent=2, sort_keys=True),
        "message": json.dumps(json.loads(envelope["Message"]), indent=2, sort_keys=True),
    }


def render_blocks() -> Dict[str, str]:
    sample = sample_alert()
    return {
        "rules": rules_table(),
        "sample-email": "```text\n%s```" % sample["email"],
        "sample-sqs": "```json\n%s\n```" % sample["sqs"],
        "sample-message": "```json\n%s\n```" % sample["message"],
    }


def _pattern(name: str) -> "re.Pattern[str]":
    return re.compile(r"(<!-- generated:%s -->)\n(.*?)\n?(<!-- /generated:%s -->)" % (name, name), re.S)


def current_blocks(text: str) -> Dict[str, Optional[str]]:
    blocks: Dict[str, Optional[str]] = {}
    for name in BLOCKS:
        match = _pattern(name).search(text)
        blocks[name] = match.group(2) if match else None
    return blocks


def write(doc: Path = DOC, names=BLOCKS) -> None:
    text = doc.read_text(encoding="utf-8")
    for name, block in render_blocks().items():
        if name not in names:
            continue
        pattern = _pattern(name)
        if not pattern.search(text):
            raise SystemExit("%s: the marker <!-- generated:%s --> is missing" % (doc, name))
        text = pattern.sub(lambda m, block=block: "%s\n%s\n%s" % (m.group(1), block, m.group(3)), text)
    doc.write_text(text, encoding="utf-8")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the generated blocks of docs/schema-drift.md and README.md.")
    parser.add_argument("--write", action="store_true", help="rewrite the blocks in the document")
    args = parser.parse_args(argv)
    if args.write:
        write()
        write(README, README_BLOCKS)
    else:
        for name, block in render_blocks().items():
            print("<!-- %s -->\n%s\n" % (name, block))
    return 0


if __name__ == "__main__":
    sys.exit(main())
