"""A bounded load test of `moviola serve` on loopback: N jobs queued at once, then M concurrent
status requests (and a list and an SSE connect per job), with latency percentiles for each.

    python3 tools/loadtest.py                      # starts its own server (no workers) on a temp folder
    python3 tools/loadtest.py --server http://127.0.0.1:8080 --jobs 50 --status 200

Only loopback servers are accepted, and the queued jobs are cancelled afterwards. --json prints the
report as JSON (the service tests check it has no errors)."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def percentiles(samples):
    ordered = sorted(samples)
    def at(p):
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]
    return {"count": len(ordered), "p50_ms": round(at(50) * 1000, 2), "p95_ms": round(at(95) * 1000, 2),
            "p99_ms": round(at(99) * 1000, 2), "max_ms": round(ordered[-1] * 1000, 2),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 2)}


def timed(session, method, url, **kwargs):
    start = time.perf_counter()
    response = session.request(method, url, timeout=60, **kwargs)
    return time.perf_counter() - start, response.status_code, response


def start_server(binary, data):
    port_file = os.path.join(data, "port")
    process = subprocess.Popen([binary, "serve", "--port", "0", "--port-file", port_file, "--workers", "0", "--data", data],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env={**os.environ, "MOVIOLA_HOME": ROOT})
    deadline = time.time() + 60
    while time.time() < deadline:
        if os.path.exists(port_file) and open(port_file).read().strip():
            return process, f"http://127.0.0.1:{int(open(port_file).read())}"
        if process.poll() is not None:
            sys.exit("moviola serve exited during start-up")
        time.sleep(0.1)
    process.kill()
    sys.exit("moviola serve did not start within 60 s")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", help="a running server on loopback (default: start one)")
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "debug", "moviola"))
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--status", type=int, default=200, help="concurrent status requests")
    parser.add_argument("--token", help="API key, if the server requires one")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (1 <= args.jobs <= 500 and 1 <= args.status <= 2000):
        sys.exit("--jobs must be 1–500 and --status 1–2000 (the test is bounded)")

    process = None
    if args.server:
        host = urllib.parse.urlparse(args.server).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            sys.exit("the load test runs against loopback servers only")
        base = args.server.rstrip("/")
    else:
        process, base = start_server(args.binary, tempfile.mkdtemp(prefix="moviola-load-"))
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    session = requests.Session()
    session.headers.update(headers)
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=max(args.jobs, args.status))
    session.mount("http://", adapter)
    errors = []
    report = {"server": base}
    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(lambda n: timed(session, "POST", base + "/api/v1/generations",
                                                    json={"prompt": f"{n % 4 + 1} red balls bounce on grass", "steps": 4}),
                                    range(args.jobs)))
        ids = []
        for _, status, response in results:
            if status != 201:
                errors.append(f"create: {status} {response.text[:200]}")
            else:
                ids.append(response.json()["id"])
        report["create"] = percentiles([r[0] for r in results])

        with ThreadPoolExecutor(max_workers=args.status) as pool:
            results = list(pool.map(lambda n: timed(session, "GET", f"{base}/api/v1/generations/{ids[n % len(ids)]}"),
                                    range(args.status)))
        errors += [f"status: {status}" for _, status, _ in results if status != 200]
        report["status"] = percentiles([r[0] for r in results])
        positions = sorted(r[2].json().get("queue_position", -1) for r in results if r[1] == 200)
        report["queue_positions_seen"] = [positions[0], positions[-1]] if positions else []

        with ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(lambda _: timed(session, "GET", base + "/api/v1/generations?limit=50"), range(100)))
        errors += [f"list: {status}" for _, status, _ in results if status != 200]
        report["list"] = percentiles([r[0] for r in results])

        def first_event(gid):
            start = time.perf_counter()
            with session.get(f"{base}/api/v1/generations/{gid}/events", stream=True, timeout=60) as response:
                for line in response.iter_lines(decode_unicode=True):
                    if line.startswith("event: "):
                        return time.perf_counter() - start, response.status_code
            return time.perf_counter() - start, 0
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(first_event, ids))
        errors += [f"events: {status}" for _, status in results if status != 200]
        report["sse_first_event"] = percentiles([r[0] for r in results])

        with ThreadPoolExecutor(max_workers=20) as pool:
            cancelled = list(pool.map(lambda gid: session.post(f"{base}/api/v1/generations/{gid}/cancel", timeout=60).status_code, ids))
        errors += [f"cancel: {status}" for status in cancelled if status != 202]
        metrics = session.get(base + "/metrics", timeout=60).text
        report["metrics_queue_depth_after_cancel"] = next(
            (float(line.split()[1]) for line in metrics.splitlines() if line.startswith("moviola_queue_depth ")), None)
    finally:
        if process:
            process.terminate()
            process.wait(timeout=60)
    report["errors"] = errors
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(f"server {base}: {args.jobs} jobs queued, {args.status} concurrent status requests")
        for name in ("create", "status", "list", "sse_first_event"):
            r = report[name]
            print(f"  {name:16} n={r['count']:4}  p50 {r['p50_ms']:8.2f} ms  p95 {r['p95_ms']:8.2f} ms  "
                  f"p99 {r['p99_ms']:8.2f} ms  max {r['max_ms']:8.2f} ms")
        print(f"  errors: {len(errors)}" + ("" if not errors else " — " + "; ".join(errors[:5])))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
