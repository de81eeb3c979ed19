"""Seeded generator for the embedded retail scenario.

It writes three sources, the way a mid-sized shop really holds its history:

* ``orders.csv``: order lines exported from the shop's relational database
  (loaded into PostgreSQL by :mod:`sample_data.postgres`);
* ``products.csv``: the product catalog as a CSV file;
* ``customer_profiles.jsonl``: customer profiles as a document-store export in
  MongoDB extended JSON;

plus ``expected.json``, the ground truth of every quirk that was injected, so the
tests and the demo can check that each row is accounted for.

Customers have taste: each favours one or two departments (a product's first
categories), and most of their purchases follow the popularity curve within those
departments; the rest come from the shop-wide long tail or re-order a few staples.

The same seed always gives byte-identical files; only :mod:`random.Random` seeded
from the argument is used, and every date is fixed (never "now").

Run: ``python -m sample_data.generate --out DIR --seed 7``.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

UTC = timezone.utc

ORDERS_FILE = "orders.csv"
PRODUCTS_FILE = "products.csv"
PROFILES_FILE = "customer_profiles.jsonl"
EXPECTED_FILE = "expected.json"

# The orders table as the shop's database defines it (PostgreSQL types). There is no
# primary key: the table is a replica that a flaky sync job has written some lines
# into twice, which is where the exact duplicates come from.
ORDER_COLUMNS: Tuple[Tuple[str, str], ...] = (
    ("order_id", "text"),
    ("line_no", "integer"),
    ("customer_id", "text"),
    ("sku", "text"),
    ("product_title", "text"),
    ("status", "text"),
    ("quantity", "integer"),
    ("amount", "numeric(10,2)"),
    ("channel", "text"),
    # Text, not timestamptz: each sales channel wrote its own format into it.
    ("ordered_at", "text"),
)
PRODUCT_COLUMNS = ("sku", "title", "categories", "brand", "price", "created_at", "description", "in_stock")

# The window the history covers. Fixed, so the output never depends on the clock.
HISTORY_START = datetime(2023, 6, 1, tzinfo=UTC)
HISTORY_END = datetime(2025, 6, 1, tzinfo=UTC)
# The demo spec rejects timestamps before this floor (glue/sample_data/export_spec.yaml).
TIMESTAMP_FLOOR = datetime(2015, 1, 1, tzinfo=UTC)

# Each channel's point-of-sale system wrote `ordered_at` in its own way.
CHANNEL_TIMESTAMP_FORMATS = {
    "web": "iso8601_offset",  # 2024-03-05T14:22:11+01:00 (or Z)
    "app": "epoch_seconds",  # 1709648531
    "partner": "epoch_millis",  # 1709648531123
    "store": "custom",  # 05/03/2024 14:22:11, UTC, written by the till software
}
CUSTOM_TIMESTAMP_FORMAT = "%d/%m/%Y %H:%M:%S"
CATALOG_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

# The catalog writes SKUs as SKU-<5 digits>; orders write the same SKU in several ways.
SKU_PREFIX = "SKU-"
SKU_DIGITS = 5
# Multi-valued categories in the catalog CSV are separated by this character.
CATEGORY_SEPARATOR = ";"
MAX_ID_LENGTH = 256

# Order statuses. Cancelled and refunded lines are not purchases: the demo spec
# drops them, so they are counted as filtered, not rejected.
PURCHASE_STATUSES = ("completed", "shipped")
DROPPED_STATUSES = ("cancelled", "refunded")


@dataclass(frozen=True)
class Scenario:
    """Size of the generated history. The defaults pass Personalize's minimums with room."""

    customers: int = 800
    products: int = 300
    # Profiles of people who registered but never ordered.
    profiles_without_orders: int = 40
    # Share of ordering customers with no profile in the document store.
    customers_without_profile: float = 0.04
    zipf_exponent: float = 1.1
    one_time_buyer_share: float = 0.15
    # Taste: where each purchase comes from. The rest comes from the customer's
    # favourite departments, along the popularity curve within them.
    global_pick_share: float = 0.15  # the shop-wide popularity curve (long tail included)
    staple_pick_share: float = 0.08  # a re-order of one of the customer's staples
    two_department_share: float = 0.6  # customers with two favourite departments (else one)
    staples_per_customer: int = 2
    duplicate_order_lines: int = 30
    fuzzy_title_lines: int = 12
    duplicate_products: int = 3
    duplicate_profiles: int = 2


# -- titles ------------------------------------------------------------------------

# Hand-written titles carrying the characters that break naive CSV handling:
# non-ASCII letters, a 4-byte emoji, double quotes and embedded commas.
SPECIAL_TITLES: Tuple[Tuple[str, str], ...] = (
    ('12" Cast-Iron Skillet', "kitchen"),
    ('The "Everyday" Mug, 350 ml', "kitchen"),
    ("Pens, Blue, Pack of 10", "office"),
    ("Crème Brûlée Torch", "kitchen"),
    ("Café au Lait Bowls, Set of 2", "kitchen"),
    ("Smörgåsbord Serving Board", "kitchen"),
    ("Jalapeño Hot Sauce, 3-Pack", "pantry"),
    ('Piñata "Fiesta" Llama', "toys"),
    ("Müsli Jar with Lid", "kitchen"),
    ("日本茶 Sencha Tea Set", "pantry"),
    ("Ångström Desk Lamp", "home"),
    ("Naïve Art Poster, 50×70 cm", "home"),
    ("São Paulo Coffee Beans, 1 kg", "pantry"),
    ("Łódź Linen Napkins, 4 pcs", "home"),
    ('Kids\' Rain Boots "Puddle", Size 8', "outdoor"),
    ("🌱 Seed Starter Kit", "garden"),
)
ADJECTIVES = (
    "Classic", "Everyday", "Premium", "Compact", "Rustic", "Nordic", "Vintage", "Ultralight",
    "Heritage", "Urban", "Coastal", "Alpine", "Studio", "Artisan", "Minimalist", "Deluxe",
)
MATERIALS = (
    "Oak", "Bamboo", "Linen", "Merino", "Ceramic", "Stainless Steel", "Walnut", "Cotton",
    "Glass", "Copper", "Leather", "Wool", "Enamel", "Recycled",
)
NOUNS: Dict[str, Tuple[str, ...]] = {
    "kitchen": ("Saucepan", "Chef's Knife", "Cutting Board", "Teapot", "Salad Bowl", "Spice Rack", "Colander"),
    "home": ("Throw Blanket", "Cushion Cover", "Table Lamp", "Wall Clock", "Flower Vase", "Doormat"),
    "outdoor": ("Backpack", "Water Bottle", "Camping Stove", "Hiking Socks", "Rain Jacket", "Picnic Set"),
    "office": ("Notebook", "Fountain Pen", "Desk Organizer", "Bookends", "Letter Tray"),
    "garden": ("Watering Can", "Planter", "Pruning Shears", "Bird Feeder", "Garden Kneeler"),
    "toys": ("Puzzle", "Building Blocks", "Kite", "Wooden Train", "Plush Bear"),
    "pantry": ("Olive Oil", "Granola", "Honey Jar", "Loose Leaf Tea", "Spice Blend"),
}
# Products that belong to a second department too: they drift into the baskets of
# customers who prefer either one. Keyed by noun, or by title for the hand-written ones.
SECOND_DEPARTMENT: Dict[str, str] = {
    "Picnic Set": "kitchen", "Water Bottle": "kitchen", "Bird Feeder": "outdoor", "Planter": "home",
    "Table Lamp": "office", "Wall Clock": "office", "Bookends": "home", "Kite": "outdoor",
    "Spice Blend": "kitchen", "Spice Rack": "pantry", "Loose Leaf Tea": "kitchen",
    "Ångström Desk Lamp": "office", "日本茶 Sencha Tea Set": "kitchen", 'Kids\' Rain Boots "Puddle", Size 8': "toys",
}
DEPARTMENTS: Tuple[str, ...] = tuple(sorted(NOUNS))
SIZES = ("", "", "", ", Small", ", Large", ", Set of 2", ", Set of 4")
TAGS = ("gift ideas", "bestseller", "eco", "new arrival", "sale")
BRANDS = (
    "Björn & Co", "Nøk", "Maison Lumière", "Ironwood", "Fieldstone", "Kettle & Crane", "Northway",
    "Tidewater", "Sakura Works", "Hearth", "Pinecrest", "Otto Brandt", "Casa Verde", "Brightline",
    "Copperleaf", "Dalarna", "Stonebridge", "Wildflower", "Atlas Supply", "Quill",
)
DESCRIPTION_SENTENCES = (
    "Made to last, with a finish that ages well.",
    'Reviewers call it "the one thing I would buy again".',
    "Dishwasher safe, oven safe to 220 °C.",
    "Ships in plastic-free packaging.",
    "Designed in Malmö, made in Portugal.",
    "Pairs well with the rest of the range, sold separately.",
    "Light, sturdy, and easy to clean.",
    "Each piece is slightly different: that is the point.",
    "Backed by a 2-year warranty, no questions asked.",
    "Fits in a standard 60 cm cupboard.",
)

CITIES = (
    ("München", "DE"), ("Berlin", "DE"), ("Zürich", "CH"), ("Kraków", "PL"), ("Malmö", "SE"),
    ("Besançon", "FR"), ("Lyon", "FR"), ("Reykjavík", "IS"), ("São Paulo", "BR"), ("Porto", "PT"),
    ("Leeds", "GB"), ("Dublin", "IE"), ("Toronto", "CA"), ("Austin", "US"), ("Osaka", "JP"),
)
INTERESTS = (
    "cooking", "running", "gardening", "coffee", "camping", "reading", "design", "yoga",
    "travel", "crafts", "board games", "tea",
)
# The profile interests a customer who favours a department tends to declare.
DEPARTMENT_INTERESTS: Dict[str, Tuple[str, ...]] = {
    "kitchen": ("cooking", "coffee"),
    "pantry": ("tea", "coffee", "cooking"),
    "outdoor": ("camping", "running", "travel"),
    "garden": ("gardening",),
    "office": ("reading", "design"),
    "home": ("design", "yoga"),
    "toys": ("board games", "crafts"),
}
GENDERS = ("female", "male", "non-binary", "unspecified")
LOYALTY_TIERS = ("bronze", "silver", "gold", "platinum")


def _levenshtein_within(left: str, right: str, limit: int) -> int:
    """Edit distance, stopping early once it exceeds ``limit`` (enough to prove uniqueness)."""
    if abs(len(left) - len(right)) > limit:
        return limit + 1
    previous = list(range(len(right) + 1))
    for i, left_char in enumerate(left, 1):
        current = [i]
        for j, right_char in enumerate(right, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (left_char != right_char)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


# -- data model ----------------------------------------------------------------


@dataclass
class Product:
    number: int
    title: str
    department: str
    categories: List[str]
    brand: str
    price: str
    created_at: datetime
    description: str
    in_stock: bool

    @property
    def sku(self) -> str:
        return f"{SKU_PREFIX}{self.number:0{SKU_DIGITS}d}"


@dataclass
class OrderLine:
    order_id: str
    line_no: int
    customer_id: Optional[str]
    sku: Optional[str]
    product_title: str
    status: str
    quantity: int
    amount: str
    channel: str
    ordered_at: str

    def row(self) -> list:
        return [self.order_id, self.line_no, self.customer_id, self.sku, self.product_title, self.status,
                self.quantity, self.amount, self.channel, self.ordered_at]


# -- rendering -----------------------------------------------------------------


def _csv_field(value) -> str:
    """Quote every non-null value, leave NULL empty.

    PostgreSQL's COPY (FORMAT csv) reads an unquoted empty field as NULL and a
    quoted one as the empty string, so both kinds of missing id survive the load.
    """
    if value is None:
        return ""
    return '"' + str(value).replace('"', '""') + '"'


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(header) + "\n")
        for row in rows:
            handle.write(",".join(_csv_field(value) for value in row) + "\n")


def render_timestamp(moment: datetime, style: str, rng: random.Random) -> str:
    """Write ``moment`` the way one sales channel's system does."""
    epoch = int(moment.timestamp())
    if style == "iso8601_offset":
        offset_minutes = rng.choice((0, 0, 60, 120, -300, 330))
        local = moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
        text = local.isoformat(timespec="seconds")
        return text.replace("+00:00", "Z") if offset_minutes == 0 and rng.random() < 0.5 else text
    if style == "epoch_seconds":
        return str(epoch)
    if style == "epoch_millis":
        return str(epoch * 1000 + rng.randrange(1000))
    if style == "custom":
        return moment.astimezone(UTC).strftime(CUSTOM_TIMESTAMP_FORMAT)
    raise ValueError(f"unknown timestamp style {style!r}")


def render_sku(product: Product, variant: str) -> str:
    """One of the ways order systems have written the catalog SKU."""
    digits = f"{product.number:0{SKU_DIGITS}d}"
    return {
        "canonical": product.sku,  # SKU-04213
        "lowercase": product.sku.lower(),  # sku-04213
        "whitespace": f" {product.sku}  ",  # padded by a fixed-width export
        "no_prefix": digits,  # 04213
        "unpadded": f"{SKU_PREFIX}{product.number}",  # SKU-4213
        "bare_number": str(product.number),  # 4213
    }[variant]


def normalized_sku(raw: str) -> str:
    """The reconciliation key the demo spec's rules produce: trim, upper-case, drop the prefix and zero padding."""
    key = raw.strip().upper()
    if key.startswith(SKU_PREFIX):
        key = key[len(SKU_PREFIX):]
    return key.lstrip("0") or "0"


SKU_VARIANT_WEIGHTS = (("canonical", 70), ("lowercase", 8), ("whitespace", 6), ("no_prefix", 6), ("unpadded", 5), ("bare_number", 5))


def _misspell(title: str, rng: random.Random) -> str:
    """One typo (a dropped or doubled letter) inside a word.

    The first and last three characters stay intact: a fuzzy matcher may only compare
    titles that share their first or last characters, as a real one does to avoid a
    full cross join.
    """
    positions = [i for i in range(3, len(title) - 3) if title[i].isalpha() and title[i - 1].isalpha()]
    position = rng.choice(positions)
    if rng.random() < 0.5:
        return title[:position] + title[position + 1:]
    return title[:position] + title[position] + title[position:]


# -- the generator -------------------------------------------------------------


class _Generator:
    def __init__(self, seed: int, scenario: Scenario):
        self.seed = seed
        self.scenario = scenario
        self.rng = random.Random(seed)
        self.truth: Dict[str, dict] = {}
        # Each customer's favourite departments, strongest first.
        self.favourite_departments: Dict[str, List[str]] = {}

    def pick_favourite_departments(self, customer: str) -> List[str]:
        count = 2 if self.rng.random() < self.scenario.two_department_share else 1
        self.favourite_departments[customer] = self.rng.sample(DEPARTMENTS, count)
        return self.favourite_departments[customer]

    # products ------------------------------------------------------------------

    def products(self) -> List[Product]:
        rng = self.rng
        count = self.scenario.products
        titles: List[Tuple[str, List[str]]] = [(title, [department] + ([SECOND_DEPARTMENT[title]] if title in SECOND_DEPARTMENT else []))
                                               for title, department in SPECIAL_TITLES]
        seen = {title for title, _ in titles}
        while len(titles) < count:
            department = rng.choice(DEPARTMENTS)
            noun = rng.choice(NOUNS[department])
            title = f"{rng.choice(ADJECTIVES)} {rng.choice(MATERIALS)} {noun}{rng.choice(SIZES)}"
            if title not in seen:
                seen.add(title)
                titles.append((title, [department] + ([SECOND_DEPARTMENT[noun]] if noun in SECOND_DEPARTMENT else [])))
        rng.shuffle(titles)
        # Below 10000 the zero padding shows, so order systems that drop it write a different string.
        numbers = rng.sample(range(10, 20000), count)
        products = []
        for (title, departments), number in zip(titles, numbers):
            tags = rng.sample(TAGS, rng.choice((0, 0, 1, 1, 2)))
            brand = rng.choice(BRANDS)
            price = round(min(400.0, max(2.5, rng.lognormvariate(3.2, 0.8))), 2)
            description = " ".join([f"{title} by {brand}."] + rng.sample(DESCRIPTION_SENTENCES, rng.randint(1, 3)))
            created = datetime(2018, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(int((HISTORY_START - datetime(2018, 1, 1, tzinfo=UTC)).total_seconds())))
            products.append(Product(number, title, departments[0], departments + tags, brand, f"{price:.2f}", created, description, rng.random() < 0.85))
        return products

    def catalog_rows(self, products: List[Product]) -> List[list]:
        """Catalog CSV rows with the catalog's own quirks (and its truth)."""
        rng = self.rng
        in_stock_spellings = {True: ("true", "True", "TRUE"), False: ("false", "False", "FALSE")}

        def row(product: Product, sku: Optional[str] = None, price: Optional[str] = None) -> list:
            return [product.sku if sku is None else sku, product.title, CATEGORY_SEPARATOR.join(product.categories), product.brand,
                    product.price if price is None else price, product.created_at.strftime(CATALOG_TIMESTAMP_FORMAT),
                    product.description, rng.choice(in_stock_spellings[product.in_stock])]

        rows = [row(product) for product in products]
        # A few catalog SKUs were hand-typed: lower case, stray whitespace.
        variant_indexes = rng.sample(range(len(rows)), 4)
        for index, variant in zip(variant_indexes, ("lowercase", "whitespace", "lowercase", "whitespace")):
            rows[index][0] = render_sku(products[index], variant)
        # Genuinely bad rows: products nobody ordered, so only the catalog loses them.
        spare_numbers = [n for n in range(20000, 20100) if n not in {p.number for p in products}]
        broken = []
        for number, price in zip(spare_numbers, ("N/A", "19,99")):
            product = Product(number, f"Discontinued Sample {number}", "home", ["home"], rng.choice(BRANDS), "0", HISTORY_START - timedelta(days=400), "Placeholder row from a supplier feed.", False)
            broken.append(row(product, price=price))
        nameless = Product(spare_numbers[2], "Untitled Draft Product", "home", ["home"], rng.choice(BRANDS), "9.99", HISTORY_START - timedelta(days=300), "Draft that was never published.", False)
        broken.append(row(nameless, sku=""))
        duplicates = [list(rows[i]) for i in rng.sample(range(len(rows)), self.scenario.duplicate_products)]
        for extra in broken + duplicates:
            rows.insert(rng.randrange(len(rows) + 1), extra)
        self.truth["products"] = {
            "file": PRODUCTS_FILE,
            "rows": len(rows),
            "distinct_products": len(products),
            "sku_variants": {"lowercase": 2, "whitespace": 2},
            "categories_separator": CATEGORY_SEPARATOR,
            "multi_category_products": sum(1 for p in products if len(p.categories) > 1),
            "in_stock_spellings": sorted({r[7] for r in rows}),
            "titles_with_double_quotes": sum(1 for p in products if '"' in p.title),
            "titles_with_commas": sum(1 for p in products if "," in p.title),
            "titles_with_non_ascii": sum(1 for p in products if not p.title.isascii()),
            "bad_rows": {"invalid_price": 2, "empty_sku": 1, "exact_duplicate": self.scenario.duplicate_products},
        }
        return rows

    # customers and orders ---------------------------------------------------------

    def customer_ids(self) -> List[str]:
        numbers = sorted(self.rng.sample(range(1000, 999999), self.scenario.customers + self.scenario.profiles_without_orders))
        return [f"C{n:06d}" for n in numbers]

    def order_lines(self, products: List[Product], customers: List[str]) -> List[OrderLine]:
        rng = self.rng
        scenario = self.scenario
        # Long tail: popularity follows a Zipf law over a random ranking of the products.
        ranking = list(products)
        rng.shuffle(ranking)
        weights = [1.0 / (rank ** scenario.zipf_exponent) for rank in range(1, len(ranking) + 1)]

        def curve(members: List[Tuple[Product, float]]) -> Tuple[List[Product], List[float]]:
            cumulative, total = [], 0.0
            for _, weight in members:
                total += weight
                cumulative.append(total)
            return [product for product, _ in members], cumulative

        # The same curve restricted to each department: what a customer who favours it
        # buys is the department's own bestsellers, then its long tail.
        shop_curve = curve(list(zip(ranking, weights)))
        department_curves = {
            department: curve([(product, weight) for product, weight in zip(ranking, weights) if department in product.categories])
            for department in DEPARTMENTS
        }

        def popular(within: Tuple[List[Product], List[float]] = shop_curve) -> Product:
            return rng.choices(within[0], cum_weights=within[1], k=1)[0]

        window = int((HISTORY_END - HISTORY_START).total_seconds())
        channels = sorted(CHANNEL_TIMESTAMP_FORMATS)
        orders = []  # (moment, customer, channel, status, [products])
        sources = {"favourite_departments": 0, "shop_wide": 0, "staples": 0}
        for customer in customers:
            if rng.random() < scenario.one_time_buyer_share:
                order_count = 1
            else:
                order_count = max(2, int(rng.lognormvariate(2.75, 0.6)))
            favourites = [department_curves[d] for d in self.pick_favourite_departments(customer)]
            # The first favourite department gets two thirds of the taste-driven purchases.
            favourite_weights = (2, 1)[: len(favourites)]
            staples = [popular(favourites[0]) for _ in range(scenario.staples_per_customer)]
            home_channel = rng.choice(channels)
            moments = sorted(rng.sample(range(window), order_count))  # distinct seconds per customer
            for offset in moments:
                size = rng.choices((1, 2, 3, 4, 5), weights=(35, 30, 18, 10, 7))[0]
                basket: List[Product] = []
                while len(basket) < size:
                    draw = rng.random()
                    if draw < scenario.staple_pick_share:
                        source, pick = "staples", rng.choice(staples)
                    elif draw < scenario.staple_pick_share + scenario.global_pick_share:
                        source, pick = "shop_wide", popular()
                    else:
                        source, pick = "favourite_departments", popular(rng.choices(favourites, weights=favourite_weights)[0])
                    if pick not in basket:  # one line per product and order
                        sources[source] += 1
                        basket.append(pick)
                channel = home_channel if rng.random() < 0.7 else rng.choice(channels)
                status = rng.choices(("completed", "shipped", "cancelled"), weights=(86, 6, 8))[0]
                orders.append((HISTORY_START + timedelta(seconds=offset), customer, channel, status, basket))
        orders.sort(key=lambda order: (order[0], order[1]))

        variant_names = [name for name, _ in SKU_VARIANT_WEIGHTS]
        variant_weights = [weight for _, weight in SKU_VARIANT_WEIGHTS]
        lines: List[OrderLine] = []
        line_products: List[Product] = []
        for number, (moment, customer, channel, status, basket) in enumerate(orders, 1):
            ordered_at = render_timestamp(moment, CHANNEL_TIMESTAMP_FORMATS[channel], rng)
            for line_no, product in enumerate(basket, 1):
                line_status = "refunded" if status == "completed" and rng.random() < 0.05 else status
                quantity = rng.choices((1, 2, 3), weights=(85, 12, 3))[0]
                amount = f"{quantity * float(product.price):.2f}"
                sku = render_sku(product, rng.choices(variant_names, weights=variant_weights)[0])
                lines.append(OrderLine(f"SO-{number:07d}", line_no, customer, sku, product.title, line_status, quantity, amount, channel, ordered_at))
                line_products.append(product)
        self._inject_order_quirks(lines, line_products, products, customers)
        favourite_counts: Dict[str, int] = {}
        for customer in customers:
            for department in self.favourite_departments[customer]:
                favourite_counts[department] = favourite_counts.get(department, 0) + 1
        self.truth["orders"]["taste"] = {
            # Clean order lines (before the injected bad rows) by where the pick came from.
            "line_sources": sources,
            "customers_by_favourite_department": favourite_counts,
            "customers_with_two_favourite_departments": sum(1 for c in customers if len(self.favourite_departments[c]) == 2),
        }
        return lines

    def _inject_order_quirks(self, lines: List[OrderLine], line_products: List[Product], products: List[Product], customers: List[str]) -> None:
        rng = self.rng
        scenario = self.scenario
        truth: dict = {
            "file": ORDERS_FILE,
            "clean_lines": len(lines),
            "by_status": {},
            "by_channel": {},
            "sku_variants": {},
        }
        for line in lines:
            truth["by_status"][line.status] = truth["by_status"].get(line.status, 0) + 1
            truth["by_channel"][line.channel] = truth["by_channel"].get(line.channel, 0) + 1
        for line, product in zip(lines, line_products):
            variant = next(name for name, _ in SKU_VARIANT_WEIGHTS if render_sku(product, name) == line.sku)
            truth["sku_variants"][variant] = truth["sku_variants"].get(variant, 0) + 1

        # Repeat buyers: customers with several orders, some buying the same product again.
        orders_per_customer: Dict[str, set] = {}
        purchases_per_pair: Dict[Tuple[str, int], set] = {}
        for line, product in zip(lines, line_products):
            orders_per_customer.setdefault(line.customer_id, set()).add(line.order_id)
            if line.status in PURCHASE_STATUSES:
                purchases_per_pair.setdefault((line.customer_id, product.number), set()).add(line.order_id)
        truth["customers_with_repeat_orders"] = sum(1 for orders in orders_per_customer.values() if len(orders) > 1)
        truth["repeat_purchase_pairs"] = sum(1 for orders in purchases_per_pair.values() if len(orders) > 1)
        popularity: Dict[int, int] = {}
        for product in line_products:
            popularity[product.number] = popularity.get(product.number, 0) + 1
        ranked = sorted(popularity.values(), reverse=True)
        truth["top_10_percent_products_line_share"] = round(sum(ranked[: max(1, len(products) // 10)]) / len(line_products), 3)
        truth["products_never_ordered"] = len(products) - len(popularity)

        purchasable = [i for i, line in enumerate(lines) if line.status == "completed" and line.sku == line_products[i].sku]

        # No SKU, a mistyped title: only the fuzzy title match can recover the item.
        # Pick products whose typo'd title is still unambiguous (far from every other title).
        bound = 2
        titles = [p.title for p in products]
        fuzzy_products: Dict[int, str] = {}
        candidates = sorted({line_products[i].number for i in purchasable})
        rng.shuffle(candidates)
        by_number = {p.number: p for p in products}
        lines_of: Dict[int, List[int]] = {}
        for i in purchasable:
            lines_of.setdefault(line_products[i].number, []).append(i)
        for number in candidates:
            if len(fuzzy_products) * 2 >= scenario.fuzzy_title_lines:
                break
            product = by_number[number]
            typo = _misspell(product.title, rng)
            nearest_other = min(_levenshtein_within(typo.lower(), other.lower(), 2 * bound) for other in titles if other != product.title)
            # Two lines per product: one bought once gives one line, and the count would fall short.
            if nearest_other > 2 * bound and len(lines_of[number]) >= 2:
                fuzzy_products[number] = typo
        fuzzy_lines = []
        for number, typo in sorted(fuzzy_products.items()):
            for index in lines_of[number][:2]:
                lines[index].sku = None
                lines[index].product_title = typo
                fuzzy_lines.append({"order_id": lines[index].order_id, "line_no": lines[index].line_no, "written_title": typo, "sku": by_number[number].sku})
        fuzzy_indexes = {i for i in purchasable if lines[i].sku is None}

        # Exact duplicates of valid purchase lines, as a re-run sync job would write them.
        duplicate_sources = rng.sample(sorted(set(purchasable) - fuzzy_indexes), scenario.duplicate_order_lines)
        extras: List[OrderLine] = [OrderLine(**vars(lines[i])) for i in duplicate_sources]

        # Genuinely bad rows, each otherwise valid, each breaking exactly one rule.
        template_product = by_number[candidates[-1]]
        bad_counter = [0]

        def bad_line(customer_id: Optional[str], ordered_at: str, channel: str = "web", sku: Optional[str] = None, title: Optional[str] = None) -> OrderLine:
            bad_counter[0] += 1
            return OrderLine(f"SO-9{bad_counter[0]:06d}", 1, customer_id, template_product.sku if sku is None and title is None else sku,
                             template_product.title if title is None else title, "completed", 1, template_product.price, channel, ordered_at)

        some_time = HISTORY_START + timedelta(days=200, hours=5)
        iso = render_timestamp(some_time, "iso8601_offset", rng)
        a_customer = customers[len(customers) // 2]
        bad = {
            "null_customer_id": [bad_line(None, iso), bad_line(None, render_timestamp(some_time + timedelta(hours=1), "epoch_seconds", rng), "app")],
            "empty_customer_id": [bad_line("", iso)],
            "overlong_customer_id": [bad_line("C" + "9" * (MAX_ID_LENGTH + 43), iso)],
            "unparseable_timestamp": [bad_line(a_customer, "unknown"), bad_line(a_customer, "yesterday", "store")],
            "future_timestamp": [bad_line(a_customer, "2099-01-01T09:30:00+00:00")],
            "timestamp_before_floor": [bad_line(a_customer, "0", "app")],
            "no_sku_unknown_title": [bad_line(a_customer, render_timestamp(some_time + timedelta(hours=7), "iso8601_offset", rng), sku=None, title="Gift Wrapping Service")],
        }
        for rows in bad.values():
            extras.extend(rows)
        for extra in extras:
            lines.insert(rng.randrange(len(lines) + 1), extra)

        truth.update({
            "rows": len(lines),
            "fuzzy_title_lines": fuzzy_lines,
            "fuzzy_match_max_distance": bound,
            "bad_rows": {kind: len(rows) for kind, rows in bad.items()},
            "exact_duplicate": len(duplicate_sources),
            # Lines Personalize gets: purchases, minus the injected bad rows and duplicates.
            "expected_interactions": sum(truth["by_status"].get(s, 0) for s in PURCHASE_STATUSES),
            "expected_filtered": sum(truth["by_status"].get(s, 0) for s in DROPPED_STATUSES),
        })
        self.truth["orders"] = truth

    # profiles ------------------------------------------------------------------

    def _interests(self, customer: str) -> List[str]:
        """What the customer declared: mostly their favourite departments' topics, some noise, sometimes nothing."""
        rng = self.rng
        if rng.random() < 0.12:
            return []
        declared = {rng.choice(DEPARTMENT_INTERESTS[department]) for department in self.favourite_departments[customer]}
        declared.update(rng.sample(INTERESTS, rng.choice((0, 0, 1, 1, 2))))
        return sorted(declared)

    def profiles(self, customers: List[str], ordering: List[str]) -> List[dict]:
        rng = self.rng
        ordering_set = set(ordering)
        documents = []
        iso_dates = numberlong_dates = 0
        missing_address = missing_age = 0
        for customer in customers:
            if customer in ordering_set and rng.random() < self.scenario.customers_without_profile:
                continue
            if customer not in self.favourite_departments:  # registered but never ordered
                self.pick_favourite_departments(customer)
            signup = datetime(2019, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(int((HISTORY_START - datetime(2019, 1, 1, tzinfo=UTC)).total_seconds())))
            millis = int(signup.timestamp()) * 1000 + rng.randrange(1000)
            # Two exporter versions: relaxed ISO dates and canonical $numberLong dates.
            if rng.random() < 0.7:
                signup_value = {"$date": datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
                iso_dates += 1
            else:
                signup_value = {"$date": {"$numberLong": str(millis)}}
                numberlong_dates += 1
            profile = {"gender": rng.choice(GENDERS), "loyalty_tier": rng.choices(LOYALTY_TIERS, weights=(50, 30, 15, 5))[0]}
            if rng.random() < 0.9:
                profile["age"] = rng.randint(18, 82)
            else:
                missing_age += 1
            document = {
                "_id": {"$oid": f"{rng.getrandbits(96):024x}"},
                "customer_id": customer,
                "profile": profile,
                "interests": self._interests(customer),
                "marketing_opt_in": rng.random() < 0.6,
                "signup_at": signup_value,
            }
            if rng.random() < 0.93:
                city, country = rng.choice(CITIES)
                document["address"] = {"city": city, "country": country, "postcode": f"{rng.randint(1000, 99999)}"}
            else:
                missing_address += 1
            documents.append(document)
        clean = len(documents)
        orphan = {"_id": {"$oid": f"{rng.getrandbits(96):024x}"}, "customer_id": None, "profile": {"gender": "unspecified", "loyalty_tier": "bronze"},
                  "interests": [], "marketing_opt_in": False, "signup_at": {"$date": "2022-02-02T02:02:02.000Z"}}
        duplicates = [documents[i] for i in rng.sample(range(clean), self.scenario.duplicate_profiles)]
        for extra in [orphan] + duplicates:
            documents.insert(rng.randrange(len(documents) + 1), extra)
        self.truth["profiles"] = {
            "file": PROFILES_FILE,
            "rows": len(documents),
            "distinct_profiles": clean,
            # Distinct people: a duplicated document is still one person.
            "profiles_without_orders": len({d["customer_id"] for d in documents if d["customer_id"] and d["customer_id"] not in ordering_set}),
            "date_forms": {"iso": iso_dates, "numberLong": numberlong_dates},
            "missing_address": missing_address,
            "missing_age": missing_age,
            "bad_rows": {"null_customer_id": 1, "exact_duplicate": len(duplicates)},
        }
        return documents


def generate(out_dir, seed: int = 7, scenario: Optional[Scenario] = None) -> dict:
    """Write the three sources and ``expected.json`` into ``out_dir``; return the truth dict."""
    scenario = scenario or Scenario()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    generator = _Generator(seed, scenario)
    products = generator.products()
    catalog = generator.catalog_rows(products)
    everyone = generator.customer_ids()
    ordering = generator.rng.sample(everyone, scenario.customers)
    ordering.sort()
    lines = generator.order_lines(products, ordering)
    documents = generator.profiles(everyone, ordering)

    _write_csv(out / ORDERS_FILE, [name for name, _ in ORDER_COLUMNS], [line.row() for line in lines])
    _write_csv(out / PRODUCTS_FILE, PRODUCT_COLUMNS, catalog)
    with (out / PROFILES_FILE).open("w", encoding="utf-8", newline="\n") as handle:
        for document in documents:
            handle.write(json.dumps(document, ensure_ascii=False) + "\n")

    truth = {"seed": seed, "scenario": asdict(scenario),
             "history": {"start": HISTORY_START.isoformat(), "end": HISTORY_END.isoformat(), "timestamp_floor": TIMESTAMP_FLOOR.isoformat()},
             "channel_timestamp_formats": CHANNEL_TIMESTAMP_FORMATS, **generator.truth}
    (out / EXPECTED_FILE).write_text(json.dumps(truth, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    return truth


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sample_data.generate", description="Write the seeded retail sample history.")
    parser.add_argument("--out", required=True, help="directory to write orders.csv, products.csv, customer_profiles.jsonl and expected.json into")
    parser.add_argument("--seed", type=int, default=7, help="random seed; the same seed gives identical files (default 7)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    truth = generate(args.out, args.seed)
    print(f"wrote {truth['orders']['rows']} order lines, {truth['products']['rows']} catalog rows and "
          f"{truth['profiles']['rows']} profiles to {args.out} in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
