"""Where every piece of an export lives, relative to the export root.

    <export_root>/exports/<run_id>/interactions/        Personalize CSV files only
    <export_root>/exports/<run_id>/items/
    <export_root>/exports/<run_id>/users/
    <export_root>/exports/<run_id>/schemas/<dataset>.json
    <export_root>/exports/<run_id>/reports/<dataset>.json
    <export_root>/exports/<run_id>/manifest.json
    <export_root>/exports/<run_id>/state/user_ids/      every user id in the source (next run's vanished users)
    <export_root>/exports/<run_id>/vanished_users.csv   users of the previous export gone from the source
    <export_root>/exports/latest.json                   pointer to the last good export
    <export_root>/rejected/<run_id>/<dataset>/          rejected rows (JSON lines + reason)

Rejected rows sit under a prefix of their own so that a bucket lifecycle rule can give
them a shorter retention than the exports (they may hold raw source values).

Stdlib only, Python 3.9 compatible.
"""
from __future__ import annotations

import datetime as _dt
import re
import secrets
from typing import Optional

from personalize_export.storage import join

MANIFEST = "manifest.json"
LATEST = "latest.json"
# UTC timestamp + random suffix: unique, and lexical order is time order.
RUN_ID_PATTERN = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$")


def new_run_id(now: Optional[_dt.datetime] = None, suffix: Optional[str] = None) -> str:
    moment = now or _dt.datetime.now(_dt.timezone.utc)
    if moment.tzinfo is not None:
        moment = moment.astimezone(_dt.timezone.utc)
    return "%s-%s" % (moment.strftime("%Y%m%dT%H%M%SZ"), suffix or secrets.token_hex(3))


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id):
        raise ValueError("run_id %r does not look like 20240131T235959Z-a1b2c3 (UTC time + 6 hex digits)" % (run_id,))
    return run_id


def exports_root(export_root: str) -> str:
    return join(export_root, "exports")


def run_root(export_root: str, run_id: str) -> str:
    return join(exports_root(export_root), check_run_id(run_id))


def dataset_prefix(export_root: str, run_id: str, dataset: str) -> str:
    return join(run_root(export_root, run_id), dataset)


def schema_path(export_root: str, run_id: str, dataset: str) -> str:
    return join(run_root(export_root, run_id), "schemas", dataset + ".json")


def rejected_run_root(export_root: str, run_id: str) -> str:
    return join(export_root, "rejected", check_run_id(run_id))


def rejected_prefix(export_root: str, run_id: str, dataset: str) -> str:
    return join(rejected_run_root(export_root, run_id), dataset)


def report_path(export_root: str, run_id: str, dataset: str) -> str:
    return join(run_root(export_root, run_id), "reports", dataset + ".json")


def user_ids_prefix(export_root: str, run_id: str) -> str:
    return join(run_root(export_root, run_id), "state", "user_ids")


def vanished_users_path(export_root: str, run_id: str) -> str:
    return join(run_root(export_root, run_id), "vanished_users.csv")


def manifest_path(export_root: str, run_id: str) -> str:
    return join(run_root(export_root, run_id), MANIFEST)


def latest_path(export_root: str) -> str:
    return join(exports_root(export_root), LATEST)


def utc_now_iso(now: Optional[_dt.datetime] = None) -> str:
    moment = now or _dt.datetime.now(_dt.timezone.utc)
    return moment.astimezone(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
