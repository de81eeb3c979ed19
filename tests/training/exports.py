"""Small export folders shaped like the export jobs' output (manifest.json
with relative paths, schemas beside the CSV prefixes) for the scenario tests."""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Iterable, Optional, Sequence

INTERACTIONS_SCHEMA = {
    "type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema",
    "fields": [
        {"name": "USER_ID", "type": "string"},
        {"name": "ITEM_ID", "type": "string"},
        {"name": "TIMESTAMP", "type": "long"},
        {"name": "EVENT_TYPE", "type": "string"},
    ],
    "version": "1.0",
}
ITEMS_SCHEMA = {
    "type": "record", "name": "Items", "namespace": "com.amazonaws.personalize.schema",
    "fields": [
        {"name": "ITEM_ID", "type": "string"},
        {"name": "CATEGORY", "type": "string", "categorical": True},
    ],
    "version": "1.0",
}
USERS_SCHEMA = {
    "type": "record", "name": "Users", "namespace": "com.amazonaws.personalize.schema",
    "fields": [
        {"name": "USER_ID", "type": "string"},
        {"name": "SEGMENT", "type": "string", "categorical": True},
    ],
    "version": "1.0",
}
RECIPE_POPULARITY = "arn:aws:personalize:::recipe/aws-popularity-count"
RECIPE_USER_PERSONALIZATION = "arn:aws:personalize:::recipe/aws-user-personalization"


def make_export(root: Path, run_id: str = "20260101T000000Z", datasets: Iterable[str] = ("interactions", "items", "users"),
                interactions: int = 1200, users: int = 60, items: int = 40, readiness_passed: bool = True,
                schemas: Optional[dict] = None, seed: int = 7, event_types: Sequence[str] = ("purchase",)) -> Path:
    """Write ``<root>/exports/<run_id>/`` and return that folder. Interactions take
    ``event_types`` in turn."""
    rng = random.Random(seed)
    run_dir = Path(root) / "exports" / run_id
    all_schemas = {"interactions": INTERACTIONS_SCHEMA, "items": ITEMS_SCHEMA, "users": USERS_SCHEMA, **(schemas or {})}
    manifest_datasets = {}
    for name in datasets:
        rows = []
        if name == "interactions":
            header = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE"
            for i in range(interactions):
                rows.append(f"u{rng.randrange(users)},i{rng.randrange(items)},{1_700_000_000 + i * 60},{event_types[i % len(event_types)]}")
        elif name == "items":
            header = "ITEM_ID,CATEGORY"
            rows = [f"i{i},cat{i % 4}" for i in range(items)]
        else:
            header = "USER_ID,SEGMENT"
            rows = [f"u{u},seg{u % 3}" for u in range(users)]
        data_dir = run_dir / name
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "part-00000.csv").write_text("\n".join([header] + rows) + "\n", encoding="utf-8")
        schema_path = run_dir / "schemas" / f"{name}.json"
        schema_path.parent.mkdir(parents=True, exist_ok=True)
        schema_path.write_text(json.dumps(all_schemas[name]), encoding="utf-8")
        manifest_datasets[name] = {
            "prefix": f"{name}/", "files": [f"{name}/part-00000.csv"], "schema": f"schemas/{name}.json",
            "rows": len(rows), "rejected": 0, "rejected_by_reason": {}, "rows_read": len(rows),
        }
    checks = [
        {"rule": "min_interactions", "passed": interactions >= 1000 and readiness_passed, "detail": f"{interactions} interactions (need 1000)"},
        {"rule": "min_users_with_2_interactions", "passed": True, "detail": f"{users} users"},
    ]
    manifest = {
        "run_id": run_id,
        "created_at": "2026-01-01T00:00:00Z",
        "datasets": manifest_datasets,
        "readiness": {"passed": all(c["passed"] for c in checks), "checks": checks},
        "item_id_reconciliation": {},
    }
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return run_dir


def full_params(name: str = "shop") -> dict:
    """Three datasets, two solutions, a campaign, a filter and an event tracker."""
    return {
        "name": name,
        "solutions": [
            {"name": "popular", "recipe_arn": RECIPE_POPULARITY},
            {"name": "personal", "recipe_arn": RECIPE_USER_PERSONALIZATION, "solution_config": {"eventValueThreshold": "0"}},
        ],
        "campaigns": [{"name": "home", "solution": "personal", "min_provisioned_tps": 2}],
        "quality_gate": {"thresholds": {"precision_at_10": 0.05}, "compare_with_serving": True, "tolerance": 0.01},
        "filters": [{"name": "not-purchased", "expression": "EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (\"purchase\")"}],
        "event_tracker": {"name": "web"},
    }


def metrics(precision_at_10: float, ndcg_at_10: float = 0.2) -> dict:
    return {
        "coverage": 0.4, "mean_reciprocal_rank_at_25": 0.1,
        "normalized_discounted_cumulative_gain_at_5": ndcg_at_10, "normalized_discounted_cumulative_gain_at_10": ndcg_at_10,
        "normalized_discounted_cumulative_gain_at_25": ndcg_at_10, "precision_at_5": precision_at_10,
        "precision_at_10": precision_at_10, "precision_at_25": precision_at_10,
    }
