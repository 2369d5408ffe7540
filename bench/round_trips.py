"""What one round trip costs on this machine: the floor under a sync job's time per call.

    .venv/bin/python bench/round_trips.py [--count 300] [--json]

Not a DESIGN target: the figures that explain the sync benchmark's. Side by side in one
run, each the median of ``--count`` tries:

- **PostgreSQL**: ``SELECT 1`` and an autocommitted one-row ``INSERT`` (its commit's
  write-ahead log flush included) into a table of its own, back to back and after the
  connection has been idle 2 ms and 20 ms (a sync worker's first query after each
  platform call comes after ~20 ms of waiting: on a virtual machine the idle server
  process and CPU take time to wake up);
- **HTTP**: one ``GET`` over a kept-alive connection to a minimal HTTP server on
  127.0.0.1 (its own process, answering 2 bytes) by ``requests`` (what the platform
  clients use), ``urllib3`` and ``http.client``, and the CPU time each takes per call.

The server is the benchmark database's (``BENCH_DATABASE_URL``, default the local
PostgreSQL); nothing is written but that table, ``bench_round_trip``, dropped after.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.setup import DEFAULT_URL

PAUSES = (0.0, 0.002, 0.020)
SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
print("serving", flush=True)
server.serve_forever()
"""


def _median_ms(times: list[float]) -> float:
    return round(statistics.median(times) * 1000, 3)


def database(count: int) -> dict:
    import psycopg

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.cursor()
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_round_trip (n integer)")
        found = {}
        try:
            for label, sql in (
                ("select", "SELECT 1"),
                ("insert", "INSERT INTO bench_round_trip VALUES (1)"),
            ):
                for pause in PAUSES:
                    times = []
                    for _ in range(count):
                        if pause:
                            time.sleep(pause)
                        started = time.perf_counter()
                        cursor.execute(sql)
                        times.append(time.perf_counter() - started)
                    found[f"{label}_after_{pause * 1000:g}_ms_idle"] = _median_ms(times)
        finally:
            cursor.execute("DROP TABLE bench_round_trip")
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _timed(call, count: int) -> dict:
    call()  # the connection made
    times = []
    cpu = time.process_time()
    for _ in range(count):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return {
        "ms": _median_ms(times),
        "cpu_ms": round((time.process_time() - cpu) * 1000 / count, 3),
    }


def web(count: int) -> dict:
    import requests
    import urllib3

    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 (our own interpreter, fixed code)
        [sys.executable, "-c", SERVER, str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        if server.stdout.readline().strip() != "serving":
            raise RuntimeError("The HTTP server did not start.")
        url = f"http://127.0.0.1:{port}/"
        session = requests.Session()
        session.trust_env = False  # as the workers' sessions with no proxy set
        pool = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=1)
        plain = http.client.HTTPConnection("127.0.0.1", port)

        def by_http_client() -> None:
            plain.request("GET", "/")
            plain.getresponse().read()

        return {
            "requests": _timed(lambda: session.get(url, timeout=5).content, count),
            "urllib3": _timed(lambda: pool.request("GET", "/").data, count),
            "http.client": _timed(by_http_client, count),
        }
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    result = {"postgresql": database(options.count), "http": web(options.count)}
    if options.json:
        print(json.dumps(result, indent=2))
        return
    pg = result["postgresql"]
    for label in ("select", "insert"):
        times = ", ".join(
            f"{pg[f'{label}_after_{p * 1000:g}_ms_idle']:.2f} ms after {p * 1000:g} ms idle"
            for p in PAUSES
        )
        print(f"PostgreSQL {label}: {times}")
    for client, figures in result["http"].items():
        print(f"HTTP GET by {client}: {figures['ms']:.2f} ms, {figures['cpu_ms']:.2f} ms of CPU")


if __name__ == "__main__":
    main()
