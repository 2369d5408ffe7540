"""Every benchmark in one command: one table, printed and written to ``bench/RESULTS.md``.

    .venv/bin/python bench/run.py [--customers 1000] [--lines 1000000] [--quick]
                                  [--only export,sync,save]

Each benchmark runs in a process of its own (``--json``), since each sets Django up on its
own database: ``bench/billing_export.py``, ``bench/sync.py`` and ``bench/save_overhead.py``.
``--quick`` is a smoke run (100 customers, 10,000 lines), not the DESIGN figures. The
export is measured at --lines, at a tenth of it (memory) and over HTTP at twice it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "RESULTS.md"


def _run(script: str, *args: str) -> dict:
    """The benchmark's result; on failure ``{"failed": its last line of error}``."""
    print(f"running {script} {' '.join(args)}", file=sys.stderr)
    done = subprocess.run(  # noqa: S603 (our own interpreter and scripts)
        [sys.executable, str(BENCH / script), *args, "--json"],
        capture_output=True,
        text=True,
    )
    sys.stderr.write(done.stderr)
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        return {"failed": last[:200]}
    return json.loads(done.stdout)


def _failed(name: str, result: dict) -> list[tuple[str, str, str, str]]:
    return [(name, f"did not run: {result['failed']}", "", "**failed**")]


def _verdict(ok: bool) -> str:
    return "meets" if ok else "**misses**"


def rows(export: dict, sync: dict, save: dict) -> list[tuple[str, str, str, str]]:
    """(measure, figure, target, verdict) for the table."""
    found = _failed("Billing Export", export) if "failed" in export else _export_rows(export)
    found += _failed("Sync", sync) if "failed" in sync else _sync_rows(sync)
    found += _failed("Customer save", save) if "failed" in save else _save_rows(save)
    return found


def _export_rows(export: dict) -> list[tuple[str, str, str, str]]:
    found = []
    t, p, h = export["timing"], export["plan"], export["http"]
    found.append(
        (
            f"Billing Export, {t['lines']:,} lines, analysed: time vs COPY of the simplest"
            " equal query",
            f"{t['export_vs_copy']:.2f}x"
            f" ({t['export_seconds']:.2f} s vs {t['copy_seconds']:.2f} s); plan spilled:"
            f" {'yes' if p['spilled'] else 'no'} ({p['temp_blocks_written']} temp blocks)",
            "<= 1.3x, no spill",
            _verdict(t["export_vs_copy"] <= 1.3 and not p["spilled"]),
        )
    )
    small, large = export["memory"]
    growth = (large["peak_rss_kib"] - small["peak_rss_kib"]) / 1024
    found.append(
        (
            "Billing Export: peak RSS of a fresh process",
            f"{small['peak_rss_kib'] / 1024:,.1f} MiB at {small['lines']:,} lines,"
            f" {large['peak_rss_kib'] / 1024:,.1f} MiB at {large['lines']:,} ({growth:+.1f} MiB)",
            "flat (within 10 MiB)",
            _verdict(abs(growth) <= 10),
        )
    )
    for worker in ("sync", "gthread"):
        w = h[worker]
        cut = "" if w["complete"] else f", cut off: {w['bytes']:,} of {h['bytes']:,} bytes"
        found.append(
            (
                f"Billing Export: HTTP download, gunicorn {worker}"
                f" ({w['worker_options']}), {h['lines']:,} lines",
                f"{w['http_vs_in_process']:.2f}x in process ({w['http_seconds']:.1f} s vs"
                f" {h['in_process_seconds']:.1f} s; worker timeout"
                f" {w['worker_timeout_seconds']} s{cut})",
                "<= 1.5x, complete",
                _verdict(w["http_vs_in_process"] <= 1.5 and w["complete"]),
            )
        )
    return found


def _sync_rows(sync: dict) -> list[tuple[str, str, str, str]]:
    found = []
    d = sync["dataset"]
    for r in sync["initial"]:
        found.append(
            (
                f"Initial sync through Celery, {d['customers']:,} customers"
                f" ({d['records']:,} records), {sync['latency_ms']:g} ms latency,"
                f" {r['workers']} worker(s) of {r.get('threads', 1)} thread(s)",
                f"{r['fraction_of_limit']:.0%} of the limit ({r['calls']:,} calls,"
                f" {r['elapsed_seconds']:.0f} s vs {r['limit_seconds']:.0f} s; at most"
                f" {r.get('calls_at_once_most', '?')} at once);"
                f" {r.get('records_per_hour', 0):,} records/hour;"
                f" {r['queries_per_record']:.1f} queries/record; worker CPU"
                f" {r.get('worker_cpu_ms_per_call', 0):.1f} ms per call (every thread);"
                f" a call takes {r.get('worker_ms_per_call', 0):.1f} ms per worker, of which"
                f" the platform answering {r.get('server_ms_per_call', 0):.1f} ms",
                ">= 85%",
                _verdict(r["fraction_of_limit"] >= 0.85 and not r["failed"]),
            )
        )
    if sync["initial"] and "api_minimum_calls" in sync:
        r, minimum = sync["initial"][-1], sync["api_minimum_calls"]
        found.append(
            (
                "Initial sync: calls made vs the API's minimum for the same records",
                f"{r['calls_vs_minimum']:.2f}x ({r['calls']:,} vs {minimum['calls']:,};"
                f" {r['calls_per_record']:.2f} calls per record)",
                "<= 1.1x",
                _verdict(r["calls_vs_minimum"] <= 1.1),
            )
        )
    if "projection" in sync:
        p = sync["projection"]
        found.append(
            (
                f"Projected initial sync, {p['customers']:,} customers /"
                f" {p['assets']:,} assets, {p['at_workers']} calls at once,"
                f" {sync['latency_ms']:g} ms",
                f"{p['hours']:.1f} h ({p['calls']:,} calls at the measured"
                f" {p['calls_per_second']:g} calls/s)",
                "< 12 h",
                _verdict(p["hours"] < 12),
            )
        )
    s = sync["resync"]
    found.append(
        (
            "Unchanged full resync (prepare --full, process)",
            f"{s['writes']} writes, {s['calls']} calls, {s['seconds']:.0f} s"
            f" ({s['queries_per_record']:.1f} queries/record)",
            "0 writes",
            _verdict(s["writes"] == 0),
        )
    )
    shapes = sync["shapes"]
    per = [x["queries_per_record"] for x in shapes]
    found.append(
        (
            "Queries per record synced, by sites/contacts per customer",
            ", ".join(
                f"{x['sites']}/{x['contacts']}: {x['queries_per_record']:.1f}" for x in shapes
            ),
            "do not grow",
            _verdict(all(b <= a * 1.05 for a, b in pairwise(per))),
        )
    )
    return found


def _save_rows(save: dict) -> list[tuple[str, str, str, str]]:
    messages = save.get("messages_per_save")
    published = f", {messages:g} message(s) a save to Redis" if messages is not None else ""
    return [
        (
            "Customer save, integrations on vs off, publishing to Redis",
            f"{save['ratio']:.2f}x; {save['extra_ms']:+.2f} ms"
            f" ({save['on_ms']:.2f} vs {save['off_ms']:.2f} ms),"
            f" {save['extra_queries']:+d} queries{published}",
            "<= 2 queries, < 2 ms, 1 message",
            _verdict(
                save["extra_queries"] <= 2
                and save["extra_ms"] < 2
                and messages is not None
                and messages <= 1
            ),
        )
    ]


def markdown(table: list[tuple[str, str, str, str]], command: str) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    cores = os.cpu_count()
    lines = [
        f"Run {when} on {cores} cores ({platform.machine()}, Python"
        f" {platform.python_version()}, PostgreSQL on 127.0.0.1): `{command}`",
        "",
        "| measure | result | target | |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in table]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument(
        "--threads", default="2", help="jobs each sync worker runs at once (one call on the wire)"
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--only",
        default="export,sync,save",
        help="Run only these (comma-separated: export, sync, save); the others' figures "
        "are taken from the last run's bench/results.json.",
    )
    options = parser.parse_args()
    customers = 100 if options.quick else options.customers
    lines = 10_000 if options.quick else options.lines
    chosen = {name.strip() for name in options.only.split(",")}
    unknown = chosen - {"export", "sync", "save"}
    if unknown:
        parser.error(f"--only takes export, sync and save, not {', '.join(sorted(unknown))}")
    previous_path = BENCH / "results.json"
    previous = json.loads(previous_path.read_text()) if previous_path.exists() else {}

    def earlier(key: str) -> dict:
        return previous.get(key) or {"failed": "not run (and no earlier result)"}

    sync = (
        _run(
            "sync.py",
            *("--customers", str(customers), "--workers", options.workers),
            *("--threads", options.threads),
        )
        if "sync" in chosen
        else earlier("sync")
    )
    save = _run("save_overhead.py") if "save" in chosen else earlier("save_overhead")
    export = (
        _run(
            "billing_export.py",
            *("--lines", str(lines), "--small", str(lines // 10)),
            *("--http-lines", str(2 * lines)),
        )
        if "export" in chosen
        else earlier("billing_export")
    )
    command = "python bench/run.py " + " ".join(sys.argv[1:])
    text = markdown(rows(export, sync, save), command.strip())
    reused = sorted({"export", "sync", "save"} - chosen)
    if reused:
        text += f"\n({', '.join(reused)}: the figures of the run before, kept in results.json.)\n"
    results_write(text)
    (BENCH / "results.json").write_text(
        json.dumps({"billing_export": export, "sync": sync, "save_overhead": save}, indent=2)
    )
    print(text)


def results_write(table: str) -> None:
    """Put the new table in RESULTS.md between its markers, keeping the notes around it
    (the whole file is the table when it has no markers)."""
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    current = RESULTS.read_text() if RESULTS.exists() else ""
    if start in current and end in current:
        before, _, rest = current.partition(start)
        _, _, after = rest.partition(end)
        RESULTS.write_text(f"{before}{start}\n{table.strip()}\n{end}{after}")
    else:
        RESULTS.write_text(table)


if __name__ == "__main__":
    main()
