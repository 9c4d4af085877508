# bench/table.py RESULTS ROUNDS PEER... - the table of bench/run from its raw wrk, CPU and memory files.
import re
import statistics
import sys
from pathlib import Path

results, rounds, peers = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}
ENDPOINTS = {
    "hello": "GET /api/hello",
    "protected": "GET /api/protected",
    "post-task": "POST /api/tasks",
}
NAMES = {
    "tasks-api": "tasks-api, SQLite",
    "tasks-api-lean": "tasks-api, SQLite, limiter off",
    "tasks-api-pg": "tasks-api, PostgreSQL",
    "tasks-api-pg-shm": "tasks-api, PostgreSQL, shm limiter",
    "tasks-api-pg2": "tasks-api, PostgreSQL, 2 hosts",
    "c": "C libfcgi",
    "php": "PHP-FPM",
    "flask": "Flask + gunicorn",
    "hummingbird": "Hummingbird 2",
}


def parse(text):
    r = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    r["rps"] = float(m.group(1)) if m else float("nan")
    for pct in ("50", "99"):
        m = re.search(r"^\s+%s(?:\.0+)?%%\s+([\d.]+)(us|ms|s|m)\b" % pct, text, re.M)
        r["p" + pct] = float(m.group(1)) * UNIT[m.group(2)] if m else float("nan")
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    r["bad"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    r["bad"] += sum(map(int, m.groups())) if m else 0
    m = re.search(r"(\d+) requests in", text)
    r["requests"] = int(m.group(1)) if m else 0
    return r


rows = {}
for endpoint in ENDPOINTS:
    for peer in peers:
        files = [results / f"{peer}-{endpoint}-round{i}.txt" for i in range(1, rounds + 1)]
        if not files[0].exists():
            continue
        runs = [parse(f.read_text()) for f in files]
        app = ngx = pg = 0.0
        for i in range(1, rounds + 1):
            # app, nginx, clock ticks per second, and PostgreSQL's server (absent in older runs)
            a, n, hz, *p = map(int, (results / f"{peer}-{endpoint}-round{i}.cpu").read_text().split())
            app += a / hz
            ngx += n / hz
            pg += (p[0] if p else 0) / hz
        requests = sum(r["requests"] for r in runs)
        rows[endpoint, peer] = {
            "rps": statistics.median(r["rps"] for r in runs),
            "each": [r["rps"] for r in runs],
            "p50": statistics.median(r["p50"] for r in runs),
            "p99": statistics.median(r["p99"] for r in runs),
            "app_us": app * 1e6 / requests if requests else float("nan"),
            "nginx_us": ngx * 1e6 / requests if requests else float("nan"),
            "pg_us": pg * 1e6 / requests if requests else float("nan"),
            "bad": sum(r["bad"] for r in runs),
        }

print()
print("| endpoint | peer | req/s | × C | p50 ms | p99 ms | app CPU µs/req | nginx CPU µs/req | each round |")
print("|---|---|---:|---:|---:|---:|---:|---:|---|")
for endpoint, label in ENDPOINTS.items():
    base = rows.get((endpoint, "c"), {}).get("rps")
    for peer in peers:
        r = rows.get((endpoint, peer))
        if not r:
            continue
        ratio = f"{r['rps'] / base:.2f}" if base else "—"
        each = " ".join(f"{x:,.0f}" for x in r["each"])
        flag = f" ({r['bad']} non-2xx/errors)" if r["bad"] else ""
        print(
            f"| {label} | {NAMES[peer]} | {r['rps']:,.0f} | {ratio} | {r['p50']:.2f} | {r['p99']:.2f} |"
            f" {r['app_us']:.0f} | {r['nginx_us']:.0f} | {each}{flag} |"
        )

on_postgres = [p for p in peers if p.startswith("tasks-api-pg")]
if on_postgres:
    print()
    print("| endpoint | peer | req/s | app CPU µs/req | PostgreSQL CPU µs/req | nginx CPU µs/req | total CPU µs/req |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for endpoint, label in ENDPOINTS.items():
        for peer in ["tasks-api", *on_postgres]:
            r = rows.get((endpoint, peer))
            if not r:
                continue
            total = r["app_us"] + r["pg_us"] + r["nginx_us"]
            print(
                f"| {label} | {NAMES[peer]} | {r['rps']:,.0f} | {r['app_us']:.0f} | {r['pg_us']:.0f} |"
                f" {r['nginx_us']:.0f} | {total:.0f} |"
            )

print()
print("| peer | workers | RSS per worker, MiB | PSS per worker, MiB | private per worker, MiB |")
print("|---|---:|---:|---:|---:|")
for peer in peers:
    lines = [l.split() for l in (results / f"{peer}.memory").read_text().splitlines() if l.strip()]
    if not lines:
        continue
    rss = [int(l[1]) / 1024 for l in lines]
    pss = [int(l[2]) / 1024 for l in lines]
    private = [int(l[3]) / 1024 for l in lines]
    rng = lambda v: f"{min(v):.1f}" if max(v) - min(v) < 0.05 else f"{min(v):.1f}–{max(v):.1f}"
    print(f"| {NAMES[peer]} | {len(lines)} | {rng(rss)} | {rng(pss)} | {rng(private)} |")

bad = [f"{ENDPOINTS[e]} on {NAMES[p]}" for (e, p), r in rows.items() if r["bad"]]
if bad:
    print("\nWARNING: non-2xx responses or socket errors: " + "; ".join(bad) + " (see the raw wrk output)")
print(f"\nraw output: {results}/")
