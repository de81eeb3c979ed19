"""The demo export spec, pointed at one generated data directory and one database server."""
from __future__ import annotations

import copy
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

SPEC_PATH = Path(__file__).with_name("export_spec.yaml")


def load_demo_spec_dict() -> Dict[str, Any]:
    import yaml

    with SPEC_PATH.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def demo_spec(data_dir, server=None) -> Dict[str, Any]:
    """The demo spec as a dict, with file sources under ``data_dir`` and, when given, the
    orders read from ``server`` (a :class:`sample_data.postgres.PostgresServer`).

    The password itself never goes into the spec: export the variables from
    :func:`demo_environment` before running the export.
    """
    spec = copy.deepcopy(load_demo_spec_dict())
    root = Path(data_dir).resolve()
    for source in spec["sources"].values():
        if "path" in source:
            source["path"] = str(root / source["path"])
    if server is not None:
        jdbc = spec["sources"]["orders"]["jdbc"]
        jdbc["url"] = server.jdbc_url
        jdbc["user"] = server.user
    return spec


def demo_environment(server, spec: Optional[Dict[str, Any]] = None) -> Dict[str, str]:
    """Environment variables the spec's JDBC source reads its password from."""
    spec = spec or load_demo_spec_dict()
    return {spec["sources"]["orders"]["jdbc"]["password_env"]: server.password}


# How the demo spec turns each injected quirk of the generator into a rejection reason
# of the export (docs/export-spec.md, "Rejection reasons").
REJECTION_REASON_OF_QUIRK = {
    "interactions": {
        "null_customer_id": "null_id",
        "empty_customer_id": "null_id",
        "overlong_customer_id": "id_too_long",
        "unparseable_timestamp": "unparseable_timestamp",
        "future_timestamp": "future_timestamp",
        "timestamp_before_floor": "timestamp_before_floor",
        # No SKU, and a title no product has: no item id can be found.
        "no_sku_unknown_title": "null_id",
        "exact_duplicate": "duplicate",
    },
    "items": {"invalid_price": "invalid_number", "empty_sku": "null_id", "exact_duplicate": "duplicate"},
    "users": {"null_customer_id": "null_id", "exact_duplicate": "duplicate"},
}


def expected_counts(truth: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """What an export of the generated data with the demo spec must report, per dataset:
    rows_read, rows (written), filtered and rejected_by_reason, from the generator's truth."""
    orders, products, profiles = truth["orders"], truth["products"], truth["profiles"]
    quirks = {
        "interactions": dict(orders["bad_rows"], exact_duplicate=orders["exact_duplicate"]),
        "items": products["bad_rows"],
        "users": profiles["bad_rows"],
    }
    written = {
        "interactions": orders["expected_interactions"],
        "items": products["distinct_products"],
        "users": profiles["distinct_profiles"],
    }
    read = {"interactions": orders["rows"], "items": products["rows"], "users": profiles["rows"]}
    result: Dict[str, Dict[str, Any]] = {}
    for dataset, counts in quirks.items():
        by_reason: Dict[str, int] = {}
        for quirk, count in counts.items():
            reason = REJECTION_REASON_OF_QUIRK[dataset][quirk]
            by_reason[reason] = by_reason.get(reason, 0) + count
        result[dataset] = {
            "rows_read": read[dataset],
            "rows": written[dataset],
            "filtered": orders["expected_filtered"] if dataset == "interactions" else 0,
            "rejected_by_reason": by_reason,
        }
    return result


def reconciliation_problems(manifest: Dict[str, Any], truth: Dict[str, Any]) -> List[str]:
    """Differences between an export's manifest and what the generated data must give;
    empty when every row is accounted for exactly as injected."""
    problems = []
    for dataset, want in expected_counts(truth).items():
        entry = manifest.get("datasets", {}).get(dataset)
        if entry is None:
            problems.append(f"{dataset}: missing from the manifest")
            continue
        for key in ("rows_read", "rows", "filtered", "rejected_by_reason"):
            if entry.get(key) != want[key]:
                problems.append(f"{dataset}.{key}: manifest says {entry.get(key)!r}, the generated data needs {want[key]!r}")
    return problems


@dataclass
class SampleSources:
    """Everything an export of the sample needs: the spec, the environment holding the
    database password, the generator's truth and the running server."""

    data_dir: Path
    spec: Dict[str, Any]
    environment: Dict[str, str]
    truth: Dict[str, Any]
    server: Any
    orders_loaded: int


@contextmanager
def sample_sources(data_dir, seed: int = 7) -> Iterator[SampleSources]:
    """Generate the sample into ``data_dir``, start a throwaway PostgreSQL server with the
    orders loaded, and yield the demo spec pointing at both. The server is removed on exit."""
    from sample_data.generate import ORDERS_FILE, generate
    from sample_data.postgres import load_orders, throwaway_postgres

    root = Path(data_dir)
    truth = generate(root, seed=seed)
    with throwaway_postgres() as server:
        loaded = load_orders(server, root / ORDERS_FILE)
        spec = demo_spec(root, server)
        yield SampleSources(root, spec, demo_environment(server, spec), truth, server, loaded)
