"""`import_orders` of N Shopify-format orders into PostgreSQL, against a plain COPY of the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/assay_bench uv run python bench/import/run.py [--orders N]

1. Generates N Shopify Order objects (default 1,000,000) as JSON lines under bench/out/ (kept and
   reused while N and the generator are unchanged): 1-4 line items (about 2.5 on average), ring
   sizes, engraving properties, a catalogue of about 1,500 SKUs the database has never seen,
   returning customers and guest checkouts, fulfilments with tracking, some refunds and
   cancellations.
2. Recreates and migrates the database named by DATABASE_URL, and creates the brand.
3. Ceiling: the same orders and lines as pre-built tuples, written with psycopg COPY into tables
   created LIKE orders_order / orders_orderline (same columns, defaults, checks and indexes, with
   foreign keys to the brand and the order). Only the COPY is timed.
4. `assay import_orders` - the real command, in a subprocess under /usr/bin/time -v - loads the
   file; the wall time of the process (start-up included) and its peak resident memory are taken.
Prints orders + lines per second for both, the ratio (target >= 25%) and the peak memory (target
< 500 MB).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "out"
SLUG = "benchimport"
GENERATOR_VERSION = "3"  # bump when the generated orders change, so an old file is not reused

# A fine-jewellery catalogue: (title, SKU stem, price, sizes or None, engravable)
_CATALOGUE: list[tuple[str, str, str, list[str] | None, bool]] = []
_RING_SIZES = ["4", "4.5", "5", "5.5", "6", "6.5", "7", "7.5", "8", "8.5", "9", "9.5", "10"]
_METALS = [("14k Yellow Gold", "14Y"), ("18k White Gold", "18W"), ("Platinum", "PT"), ("14k Rose Gold", "14R")]
for _style in ("Solitaire Engagement Ring", "Classic Wedding Band 4mm", "Eternity Band", "Signet Ring", "Halo Ring"):
    for _metal, _code in _METALS:
        _CATALOGUE.append((f"{_style} - {_metal}", f"R-{_style[:3].upper()}-{_code}", "890.00", _RING_SIZES, True))
for _i, _name in enumerate(
    ["Diamond Stud Earrings", "Pearl Drop Earrings", "Huggie Hoops", "Sapphire Pendant Necklace",
     "Tennis Bracelet", "Cable Chain 18in", "Initial Charm", "Lab-grown Diamond Studs 1ct"]
):  # fmt: skip
    for _metal, _code in _METALS:
        _CATALOGUE.append((f"{_name} - {_metal}", f"J-{_i:02d}-{_code}", f"{250 + 175 * _i}.00", None, _i == 6))
_ENGRAVINGS = ["Always & Forever", "Für immer", "永遠に", "Je t'aime ♥", "12.06.2021", "A + J", "Amor eterno"]
_START = datetime(2019, 1, 1, tzinfo=UTC)
_CARRIERS = [("UPS", "https://www.ups.com/track?tracknum="), ("FedEx", "https://www.fedex.com/fedextrack/?trknbr=")]


def _variant(item: tuple[str, str, str, list[str] | None, bool], size: str | None) -> tuple[str, int]:
    sku = item[1] + (f"-{size}" if size else "")
    return sku, 40_000_000_000 + int(hashlib.blake2b(sku.encode(), digest_size=4).hexdigest(), 16)


def shopify_order(n: int) -> dict[str, Any]:
    """Order n of a shop's history, as the REST resource (and webhooks) carry it."""
    rng = random.Random(n)
    placed = _START + timedelta(seconds=150 * n + rng.randrange(120))
    items = []
    subtotal = 0
    for i in range(rng.choice((1, 1, 2, 2, 3, 3, 4, 4))):
        item = rng.choice(_CATALOGUE)
        size = rng.choice(item[3]) if item[3] else None
        sku, variant_id = _variant(item, size)
        quantity = 1 if item[3] else rng.choice((1, 1, 1, 2))
        cents = int(item[2].replace(".", "")) + 10_000 * (_CATALOGUE.index(item) % 5)
        subtotal += cents * quantity
        properties = []
        if item[4] and rng.random() < 0.35:
            properties.append({"name": "Engraving", "value": rng.choice(_ENGRAVINGS)})
        items.append(
            {
                "id": 13_000_000_000 + n * 8 + i,
                "admin_graphql_api_id": f"gid://shopify/LineItem/{13_000_000_000 + n * 8 + i}",
                "variant_id": variant_id,
                "product_id": 7_000_000_000 + _CATALOGUE.index(item),
                "title": item[0],
                "name": f"{item[0]} / {size}" if size else item[0],
                "variant_title": size,
                "sku": sku,
                "vendor": "Aurelia",
                "quantity": quantity,
                "current_quantity": quantity,
                "price": f"{cents / 100:.2f}",
                "total_discount": "0.00",
                "requires_shipping": True,
                "taxable": True,
                "gift_card": False,
                "tax_lines": [{"title": "State Tax", "price": f"{cents * quantity * 0.08 / 100:.2f}", "rate": 0.08}],
                "properties": properties,
                "fulfillment_status": None,
                "fulfillable_quantity": quantity,
            }
        )
    customer_number = rng.randrange(300_000)
    guest = rng.random() < 0.1
    email = f"shopper{customer_number}@mail.example.com"
    tax = round(subtotal * 0.08)
    cancelled = rng.random() < 0.02
    fulfilled = not cancelled and rng.random() < 0.85
    updated = placed + timedelta(days=3 if fulfilled else 0, minutes=rng.randrange(600))
    order: dict[str, Any] = {
        "id": 5_000_000_000 + n,
        "admin_graphql_api_id": f"gid://shopify/Order/{5_000_000_000 + n}",
        "name": f"#{10001 + n}",
        "order_number": 10001 + n,
        "number": 9001 + n,
        "email": email,
        "contact_email": email,
        "phone": None,
        "currency": "USD",
        "presentment_currency": "USD",
        "subtotal_price": f"{subtotal / 100:.2f}",
        "total_line_items_price": f"{subtotal / 100:.2f}",
        "total_tax": f"{tax / 100:.2f}",
        "total_discounts": "0.00",
        "total_price": f"{(subtotal + tax) / 100:.2f}",
        "total_shipping_price_set": {
            "shop_money": {"amount": "0.00", "currency_code": "USD"},
            "presentment_money": {"amount": "0.00", "currency_code": "USD"},
        },
        "taxes_included": False,
        "confirmed": True,
        "test": False,
        "financial_status": "voided" if cancelled else "paid",
        "fulfillment_status": "fulfilled" if fulfilled else None,
        "created_at": placed.isoformat(),
        "processed_at": placed.isoformat(),
        "updated_at": updated.isoformat(),
        "cancelled_at": updated.isoformat() if cancelled else None,
        "cancel_reason": "customer" if cancelled else None,
        "closed_at": updated.isoformat() if fulfilled else None,
        "source_name": rng.choice(("web", "web", "web", "pos", "shopify_draft_order")),
        "tags": rng.choice(("", "", "vip", "engraved, gift")),
        "discount_codes": [],
        "note": None,
        "note_attributes": [],
        "customer": None
        if guest
        else {
            "id": 6_000_000_000 + customer_number,
            "email": email,
            "first_name": "Shopper",
            "last_name": str(customer_number),
            "phone": None,
            "accepts_marketing": False,
            "state": "enabled",
        },
        "shipping_address": {
            "first_name": "Shopper",
            "last_name": str(customer_number),
            "name": f"Shopper {customer_number}",
            "address1": f"{customer_number % 900 + 1} Main Street",
            "address2": None,
            "city": "New York",
            "province": "New York",
            "province_code": "NY",
            "zip": "10001",
            "country": "United States",
            "country_code": "US",
            "phone": None,
            "company": None,
        },
        "shipping_lines": [{"title": "Insured overnight", "code": "INSURED", "price": "0.00"}],
        "line_items": items,
        "fulfillments": [],
        "refunds": [],
    }
    if fulfilled:
        carrier, url = _CARRIERS[n % 2]
        tracking = f"1Z{n:012d}"
        order["fulfillments"].append(
            {
                "id": 4_000_000_000 + n,
                "order_id": order["id"],
                "name": f"{order['name']}.1",
                "status": "success",
                "shipment_status": "delivered",
                "service": "manual",
                "tracking_company": carrier,
                "tracking_number": tracking,
                "tracking_numbers": [tracking],
                "tracking_url": url + tracking,
                "tracking_urls": [url + tracking],
                "created_at": (placed + timedelta(days=1)).isoformat(),
                "updated_at": updated.isoformat(),
                "line_items": [{"id": item["id"], "quantity": item["quantity"]} for item in items],
            }
        )
        for item in items:
            item["fulfillment_status"] = "fulfilled"
            item["fulfillable_quantity"] = 0
        if rng.random() < 0.04:
            first = items[0]
            order["financial_status"] = "partially_refunded"
            order["refunds"].append(
                {
                    "id": 3_000_000_000 + n,
                    "order_id": order["id"],
                    "created_at": updated.isoformat(),
                    "processed_at": updated.isoformat(),
                    "note": "Returned within 30 days",
                    "refund_line_items": [
                        {
                            "id": 2_000_000_000 + n,
                            "line_item_id": first["id"],
                            "quantity": 1,
                            "subtotal": first["price"],
                        }
                    ],
                    "transactions": [{"kind": "refund", "status": "success", "amount": first["price"]}],
                }
            )
    return order


def generate(path: Path, orders: int) -> tuple[int, int]:
    """Write the orders as JSON lines; returns (orders, lines)."""
    lines = 0
    started = time.perf_counter()
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as out:
        chunk = []
        for n in range(orders):
            order = shopify_order(n)
            lines += len(order["line_items"])
            chunk.append(orjson.dumps(order))
            if len(chunk) == 5000:
                out.write(b"\n".join(chunk) + b"\n")
                chunk = []
        if chunk:
            out.write(b"\n".join(chunk) + b"\n")
    tmp.rename(path)
    (path.with_suffix(".count")).write_text(f"{orders} {lines}\n")
    print(f"generated {orders:,} orders / {lines:,} lines in {time.perf_counter() - started:.0f} s -> {path}")
    return orders, lines


def database(url: str) -> None:
    """Drop and create the database, then migrate it and create the brand."""
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    manage("migrate", "--noinput", "-v", "0")
    manage("create_brand", SLUG, "--name", "Bench Import Jewellery")


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True, env=os.environ.copy())


def _ceiling_rows(order: dict[str, Any], order_id: int, brand_id: int, now: str) -> tuple[tuple[Any, ...], list[Any]]:
    address = order["shipping_address"]
    row = (
        order_id, brand_id, now, now, str(order["id"]), order["name"], order["name"].lstrip("#").lower(),
        order["email"], None, order["currency"], order["subtotal_price"], order["total_tax"],
        order["total_discounts"], "0.00", order["total_price"], False, order["financial_status"],
        order["fulfillment_status"] or "", order["processed_at"], order["processed_at"], order["cancelled_at"],
        order["cancel_reason"] or "", order["closed_at"], order["source_name"], "shopify",
        orjson.dumps([t.strip() for t in order["tags"].split(",") if t.strip()]).decode(), "[]",
        orjson.dumps(address).decode(), address["country_code"], order["updated_at"],
    )  # fmt: skip
    lines = []
    for position, item in enumerate(order["line_items"], start=1):
        properties = {p["name"]: p["value"] for p in item["properties"]}
        lines.append(
            (
                brand_id, now, now, order_id, str(item["id"]), position, item["sku"], None, None, item["title"],
                item["variant_title"] or "", item["quantity"], item["price"], item["total_discount"],
                item["tax_lines"][0]["price"], orjson.dumps(properties).decode(), bool(properties),
                item["quantity"] - item["fulfillable_quantity"], None,
            )
        )  # fmt: skip
    return row, lines


ORDER_COLUMNS = (
    "id, brand_id, created_at, updated_at, external_id, number, number_key, email, customer_id, currency, subtotal, "
    "total_tax, total_discounts, total_shipping, total, taxes_included, financial_status, fulfillment_status, "
    "placed_at, paid_at, cancelled_at, cancel_reason, closed_at, channel, source, tags, discount_codes, "
    "shipping_address, shipping_country, source_updated_at"
)
LINE_COLUMNS = (
    "brand_id, created_at, updated_at, order_id, external_id, position, sku, variant_id, product_id, title, "
    "variant_title, quantity, unit_price, total_discount, tax, properties, personalised, fulfilled_quantity, piece_id"
)


def ceiling(url: str, path: Path) -> tuple[float, int]:
    """COPY the file's orders and lines, as pre-built tuples, into tables shaped like the real ones.
    Returns (seconds spent in COPY, rows)."""
    import psycopg

    with psycopg.connect(url) as conn:
        brand_id = conn.execute("SELECT id FROM brands_brand WHERE slug = %s", [SLUG]).fetchone()[0]  # type: ignore[index]
        # Django's foreign keys are deferred to the commit; so are these.
        deferred = "DEFERRABLE INITIALLY DEFERRED"
        conn.execute(
            "CREATE TABLE ceiling_order (LIKE orders_order INCLUDING ALL);"
            "CREATE TABLE ceiling_orderline (LIKE orders_orderline INCLUDING ALL);"
            f"ALTER TABLE ceiling_order ADD FOREIGN KEY (brand_id) REFERENCES brands_brand (id) {deferred};"
            f"ALTER TABLE ceiling_orderline ADD FOREIGN KEY (brand_id) REFERENCES brands_brand (id) {deferred};"
            f"ALTER TABLE ceiling_orderline ADD FOREIGN KEY (order_id) REFERENCES ceiling_order (id) {deferred};"
        )
        conn.commit()
        now = datetime.now(UTC).isoformat()
        spent = 0.0
        rows = 0
        order_id = 0
        with path.open("rb") as source:
            while True:
                chunk = [orjson.loads(raw) for _, raw in zip(range(50_000), source, strict=False)]
                if not chunk:
                    break
                orders, lines = [], []
                for data in chunk:
                    order_id += 1
                    row, items = _ceiling_rows(data, order_id, brand_id, now)
                    orders.append(row)
                    lines.extend(items)
                del chunk
                started = time.perf_counter()
                with conn.cursor() as cur:
                    with cur.copy(f"COPY ceiling_order ({ORDER_COLUMNS}) FROM STDIN") as copy:
                        for row in orders:
                            copy.write_row(row)
                    with cur.copy(f"COPY ceiling_orderline ({LINE_COLUMNS}) FROM STDIN") as copy:
                        for row in lines:
                            copy.write_row(row)
                conn.commit()
                spent += time.perf_counter() - started
                rows += len(orders) + len(lines)
        conn.execute("DROP TABLE ceiling_orderline; DROP TABLE ceiling_order")
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    return spent, rows


def run_import(path: Path, log: Path) -> tuple[float, float, int, str]:
    """The real command in a subprocess. Returns (wall seconds, the command's own seconds, peak RSS KB, summary)."""
    command = [sys.executable, "manage.py", "import_orders", SLUG, str(path), "--source", "shopify"]
    timed = Path("/usr/bin/time").exists()
    if timed:
        command = ["/usr/bin/time", "-v", *command]
    started = time.perf_counter()
    with log.open("w") as err:
        result = subprocess.run(command, cwd=ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=err, text=True)
    wall = time.perf_counter() - started
    text = log.read_text(errors="replace")
    if result.returncode != 0:
        print(result.stdout)
        print(text[-3000:])
        raise SystemExit(f"import_orders failed with exit code {result.returncode}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if found:
        peak = int(found.group(1))
    own = re.search(r"seconds\s+([\d,.]+)", result.stdout)
    return wall, float(own.group(1).replace(",", "")) if own else wall, peak, result.stdout


WRITTEN = (
    "orders_order", "orders_orderline", "orders_customer", "orders_shipment", "orders_shipmentline",
    "orders_shoprefund", "core_auditevent", "catalog_product", "catalog_variant",
)  # fmt: skip


def count_rows(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        counts = {}
        for table in WRITTEN:  # the names above, never input
            counts[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]  # noqa: S608
        return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--regenerate", action="store_true", help="write the orders file even if one exists")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(
            "DATABASE_URL must name a PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/assay_bench"
        )

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"import-orders-{args.orders}-v{GENERATOR_VERSION}.jsonl"
    counts = path.with_suffix(".count")
    if args.regenerate or not path.exists() or not counts.exists():
        generate(path, args.orders)
    orders, lines = (int(value) for value in counts.read_text().split())
    size = path.stat().st_size
    print(f"file: {path.name}, {size / 2**20:,.0f} MiB, {orders:,} orders, {lines:,} lines")

    database(url)
    copy_seconds, copy_rows = ceiling(url, path)
    copy_rate = copy_rows / copy_seconds
    print(f"ceiling  COPY of {copy_rows:,} rows (orders + lines): {copy_seconds:,.1f} s, {copy_rate:,.0f} rows/s")

    log = OUT / "import-orders-stderr.log"
    wall, own, peak_kb, summary = run_import(path, log)
    stored = count_rows(url)
    stored_orders, stored_lines = stored["orders_order"], stored["orders_orderline"]
    if (stored_orders, stored_lines) != (orders, lines):
        raise SystemExit(f"expected {orders} orders / {lines} lines, found {stored_orders} / {stored_lines}")
    rows = stored_orders + stored_lines
    rate = rows / wall
    print(summary.rstrip())
    print(
        f"import   {rows:,} rows (orders + lines): {wall:,.1f} s wall ({own:,.1f} s in the command), {rate:,.0f} rows/s"
    )
    written = ", ".join(f"{table.split('_', 1)[1]} {count:,}" for table, count in stored.items() if count)
    print(f"         all rows the import wrote: {sum(stored.values()):,} ({written})")
    ratio = rate / copy_rate
    peak_mb = peak_kb / 1024
    print(f"ratio    {ratio:.1%} of COPY rows/s (target >= 25%: {'met' if ratio >= 0.25 else 'NOT met'})")
    print(f"memory   peak RSS {peak_mb:,.0f} MB (target < 500 MB: {'met' if peak_mb < 500 else 'NOT met'})")


if __name__ == "__main__":
    main()
