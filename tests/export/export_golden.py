"""Small handmade inputs with every quirk the export handles, and the spec that reads them."""
from __future__ import annotations

import csv
import json
import os

NOW = 1700000000  # the export's "now": 2023-11-14T22:13:20Z
T = 1614834367  # 2021-03-04T05:06:07Z

SPEC = {
    "sources": {
        "orders": {"format": "jsonl", "path": "orders.jsonl", "catalog": {"database": "shop", "table": "orders"}},
        "products": {
            "format": "csv", "path": "products.csv", "options": {"multiLine": True, "escape": '"'},
            "catalog": {"database": "shop", "table": "products"},
        },
    },
    "item_ids": {
        "normalize": ["trim", "upper", {"strip_prefix": ["SKU-", "SKU"]}, {"remove_chars": [" ", "-"]}, "strip_leading_zeros"],
        "fuzzy": {"interactions_key": "title", "items_key": "title", "max_distance": 2},
    },
    "datasets": {
        "interactions": {
            "source": "orders",
            "fields": {
                "USER_ID": "customer._id",
                "ITEM_ID": "sku",
                "TIMESTAMP": {"from": "ts", "timestamp": {"formats": ["iso8601", "epoch_seconds", "epoch_millis", "dd/MM/yyyy HH:mm"]}},
                "EVENT_TYPE": "status",
                "EVENT_VALUE": {"from": "amount", "type": "float", "nullable": True},
                "TAGS": {"from": "tags", "categorical": True, "nullable": True},
            },
            "event_types": {"map": {"completed": "purchase", "refunded": "return"}, "drop": ["cancelled"], "unmapped": "reject"},
        },
        "items": {
            "source": "products",
            "fields": {
                "ITEM_ID": "sku",
                "TITLE": {"from": "title", "categorical": True},
                "CATEGORIES": {"from": "categories", "categorical": True, "delimiter": ";"},
                "PRICE": {"from": "price", "type": "double"},
                "STOCK": {"from": "stock", "type": "int"},
                "IN_STOCK": {"from": "in_stock", "type": "boolean"},
                "DESCRIPTION": {"from": "description", "textual": True, "nullable": True},
            },
        },
    },
    "run": {"timestamp_floor": "2015-01-01T00:00:00Z", "max_rejected_share": 1.0,
            "readiness": {"min_interactions": 1, "min_users": 1}},
}


def _order(oid, ts, sku="SKU-0001", user="u1", status="completed", amount="10.5", title=None, tags=None):
    row = {"oid": oid, "customer": {"_id": {"$oid": user}} if user is not None else {"_id": None},
           "sku": sku, "ts": ts, "status": status, "amount": amount, "title": title}
    if tags is not None:
        row["tags"] = tags
    return row


# oid -> (row, expected outcome); outcome is ("written", output values) or a reason / "filtered".
ORDERS = [
    (_order("o01", "2021-03-04T07:06:07+02:00", tags=["web", " promo ", ""]), ("written", ("u1", "1", T, "purchase", 10.5, "web|promo"), "exact")),
    (_order("o02", "1614834367", sku=" sku 1 ", status="Completed"), ("written", ("u1", "1", T, "purchase", 10.5, None), "normalized")),
    (_order("o03", "1614834367000", sku="001", user="u2"), ("written", ("u2", "1", T, "purchase", 10.5, None), "normalized")),
    (_order("o04", {"$date": {"$numberLong": "1614834367000"}}, sku="SKU-0002", user="u2"), ("written", ("u2", "2", T, "purchase", 10.5, None), "exact")),
    (_order("o05", {"$date": "2021-03-04T05:06:07Z"}, sku="SKU-0003", user="u3", status="refunded", amount=None), ("written", ("u3", "3", T, "return", None, None), "exact")),
    (_order("o06", "04/03/2021 05:06", sku="sku-0003", user="u3"), ("written", ("u3", "3", T - 7, "purchase", 10.5, None), "normalized")),
    (_order("o07", "2021-03-04T05:06:07Z", status=" CANCELLED "), ("filtered", None, None)),
    (_order("o08", "2021-03-05T05:06:07Z", sku=None, user="u4", title="Blue  Hatt"), ("written", ("u4", "2", T + 86400, "purchase", 10.5, None), "fuzzy")),
    (_order("o09", "2021-03-06T05:06:07Z", sku="SKU-9999", user="u4"), ("written", ("u4", "9999", T + 2 * 86400, "purchase", 10.5, None), "unmatched")),
    (_order("o10", "2021-03-07T05:06:07Z", user="u5"), ("written", ("u5", "1", T + 3 * 86400, "purchase", 10.5, None), "exact")),
    (_order("o10", "2021-03-07T05:06:07Z", user="u5"), ("duplicate", None, None)),
    (_order("o12", "2021-03-04T05:06:07Z", user=None), ("null_id", None, None)),
    (_order("o13", "2021-03-04T05:06:07Z", sku="X" * 300), ("id_too_long", None, None)),
    (_order("o14", "not a date"), ("unparseable_timestamp", None, None)),
    (_order("o15", "2099-01-01T00:00:00Z"), ("future_timestamp", None, None)),
    (_order("o16", "1999-01-01T00:00:00Z"), ("timestamp_before_floor", None, None)),
    (_order("o17", "2021-03-04T05:06:07Z", amount="12,5"), ("invalid_number", None, None)),
    (_order("o18", "2021-03-04T05:06:07Z", status="lost"), ("unknown_event_type", None, None)),
    (_order("o19", "2021-03-04T05:06:07Z", sku=None, title=None), ("null_id", None, None)),
    (_order("o20", "garbage", user=None), ("null_id", None, None)),  # first rule in priority order wins
    (_order("o21", "2021-03-04T05:06:07Z", tags=["x" * 600, "y" * 600]), ("categorical_too_long", None, None)),
]

PRODUCTS = [
    # sku, title, categories, price, stock, in_stock, description -> expected
    (("SKU-0001", 'Red, "Big" Shirt', "tops; red ;", "9.99", "3", "true", 'Soft\nand, "warm"'),
     ("written", ("1", 'Red, "Big" Shirt', "tops|red", 9.99, 3, True, 'Soft\nand, "warm"'))),
    (("SKU-0002", "Blue Hat", "hats", "5", "1", "No", ""), ("written", ("2", "Blue Hat", "hats", 5.0, 1, False, None))),
    (("SKU-0003", "Café Crème", "food", "2.50", "0", "Y", "ünïcödé ✓ – “quoted”"),
     ("written", ("3", "Café Crème", "food", 2.5, 0, True, "ünïcödé ✓ – “quoted”"))),
    (("SKU-0003", "Café Crème", "food", "2.50", "0", "Y", "ünïcödé ✓ – “quoted”"), ("duplicate", None)),
    (("sku-3", "Café Crème", "food", "3.00", "0", "Y", ""), ("duplicate_id", None)),
    (("SKU-0004", "Bad Price", "x", "abc", "1", "true", ""), ("invalid_number", None)),
    (("SKU-0005", "Half", "x", "1.0", "12.5", "true", ""), ("invalid_number", None)),
    (("SKU-0006", "Maybe", "x", "1.0", "1", "maybe", ""), ("invalid_boolean", None)),
    (("SKU-0007", "Long cats", "a" * 1001, "1.0", "1", "true", ""), ("categorical_too_long", None)),
    (("SKU-0008", "Long text", "x", "1.0", "1", "true", "d" * 20001), ("textual_too_long", None)),
    (("SKU-0009", "Huge stock", "x", "1.0", "99999999999", "1", ""), ("invalid_number", None)),
    (("SKU-0010", "Not a number", "x", "NaN", "1", "0", ""), ("invalid_number", None)),
    (("", "No id", "x", "1.0", "1", "0", ""), ("null_id", None)),
]


def write_inputs(folder: str) -> None:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "orders.jsonl"), "w", encoding="utf-8") as handle:
        for row, _ in ORDERS:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    with open(os.path.join(folder, "products.csv"), "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "title", "categories", "price", "stock", "in_stock", "description"])
        for row, _ in PRODUCTS:
            writer.writerow(row)
