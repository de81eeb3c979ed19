"""The sample shop's next day, for the daily cycle: new orders in PostgreSQL, a few changed
products, a few customers gone.

* ``orders``: a sale day's order lines (the first day after the generated history), written
  by the sync job now; each buyer shops as in their history (their own departments, the
  shop's bestsellers within them), so the day's newest purchases are as predictable as the
  history's and a retrain is judged on like data; plus a few *late* lines: written by a sync transaction that began
  before the previous export read the table and committed after it, so their load time lies
  just before that export's high-water mark (inside the spec's allowance);
* ``products.csv``: a few prices changed (the catalog has no change column: it is exported
  in full every day);
* ``customer_profiles.jsonl``: a few customers erased (they become the export's vanished users).

Deterministic for a seed, like :mod:`sample_data.generate`.
"""
from __future__ import annotations

import csv
import json
import random
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Dict, List, Tuple

from sample_data.generate import (
    CATEGORY_SEPARATOR,
    HISTORY_END,
    ORDER_COLUMNS,
    ORDERS_FILE,
    PRODUCTS_FILE,
    PROFILES_FILE,
    _write_csv,
    normalized_sku,
)
from sample_data.postgres import LOAD_TIME_COLUMN

NEXT_DAY_ORDERS_FILE = "orders-next-day.csv"


@dataclass
class NextDay:
    """What the next day changed (the truth the demo prints and the tests check)."""

    new_lines: int
    late_lines: int
    late_loaded_at: str
    changed_products: List[str] = field(default_factory=list)
    erased_customers: List[str] = field(default_factory=list)

    def as_dict(self) -> Dict[str, object]:
        return asdict(self)


def _valid_customers(data_dir: Path) -> List[str]:
    customers = []
    with open(data_dir / PROFILES_FILE, encoding="utf-8") as handle:
        for line in handle:
            try:
                document = json.loads(line)
            except ValueError:
                continue
            if isinstance(document, dict) and isinstance(document.get("customer_id"), str):
                customers.append(document["customer_id"])
    # Customers with exactly one profile line and a plain id.
    return sorted(c for c in set(customers) if customers.count(c) == 1 and c.startswith("C") and c[1:].isdigit())


def _catalog(data_dir: Path) -> List[Dict[str, str]]:
    with open(data_dir / PRODUCTS_FILE, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [row for row in rows if row["sku"].startswith("SKU-") and row["sku"] == row["sku"].strip() and _is_price(row["price"])]


def _is_price(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _department(product: Dict[str, str]) -> str:
    return product["categories"].split(CATEGORY_SEPARATOR)[0]


def _history_tastes(data_dir: Path, products: List[Dict[str, str]]) -> Tuple[Dict[str, Counter], Counter]:
    """Each customer's purchases by department, and each product's purchases shop-wide."""
    by_key = {normalized_sku(product["sku"]): product for product in products}
    tastes: Dict[str, Counter] = {}
    popularity: Counter = Counter()
    with open(data_dir / ORDERS_FILE, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            product = by_key.get(normalized_sku(row["sku"] or ""))
            if product is None or not row["customer_id"]:
                continue
            tastes.setdefault(row["customer_id"].strip(), Counter())[_department(product)] += 1
            popularity[product["sku"]] += 1
    return tastes, popularity


def next_day(data_dir, server, seed: int = 7, lines: int = 1500, late: int = 12, changed_products: int = 5,
             erased_customers: int = 2) -> NextDay:
    """Write the next day into ``server``'s orders table and the files under ``data_dir``."""
    root = Path(data_dir)
    rng = random.Random(seed * 7919 + 1)
    customers = _valid_customers(root)
    products = _catalog(root)
    erased = sorted(rng.sample(customers, erased_customers))
    tastes, popularity = _history_tastes(root, products)
    buyers = [c for c in customers if c not in erased and c in tastes]
    activity = [sum(tastes[c].values()) for c in buyers]
    by_department: Dict[str, List[Dict[str, str]]] = {}
    for product in products:
        by_department.setdefault(_department(product), []).append(product)

    def order_line(number: int, moment) -> list:
        buyer = rng.choices(buyers, weights=activity)[0]
        departments, counts = zip(*sorted(tastes[buyer].items()))
        shelf = by_department[rng.choices(departments, weights=counts)[0]]
        product = rng.choices(shelf, weights=[popularity[p["sku"]] + 1 for p in shelf])[0]
        return ["SO-N%06d" % number, 1, buyer, product["sku"], product["title"], "completed", 1,
                product["price"], "web", moment.strftime("%Y-%m-%dT%H:%M:%SZ")]

    day = [order_line(n, HISTORY_END + timedelta(seconds=int(n * 86400 / lines))) for n in range(lines)]
    # Late lines: orders of the previous evening, held up in a sync transaction.
    held = [order_line(lines + n, HISTORY_END - timedelta(hours=2, minutes=n)) for n in range(late)]
    header = [name for name, _ in ORDER_COLUMNS]
    _write_csv(root / NEXT_DAY_ORDERS_FILE, header, day + held)
    names = ", ".join('"%s"' % name for name in header)
    # The day's lines get their load time from the database (now); the late ones are
    # stamped 20 minutes before the previous export's high-water mark.
    high = server.psql('SELECT max("%s") FROM orders' % LOAD_TIME_COLUMN).strip()
    late_loaded_at = server.psql("SELECT (TIMESTAMPTZ '%s' - INTERVAL '20 minutes')::text" % high).strip()
    _copy_lines(server, root / NEXT_DAY_ORDERS_FILE, names, lines, late_loaded_at)

    changed = sorted(rng.sample([p["sku"] for p in products], changed_products))
    _change_prices(root / PRODUCTS_FILE, set(changed))
    _erase_profiles(root / PROFILES_FILE, set(erased))
    return NextDay(lines, late, late_loaded_at, changed, erased)


def _copy_lines(server, path: Path, names: str, day_lines: int, late_loaded_at: str) -> None:
    """COPY the file into the orders table; the lines after ``day_lines`` get the late load time."""
    server.psql("DROP TABLE IF EXISTS incoming_lines; CREATE UNLOGGED TABLE incoming_lines AS SELECT %s FROM orders WITH NO DATA" % names)
    server.psql("COPY incoming_lines FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')", stdin_path=str(path))
    late_from = "SO-N%06d" % day_lines
    server.psql(
        "BEGIN; "
        "INSERT INTO orders (%s) SELECT * FROM incoming_lines WHERE order_id < '%s'; "
        "INSERT INTO orders (%s, \"%s\") SELECT *, TIMESTAMPTZ '%s' FROM incoming_lines WHERE order_id >= '%s'; "
        "DROP TABLE incoming_lines; COMMIT;" % (names, late_from, names, LOAD_TIME_COLUMN, late_loaded_at, late_from))


def _change_prices(path: Path, skus: set) -> None:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    for row in rows[1:]:
        if row and row[0] in skus:
            row[4] = "%.2f" % (float(row[4]) * 0.8)  # a 20% markdown
    _write_csv(path, rows[0], rows[1:])


def _erase_profiles(path: Path, customers: set) -> None:
    with open(path, encoding="utf-8") as handle:
        lines = handle.readlines()
    kept = []
    for line in lines:
        try:
            document = json.loads(line)
        except ValueError:
            document = None
        if isinstance(document, dict) and document.get("customer_id") in customers:
            continue
        kept.append(line)
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(kept)
