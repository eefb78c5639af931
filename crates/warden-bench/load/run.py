#!/usr/bin/env python3
"""HTTP load test of `warden serve` on loopback, beside the in-process engine.

One run, one machine: generates the model (`warden gen`), imports it, starts
`warden serve`, drives POST /api/v1/check and POST /api/v1/check/batch with
wrk, runs the in-process engine benchmark, and prints one table with ratios.
The machines this runs on are shared and noisy: compare the ratios, not the
lone figures.

    python3 crates/warden-bench/load/run.py [--scale d365|small] [--duration 10]
"""

import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
WARDEN = os.path.join(TARGET, "release", "warden")
BENCH = os.path.join(TARGET, "release", "warden-bench")
PASSWORD = "load-test-password-not-secret"


def sh(*args, **kw):
    print("+", " ".join(args), file=sys.stderr)
    return subprocess.run(args, check=True, **kw)


def http(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null"), r.headers


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wrk(url, script, connections, duration, threads=1):
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script, url],
        check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {"rps": rps, "p50_ms": pct(50), "p99_ms": pct(99), "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(0) if errors else "", "raw": out}


def lua_rotating(bodies, token, path):
    """A wrk script that sends the bodies in turn."""
    lines = ["local bodies = {"]
    for b in bodies:
        lines.append("[==[" + json.dumps(b, separators=(",", ":")) + "]==],")
    lines.append("}")
    lines.append(f"""
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
request = function()
  i = i + 1
  if i > #bodies then i = 1 end
  return wrk.format(nil, "{path}", nil, bodies[i])
end
""")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="d365")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    sh("cargo", "build", "--release", "--locked", "-p", "warden", "-p", "warden-bench", cwd=ROOT)

    work = tempfile.mkdtemp(prefix="warden-load-")
    server = None
    try:
        gen, data = os.path.join(work, "gen"), os.path.join(work, "data")
        sh(WARDEN, "gen", "--out", gen, "--scale", args.scale, "--seed", "42", stdout=subprocess.DEVNULL)
        t = time.time()
        sh(WARDEN, "--data-dir", data, "import", "aot", os.path.join(gen, "aot"), stdout=subprocess.DEVNULL)
        for kind, file in (("orgs", "organizations.csv"), ("users", "users.csv"), ("assignments", "assignments.csv")):
            sh(WARDEN, "--data-dir", data, "import", kind, os.path.join(gen, file), stdout=subprocess.DEVNULL)
        import_s = time.time() - t

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = dict(os.environ, WARDEN_ADMIN_PASSWORD=PASSWORD, RUST_LOG="warn")
        server = subprocess.Popen([WARDEN, "--data-dir", data, "serve", "--listen", f"127.0.0.1:{port}"], env=env,
                                  stdout=subprocess.DEVNULL)
        for _ in range(600):
            try:
                http("GET", base + "/readyz")
                break
            except Exception:
                time.sleep(0.1)
        session, headers = http("POST", base + "/api/v1/auth/login", {"user": "admin", "password": PASSWORD})
        cookie = headers["Set-Cookie"].split(";")[0]
        issued, _ = http("POST", base + "/api/v1/tokens", {"user": "admin", "label": "load test"},
                         {"cookie": cookie, "x-csrf-token": session["csrf_token"]})
        token = issued["token"]
        auth = {"authorization": f"Bearer {token}"}

        users = [u["key"] for u in http("GET", base + "/api/v1/users?limit=1000", headers=auth)[0]["items"]]
        eps = [e["key"] for e in http("GET", base + "/api/v1/entry-points?limit=1000", headers=auth)[0]["items"]]
        accesses = ["read", "update", "create", "delete", "invoke"]
        rnd = random.Random(42)
        def one():
            return {"user": rnd.choice(users), "entry_point": rnd.choice(eps), "access": rnd.choice(accesses)}
        singles = [one() for _ in range(2000)]
        batches = [{"checks": [one() for _ in range(args.batch_size)]} for _ in range(20)]
        # Every request is a real check the server answers: no error items.
        sample, _ = http("POST", base + "/api/v1/check/batch", batches[0], auth)
        assert sample["errors"] == 0, sample

        single_lua, batch_lua = os.path.join(work, "single.lua"), os.path.join(work, "batch.lua")
        open(single_lua, "w").write(lua_rotating(singles, token, "/api/v1/check"))
        open(batch_lua, "w").write(lua_rotating(batches, token, "/api/v1/check/batch"))

        single = wrk(base, single_lua, args.connections, args.duration)
        batch = wrk(base, batch_lua, max(2, args.connections // 8), args.duration)
        server.terminate()
        server.wait(timeout=30)
        server = None

        engine = json.loads(subprocess.run([BENCH, "--scale", args.scale, "--engines", "warden", "--json", "--quiet"],
                                           check=True, capture_output=True, text=True).stdout)["engines"]["warden"]
    finally:
        if server:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)

    rows = [
        ("in-process engine (warden-bench)", engine["checks_per_s"], engine["p50_ns"] / 1e6, engine["p99_ns"] / 1e6),
        ("HTTP POST /check", single["rps"], single["p50_ms"], single["p99_ms"]),
        (f"HTTP POST /check/batch ({args.batch_size}/request)", batch["rps"] * args.batch_size, batch["p50_ms"], batch["p99_ms"]),
    ]
    report = {
        "scale": args.scale, "import_s": round(import_s, 2), "connections": args.connections, "duration_s": args.duration,
        "engine": {"checks_per_s": engine["checks_per_s"], "p50_ns": engine["p50_ns"], "p99_ns": engine["p99_ns"]},
        "check": {k: v for k, v in single.items() if k != "raw"},
        "batch": {**{k: v for k, v in batch.items() if k != "raw"}, "decisions_per_s": batch["rps"] * args.batch_size},
        "targets": {"check_rps": 20000, "check_p99_ms": 5, "batch_decisions_per_s": 1_000_000},
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"\nscale {args.scale}: import {import_s:.1f} s; wrk {args.connections} connections, {args.duration} s each, same machine\n")
    print(f"{'mode':44} {'checks/s':>12} {'p50':>10} {'p99':>10} {'vs engine':>10}")
    for name, cps, p50, p99 in rows:
        print(f"{name:44} {cps:>12,.0f} {p50:>8.3f}ms {p99:>8.3f}ms {cps / engine['checks_per_s']:>10.4f}")
    print(f"\ntargets: /check >= 20,000 req/s with p99 <= 5 ms: "
          f"{'met' if single['rps'] >= 20000 and single['p99_ms'] <= 5 else 'NOT met'}; "
          f"/check/batch >= 1,000,000 decisions/s: {'met' if batch['rps'] * args.batch_size >= 1e6 else 'NOT met'}")
    if single["non2xx"] or batch["non2xx"]:
        print(f"WARNING: non-2xx responses: /check {single['non2xx']}, /check/batch {batch['non2xx']}")


if __name__ == "__main__":
    main()
