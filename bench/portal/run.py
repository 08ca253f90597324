"""Shopper portal lookup + eligibility at 1,000,000 orders, against the trivial endpoint of the same server.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/assay_bench_portal .venv/bin/python bench/portal/run.py

1. Builds the database once (kept between runs; `--rebuild` to start again): migrate, then
   `assay seed_demo --orders 1000000` (Aurelia's catalogue, customers, orders, shipments, returns).
2. gunicorn (sync workers) serves the app on PostgreSQL with the Redis cache (the lookup's rate
   limits count there); wrk at concurrency 32 posts `POST /api/v1/portal/lookup` for a pool of
   distinct orders of exactly 3 lines (order number + e-mail, as shoppers type them: with or without
   '#', mixed case), then requests the trivial /healthz through the same kind of Lua request function.
Target: lookup >= 40% of the trivial endpoint's requests/s, lookup p99 under 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PORT = int(os.environ.get("BENCH_PORT", "8125"))
BRAND = "aurelia"


def sh(*args: str, env: dict[str, str]) -> None:
    subprocess.run(args, cwd=ROOT, env=env, check=True)


def database_ready(url: str, *, rebuild: bool, orders: int, env: dict[str, str], python: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and rebuild:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    sh(python, "manage.py", "migrate", "--noinput", "-v", "0", env=env)
    with psycopg.connect(url, autocommit=True) as conn:
        have = conn.execute(
            "SELECT count(*) FROM orders_order o JOIN brands_brand b ON b.id = o.brand_id WHERE b.slug = %s", (BRAND,)
        ).fetchone()
    if have and have[0] >= orders:
        print(f"database {name}: {have[0]:,} {BRAND} orders already there")
    else:
        started = time.monotonic()
        sh(python, "manage.py", "seed_demo", "--reset", "--orders", str(orders), "-v", "0", env=env)
        print(f"seeded {orders:,} orders in {time.monotonic() - started:.0f} s")
    # Planner statistics: servers with autovacuum off (this machine's) never analyse on their own.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def lookup_pool(url: str, size: int) -> list[dict[str, str]]:
    """Distinct orders of exactly three lines, spread over the whole table, typed as shoppers type."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            """
            SELECT o.number, o.email FROM orders_order o JOIN brands_brand b ON b.id = o.brand_id
            WHERE b.slug = %s AND o.email <> ''
              AND (SELECT count(*) FROM orders_orderline l WHERE l.order_id = o.id) = 3
            ORDER BY md5(o.id::text) LIMIT %s
            """,
            (BRAND, size),
        ).fetchall()
    pool = []
    for n, (number, email) in enumerate(rows):
        typed_number = number.lstrip("#") if n % 2 else number
        typed_email = email.upper() if n % 3 == 0 else email
        pool.append({"order_number": typed_number, "email": typed_email, "brand": BRAND})
    return pool


def lookup_script(pool: list[dict[str, str]], path: Path) -> None:
    bodies = ",\n".join(json.dumps(json.dumps(body)) for body in pool)
    path.write_text(
        "local bodies = {" + bodies + "}\n"
        """
local counter = 0
function init(args) counter = math.random(1, #bodies) end
function request()
  counter = counter + 1
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["X-Request-Id"] = "lookup-" .. counter
  return wrk.format("POST", "/api/v1/portal/lookup", headers, bodies[(counter % #bodies) + 1])
end
"""
    )


def trivial_script(path: Path) -> None:
    """Same per-request Lua work as the lookup script, so the load generator costs the same."""
    path.write_text(
        """
local counter = 0
function request()
  counter = counter + 1
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["X-Request-Id"] = "ceiling-" .. counter
  return wrk.format("GET", "/healthz", headers)
end
"""
    )


def wrk(url: str, *, seconds: int, connections: int, script: Path) -> tuple[float, float, float, int]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        text=True,
        capture_output=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def ms(label: str) -> float:
        match = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)\b", out)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, ms("50"), ms("99"), int(bad.group(1)) if bad else 0


def wait_up(url: str, *, workers: int, timeout: float = 180) -> None:
    """Until every worker has loaded the app: a run of quick answers, as many as there are workers and more."""
    deadline = time.monotonic() + timeout
    quick = 0
    while time.monotonic() < deadline and quick < 4 * workers:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                ok = response.status == 200
        except OSError:
            ok = False
            time.sleep(0.2)
        quick = quick + 1 if ok and time.monotonic() - started < 0.05 else 0
    if quick < 4 * workers:
        raise SystemExit(f"server did not come up at {url}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--rebuild", action="store_true", help="drop and seed the database again")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--pool", type=int, default=20_000, help="distinct orders looked up")
    parser.add_argument("--web-workers", type=int, default=4)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/assay_bench_portal")
    if not url.startswith("postgres"):
        raise SystemExit("DATABASE_URL must point at PostgreSQL")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "TASKS_BACKEND": "redis",
        "REDIS_URL": redis_url,
        "CACHE_URL": redis_url,
        "HUEY_NAME": "assay-bench-portal",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Every request comes from one address here; the per-order limit stays on (the pool is
        # large enough that no order is looked up more than a few times a minute).
        "PORTAL_LOOKUPS_PER_CLIENT": "0",
    }
    python = str(ROOT / ".venv" / "bin" / "python")
    database_ready(url, rebuild=args.rebuild, orders=args.orders, env=env, python=python)
    pool = lookup_pool(url, args.pool)
    if len(pool) < 100:
        raise SystemExit(f"only {len(pool)} three-line orders found")
    work = Path(tempfile.mkdtemp(prefix="assay-bench-portal-"))
    lookup_lua, trivial_lua = work / "lookup.lua", work / "trivial.lua"
    lookup_script(pool, lookup_lua)
    trivial_script(trivial_lua)
    import redis

    redis.Redis.from_url(redis_url).flushdb()  # rate-limit counters of earlier runs
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{PORT}",
         "--workers", str(args.web_workers), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{PORT}"
        wait_up(base + "/healthz", workers=args.web_workers)
        probe = urllib.request.Request(
            base + "/api/v1/portal/lookup",
            data=json.dumps(pool[0]).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(probe, timeout=10) as response:
            answer = json.loads(response.read())
        lines = answer["order"]["lines"]
        print(f"probe: order {answer['order']['number']} with {len(lines)} lines, e.g. {lines[0]['eligibility']}")
        wrk(base + "/", seconds=5, connections=args.connections, script=trivial_lua)  # warm up
        wrk(base + "/", seconds=5, connections=args.connections, script=lookup_lua)
        redis.Redis.from_url(redis_url).flushdb()
        ceiling = wrk(base + "/", seconds=args.seconds, connections=args.connections, script=trivial_lua)
        lookup = wrk(base + "/", seconds=args.seconds, connections=args.connections, script=lookup_lua)
    finally:
        server.terminate()
        server.wait(timeout=30)
    for label, (rps, p50, p99, bad) in (("trivial /healthz", ceiling), ("portal lookup", lookup)):
        print(f"{label:18} {rps:8.0f} req/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  non-2xx {bad}")
    ratio = lookup[0] / ceiling[0]
    print(f"ratio lookup / trivial: {ratio:.2f} (target >= 0.40); lookup p99 {lookup[2]:.1f} ms (target < 50 ms)")
    if lookup[3]:
        print(f"WARNING: {lookup[3]} lookups did not answer 2xx")


if __name__ == "__main__":
    main()
