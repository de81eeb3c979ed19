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
        header, rows = _with_schema_columns(all_schemas[name], header, rows)
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


def _with_schema_columns(schema: dict, header: str, rows: list) -> tuple:
    """The CSV in the schema's columns, as the export writes it: a field the rows lack is
    empty where its type allows null, else a placeholder (Personalize imports only a CSV
    with every column of the dataset's schema)."""
    columns = header.split(",")
    fields = schema["fields"]
    out = []
    for row in rows:
        values = dict(zip(columns, row.split(",")))
        out.append(",".join(values.get(f["name"], "" if "null" in f["type"] else "placeholder") for f in fields))
    return ",".join(f["name"] for f in fields), out


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


def _manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))


def mark_full(run_dir: Path) -> Path:
    """Give a make_export folder the incremental-export keys of a FULL export
    (export block, per-dataset mode, bytes and a chain of itself)."""
    manifest = _manifest(run_dir)
    run_id = manifest["run_id"]
    manifest["export"] = {"mode": "FULL", "reason": "no earlier successful export", "requested": "auto",
                          "base_run_id": run_id, "spec_fingerprint": "f" * 64}
    for name, entry in manifest["datasets"].items():
        size = sum(p.stat().st_size for p in (run_dir / name).glob("*.csv"))
        entry.update(mode="FULL", bytes=size, watermark=None, carried=False, chain_rows=entry["rows"],
                     chain=[{"run_id": run_id, "mode": "FULL", "prefix": f"../{run_id}/{name}/", "rows": entry["rows"], "carried": False}])
    manifest["vanished_users"] = None
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return run_dir


def make_delta(root: Path, run_id: str, previous_run_id: str, interactions: int = 1100, overlap: int = 50,
               users: int = 60, items: int = 40, item_updates: Sequence[str] = ("i1", "i2"),
               user_updates: Sequence[str] = ("u1",), datasets: Iterable[str] = ("interactions", "items", "users"),
               carried: Iterable[str] = (), vanished: Optional[Sequence[str]] = None, seed: int = 11,
               event_types: Sequence[str] = ("purchase",), first_timestamp: int = 1_800_000_000) -> Path:
    """Write ``<root>/exports/<run_id>/``: an INCREMENTAL export on the chain of
    ``previous_run_id`` (a FULL export marked with mark_full, or an earlier delta),
    following the manifest contract. Interactions: ``interactions`` new rows plus
    ``overlap`` rows identical to the previous run's first ones (read again under
    the watermark's allowance). Items and users: updated records of existing IDs."""
    rng = random.Random(seed)
    root = Path(root)
    previous = _manifest(root / "exports" / previous_run_id)
    base_run_id = previous["export"]["base_run_id"]
    run_dir = root / "exports" / run_id
    carried = set(carried)
    manifest_datasets = {}
    for name in datasets:
        before = previous["datasets"][name]
        if name == "interactions":
            header = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE"
            earlier = (root / "exports" / previous_run_id / name / "part-00000.csv").read_text(encoding="utf-8").splitlines()[1:]
            rows = earlier[:overlap] + [
                f"u{rng.randrange(users)},i{rng.randrange(items)},{first_timestamp + i * 60},{event_types[i % len(event_types)]}"
                for i in range(interactions)]
            overlap_rows = min(overlap, len(earlier))
        elif name == "items":
            header, rows, overlap_rows = "ITEM_ID,CATEGORY", [f"{i},updated" for i in item_updates], 0
        else:
            header, rows, overlap_rows = "USER_ID,SEGMENT", [f"{u},moved" for u in user_updates], 0
        data_dir = run_dir / name
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / "part-00000.csv"
        path.write_text("\n".join([header] + rows) + "\n", encoding="utf-8")
        schema_path = run_dir / "schemas" / f"{name}.json"
        schema_path.parent.mkdir(parents=True, exist_ok=True)
        schema_path.write_text(json.dumps({"interactions": INTERACTIONS_SCHEMA, "items": ITEMS_SCHEMA, "users": USERS_SCHEMA}[name]), encoding="utf-8")
        is_carried = name in carried
        chain = [{**link, "prefix": f"../{link['run_id']}/{name}/"} for link in before["chain"]]
        chain.append({"run_id": run_id, "mode": "INCREMENTAL", "prefix": f"../{run_id}/{name}/", "rows": len(rows), "carried": is_carried})
        previous_high = (before.get("watermark") or {}).get("high")
        entry = {
            "prefix": f"{name}/", "files": [f"{name}/part-00000.csv"], "schema": f"schemas/{name}.json",
            "rows": len(rows), "rejected": 0, "rejected_by_reason": {}, "rows_read": len(rows),
            "mode": "INCREMENTAL", "bytes": path.stat().st_size,
            "watermark": {"column": "updated_at", "allowance_seconds": 3600, "read_from": previous_high,
                          "high": previous_high if is_carried else f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}T00:00:00Z",
                          "overlap_rows": overlap_rows},
            "carried": is_carried,
            "chain": chain,
            "chain_rows": sum(link["rows"] for link in chain if not link["carried"]),
        }
        if is_carried:
            entry["carried_reason"] = f"{len(rows)} rows, under Personalize's minimum of 1000 records per import job"
        manifest_datasets[name] = entry
    vanished_entry = None
    if vanished is not None:
        (run_dir / "vanished_users.csv").write_text("\n".join(["USER_ID", *vanished]) + "\n", encoding="utf-8")
        vanished_entry = {"count": len(vanished), "file": "vanished_users.csv", "since_run_id": previous_run_id}
    manifest = {
        "run_id": run_id,
        "created_at": "2026-01-02T00:00:00Z",
        "export": {"mode": "INCREMENTAL", "reason": f"incremental on base {base_run_id}", "requested": "auto",
                   "base_run_id": base_run_id, "spec_fingerprint": "f" * 64},
        "datasets": manifest_datasets,
        "readiness": {"passed": True, "checks": [{"rule": "min_interactions", "passed": True, "detail": "over the chain"}]},
        "item_id_reconciliation": {},
        "vanished_users": vanished_entry,
    }
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return run_dir
