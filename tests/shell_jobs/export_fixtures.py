"""Shared data for the Python-shell job tests (run under Python 3.11 and 3.9, no Spark).

An "export" here is built by hand with the same layout and report format the Spark
export jobs write, so manifest, readiness, retention and hand-off are tested alone.
"""
from __future__ import annotations

from export_spec import avro_schema
from personalize_export import layout
from personalize_export.storage import join, relative

REGION = "eu-west-1"

SPEC = {
    "sources": {
        "orders": {"format": "csv", "path": "orders.csv", "catalog": {"database": "retail", "table": "orders"}},
        "products": {"format": "csv", "path": "products.csv", "catalog": {"database": "retail", "table": "products"}},
    },
    "datasets": {
        "interactions": {
            "source": "orders",
            "fields": {"USER_ID": "customer_id", "ITEM_ID": "sku", "TIMESTAMP": "ordered_at", "EVENT_TYPE": "status"},
            "event_types": {"map": {"completed": "purchase"}, "drop": ["cancelled"]},
        },
        "items": {
            "source": "products",
            "fields": {"ITEM_ID": "sku", "CATEGORY": {"from": "category", "categorical": True}},
        },
    },
    "run": {"keep_exports": 2, "max_rejected_share": 0.1, "readiness": {"min_interactions": 4, "min_users": 2}},
}




def write_dataset(storage, export_root, run_id, spec, name, rows, rejected_by_reason=None, filtered=0, users=None, header=None):
    """One dataset's CSV, schema and report, as the export job writes them."""
    dataset = spec.dataset(name)
    run_dir = layout.run_root(export_root, run_id)
    prefix = layout.dataset_prefix(export_root, run_id, name)
    csv_path = join(prefix, "part-00000-test.csv")
    fields = header or ",".join(dataset.field_names)
    lines = [fields] + [",".join(str(v) for v in row) for row in rows]
    storage.write_text(csv_path, "\n".join(lines) + "\n")
    schema_uri = layout.schema_path(export_root, run_id, name)
    storage.write_json(schema_uri, avro_schema(dataset))
    rejected_by_reason = dict(rejected_by_reason or {})
    rejected = sum(rejected_by_reason.values())
    report = {
        "dataset": name,
        "run_id": run_id,
        "rows_read": len(rows) + rejected + filtered,
        "rows": len(rows),
        "rejected": rejected,
        "rejected_by_reason": rejected_by_reason,
        "filtered": filtered,
        "filtered_by_event_type": {"cancelled": filtered} if filtered else {},
        "prefix": name + "/",
        "files": [relative(csv_path, run_dir)],
        "schema": relative(schema_uri, run_dir),
        "rejected_prefix": "rejected/%s/" % name,
    }
    if name == "interactions":
        per_user = {}
        for row in rows:
            per_user[row[0]] = per_user.get(row[0], 0) + 1
        report["users"] = users or {
            "distinct_users": len(per_user),
            "users_with_min_interactions": sum(1 for n in per_user.values() if n >= 2),
            "min_interactions_per_user": 2,
        }
        report["item_id_reconciliation"] = {"exact": len(rows), "normalized": 0, "fuzzy": 0, "unmatched": 0, "missing": 0}
    storage.write_json(layout.report_path(export_root, run_id, name), report)
    return report


GOOD_INTERACTIONS = [
    ("u1", "i1", 1600000000, "purchase"),
    ("u1", "i2", 1600000100, "purchase"),
    ("u2", "i1", 1600000200, "purchase"),
    ("u2", "i3", 1600000300, "purchase"),
    ("u3", "i3", 1600000400, "purchase"),
]
GOOD_ITEMS = [("i1", "shirts"), ("i2", "hats"), ("i3", "socks")]


def write_good_export(storage, export_root, run_id, spec):
    write_dataset(storage, export_root, run_id, spec, "interactions", GOOD_INTERACTIONS, filtered=1)
    write_dataset(storage, export_root, run_id, spec, "items", GOOD_ITEMS)
