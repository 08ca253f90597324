"""Shopify webhook intake and processing throughput, with a same-run ceiling.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/assay_bench_ingest uv run python bench/ingest/run.py

1. Intake: gunicorn (sync workers, 4 by default) serves the app on PostgreSQL with Redis-backed tasks; wrk posts
   signed Shopify orders/create deliveries (a pool of distinct orders, each delivery with its own
   event id) at /hooks/shopify/<brand>/ - verify, store as due for the workers (ADR 0003: the
   stored row is the hand-off, nothing is enqueued) - and then requests the trivial /healthz of
   the same server. Target: intake >= 50% of the trivial endpoint's requests/s.
2. Processing: N distinct orders stored as received events, then `assay worker` (its claimers)
   turns them into orders; prints orders/s into PostgreSQL.
3. Latency: with that worker idle, single deliveries through gunicorn; prints the time from
   intake (received_at) to processed (processed_at).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.shopify_orders import shopify_order  # noqa: E402

SLUG = "benchingest"
SECRET = "bench-ingest-shopify-secret"
PORT = int(os.environ.get("BENCH_PORT", "8123"))


def sh(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, env=env, text=True, capture_output=True, check=check)


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def wrk(url: str, *, seconds: int, connections: int, script: str | None = None) -> tuple[float, str]:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], text=True, capture_output=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+(\S+)", out)
    p99 = re.search(r"99%\s+(\S+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    detail = f"p50 {p50.group(1) if p50 else '?'} p99 {p99.group(1) if p99 else '?'}"
    if non2xx:
        detail += f", NON-2xx: {non2xx.group(1)}"
    return rps, detail


def lua_script(bodies: list[bytes], path: Path) -> None:
    """wrk script: cycle through signed bodies, a fresh X-Shopify-Event-Id on every request."""
    entries = []
    for body in bodies:
        digest = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
        entries.append(f"{{{json.dumps(body.decode())}, {json.dumps(digest)}}}")
    path.write_text(
        "local bodies = {" + ",\n".join(entries) + "}\n"
        """
local counter = 0
local tid = 0
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function init(args) tid = wrk.thread:get("tid") or math.random(1, 1000000); counter = 0 end
function request()
  counter = counter + 1
  local entry = bodies[(counter % #bodies) + 1]
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["X-Shopify-Topic"] = "orders/create"
  headers["X-Shopify-Hmac-Sha256"] = entry[2]
  headers["X-Shopify-Shop-Domain"] = "bench.myshopify.com"
  headers["X-Shopify-API-Version"] = "2025-07"
  headers["X-Shopify-Event-Id"] = "bench-" .. tid .. "-" .. counter .. "-" .. os.time()
  return wrk.format("POST", nil, headers, entry[1])
end
"""
    )


def trivial_script(path: Path) -> None:
    """wrk script for the ceiling: the same per-request Lua work as the intake script (a fresh
    request formatted each time), so the load generator costs the same on both sides."""
    path.write_text(
        """
local counter = 0
function request()
  counter = counter + 1
  local headers = {}
  headers["X-Shopify-Topic"] = "orders/create"
  headers["X-Shopify-Event-Id"] = "ceiling-" .. counter .. "-" .. os.time()
  return wrk.format("GET", "/healthz", headers)
end
"""
    )


def wait_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server did not come up at {url}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--process", type=int, default=2000, help="orders for the processing measurement")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn sync workers, for both endpoints")
    parser.add_argument("--latency-probes", type=int, default=20, help="single deliveries timed intake -> processed")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/assay_bench_ingest")
    if not url.startswith("postgres"):
        raise SystemExit("DATABASE_URL must point at PostgreSQL")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "TASKS_BACKEND": "redis",
        "HUEY_NAME": "assay-bench-ingest",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    python = str(ROOT / ".venv" / "bin" / "python")
    ensure_database(url)
    sh(python, "manage.py", "migrate", "--noinput", "-v", "0", env=env)
    sh(python, "manage.py", "create_brand", SLUG, "--name", "Bench", env=env)
    sh(python, "manage.py", "brand_secret", SLUG, "--integration", "shopify", "--secret", SECRET, env=env)
    import redis

    redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")).flushdb()

    bodies = [json.dumps(shopify_order(n)).encode() for n in range(1000)]
    work = Path(tempfile.mkdtemp(prefix="assay-bench-"))
    script = work / "intake.lua"
    lua_script(bodies, script)
    ceiling_script = work / "ceiling.lua"
    trivial_script(ceiling_script)

    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{PORT}",
         "--workers", str(args.web_workers), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{PORT}"
        wait_up(base + "/healthz")
        wrk(base + "/healthz", seconds=2, connections=args.connections)  # warm up
        ceiling, ceiling_detail = wrk(
            base + "/healthz", seconds=args.seconds, connections=args.connections, script=str(ceiling_script)
        )
        intake, intake_detail = wrk(
            f"{base}/hooks/shopify/{SLUG}/", seconds=args.seconds, connections=args.connections, script=str(script)
        )
    finally:
        server.terminate()
        server.wait(timeout=30)

    print(f"trivial endpoint  /healthz               {ceiling:9.0f} req/s  ({ceiling_detail})")
    print(f"webhook intake    /hooks/shopify/<brand>/ {intake:9.0f} req/s  ({intake_detail})")
    print(f"ratio intake / trivial: {intake / ceiling:.2f}  (target >= 0.50)")

    # Processing: distinct orders as received events, then the worker drains them.
    redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")).flushdb()
    loader = (
        "import json,sys\n"
        "from assay.brands.models import Brand\n"
        "from assay.webhooks.models import InboundEvent\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from bench.shopify_orders import shopify_order\n"
        f"brand = Brand.objects.get(slug={SLUG!r})\n"
        "InboundEvent.objects.filter(brand=brand).delete()\n"
        "Order = __import__('assay.orders.models', fromlist=['Order']).Order\n"
        "Order.objects.filter(brand=brand).delete()\n"
        f"rows = [InboundEvent(brand=brand, source='shopify', topic='orders/create', event_id=f'p{{n}}',"
        f" payload=json.dumps(shopify_order(100000 + n))) for n in range({args.process})]\n"
        "InboundEvent.objects.bulk_create(rows, batch_size=1000)  # due at once: the claimers take them\n"
    )
    sh(python, "manage.py", "shell", "--no-imports", "-c", loader, env=env)
    import psycopg

    started = time.monotonic()
    worker = subprocess.Popen([python, "manage.py", "worker", "--workers", "2"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    left = args.process
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            while left and time.monotonic() - started < 600:
                time.sleep(0.5)
                left = waiting(conn)
            elapsed = time.monotonic() - started
            done = args.process - left
            print(
                f"processing: {done} orders in {elapsed:.1f} s = {done / elapsed:.0f} orders/s into PostgreSQL"
                " (2 worker threads)"
            )
            latencies = intake_to_processed(conn, env, count=args.latency_probes)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    latencies.sort()
    print(
        f"latency intake -> processed, {len(latencies)} single deliveries to an idle worker:"
        f" median {latencies[len(latencies) // 2] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
    )


def waiting(conn: Any) -> int:
    row = conn.execute(
        "SELECT count(*) FROM webhooks_inboundevent e JOIN brands_brand b ON b.id = e.brand_id"
        " WHERE b.slug = %s AND e.status = 'received'",
        (SLUG,),
    ).fetchone()
    return int(row[0]) if row else 0


def intake_to_processed(conn: Any, env: dict[str, str], *, count: int) -> list[float]:
    """Deliveries one at a time through the web server while the worker idles; for each, the time
    from its intake (received_at, set by the request) to its processing (processed_at)."""
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{PORT}",
         "--workers", "2", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        wait_up(f"http://127.0.0.1:{PORT}/healthz")
        for n in range(count):
            body = json.dumps(shopify_order(900_000 + n)).encode()
            digest = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{PORT}/hooks/shopify/{SLUG}/", data=body, method="POST",
                headers={"Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
                         "X-Shopify-Hmac-Sha256": digest, "X-Shopify-Event-Id": f"latency-{n}-{time.time()}"},
            )  # fmt: skip
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
            time.sleep(0.3)  # arrive at a worker that is waiting, not one still busy with the last
        deadline = time.monotonic() + 30
        while waiting(conn) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)
    rows = conn.execute(
        "SELECT extract(epoch FROM e.processed_at - e.received_at) FROM webhooks_inboundevent e"
        " JOIN brands_brand b ON b.id = e.brand_id WHERE b.slug = %s AND e.event_id LIKE 'latency-%%'"
        " AND e.status = 'processed'",
        (SLUG,),
    ).fetchall()
    if len(rows) != count:
        raise SystemExit(f"only {len(rows)} of {count} latency deliveries were processed")
    return [float(row[0]) for row in rows]


if __name__ == "__main__":
    main()
