"""Load test of `tweetsent serve`: N concurrent clients for T seconds, on loopback only.

    python bench/load_test.py --run runs/bilstm --clients 32 --seconds 30
    python bench/load_test.py --url http://127.0.0.1:8000 --clients 8 --seconds 10 --texts t.tsv

With --run it starts the server itself (a free loopback port, stopped at the end); with --url
it drives a running one. Each client keeps one HTTP/1.1 keep-alive connection and sends
`POST /v1/predict` with --batch tweets, waiting for each answer before the next request
(closed loop). Bounded: it stops after --seconds (plus --warmup, not counted) or
--max-requests, and no request waits more than --timeout. Reports throughput, latency
p50/p95/p99/max, and the count of non-2xx answers and of failed requests.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import ipaddress
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

SAMPLE = [
    "I love this new phone, best purchase ever :)",
    "worst customer service ever, 3 hours on hold #fail",
    "meeting moved to tuesday, see the updated schedule",
    "@friend can't wait for the game tonight!!! soooo excited",
    "ugh mondays... my bus was late again",
    "not bad at all, the movie was better than I expected",
    "the weather report says rain all week",
    "I don't hate it but I don't love it either",
    "happy birthday!!! have an amazing day http://t.co/xyz",
    "this update broke everything, terrible",
]


def main() -> int:
    args = parse_args()
    texts = load_texts(args.texts)
    server = start_server(args) if args.run else None
    url = server[1] if server else args.url
    try:
        check_loopback(url)
        wait_ready(url, timeout=120)
        cpu_before = cpu_seconds(server[0].pid) if server else None
        load_before = os.getloadavg()[0]
        gc.collect()
        gc.freeze()  # no full collection over the client's long-lived objects mid-run
        stats = asyncio.run(drive(url, texts, args))
        cpu = cpu_seconds(server[0].pid) - cpu_before if server else None
    finally:
        if server:
            stop_server(server[0])
    report = summarise(stats, args)
    report["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    if cpu is not None and stats.total:
        report["server_cpu_ms_per_request"] = round(1000 * cpu / stats.total, 3)
    print(format_report(report))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    return 0


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--run", help="run directory: start `tweetsent serve` on it")
    where.add_argument("--url", help="a running server on loopback, e.g. http://127.0.0.1:8000")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--warmup", type=float, default=3.0, help="seconds not counted")
    p.add_argument("--batch", type=int, default=1, help="tweets per request")
    p.add_argument("--texts", help="tweets: a SemEval TSV (3rd column) or one tweet a line")
    p.add_argument("--max-requests", type=int, default=2_000_000)
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    p.add_argument("--serve-args", default="", help="extra `tweetsent serve` flags, with --run")
    p.add_argument("--out", help="write the report as JSON here")
    return p.parse_args()


def load_texts(path: str | None) -> list[str]:
    if not path:
        return SAMPLE
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    texts = [line.split("\t")[2] if line.count("\t") >= 2 else line for line in lines]
    return [text for text in texts if text.strip()] or SAMPLE


def start_server(args: argparse.Namespace) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "tweetsent.cli", "serve", args.run, "--port", str(port)]
    command += args.serve_args.split()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=sys.stderr)
    return process, f"http://127.0.0.1:{port}"


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def check_loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"load_test: {host} is not a loopback address; refusing to load it")


def wait_ready(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"load_test: {url} not ready after {timeout:.0f} s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: Counter = Counter()
        self.failures: Counter = Counter()
        self.started = self.ended = 0.0
        self.total = 0  # answers, warm-up included (for CPU per request)


async def drive(url: str, texts: list[str], args: argparse.Namespace) -> Stats:
    parsed = urlparse(url)
    stats = Stats()
    loop = asyncio.get_running_loop()
    begin = loop.time()
    measure_from = begin + args.warmup
    stop_at = measure_from + args.seconds
    stats.started, stats.ended = measure_from, stop_at
    budget = [args.max_requests]
    clients = [
        client(
            parsed.hostname, parsed.port or 80, texts, args, stats, measure_from, stop_at, i, budget
        )
        for i in range(args.clients)
    ]
    await asyncio.gather(*clients)
    stats.ended = min(stop_at, loop.time())
    return stats


async def client(host, port, texts, args, stats, measure_from, stop_at, seed, budget) -> None:
    loop = asyncio.get_running_loop()
    rng = random.Random(seed)
    conn = None
    while loop.time() < stop_at and budget[0] > 0:
        budget[0] -= 1
        body = json.dumps({"texts": rng.sample(texts, min(args.batch, len(texts)))}).encode()
        start = loop.time()
        try:
            if conn is None:
                conn = await asyncio.wait_for(asyncio.open_connection(host, port), args.timeout)
            status, keep = await asyncio.wait_for(request(conn, host, body), args.timeout)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            if start >= measure_from:
                stats.failures[type(exc).__name__] += 1
            conn = _close(conn)
            continue
        stats.total += 1
        if start >= measure_from:
            stats.latencies.append(loop.time() - start)
            stats.statuses[status] += 1
        if not keep:
            conn = _close(conn)
    _close(conn)


async def request(conn, host: str, body: bytes) -> tuple[int, bool]:
    reader, writer = conn
    head = (
        f"POST /v1/predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    writer.write(head + body)
    await writer.drain()
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length, keep = 0, True
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
        elif name.strip().lower() == "connection" and "close" in value.lower():
            keep = False
    await reader.readexactly(length)
    return status, keep


def _close(conn) -> None:
    if conn is not None:
        conn[1].close()
    return None


def summarise(stats: Stats, args: argparse.Namespace) -> dict:
    seconds = max(stats.ended - stats.started, 1e-9)
    lat = np.array(stats.latencies) * 1000.0
    done = len(lat)
    ok = sum(n for status, n in stats.statuses.items() if 200 <= status < 300)
    pct = (lambda q: round(float(np.percentile(lat, q)), 2)) if done else (lambda q: None)
    return {
        "clients": args.clients,
        "seconds": round(seconds, 2),
        "tweets_per_request": args.batch,
        "requests": done,
        "throughput_rps": round(done / seconds, 1),
        "tweets_per_s": round(done * args.batch / seconds, 1),
        "latency_ms": {"p50": pct(50), "p95": pct(95), "p99": pct(99), "max": pct(100)},
        "non_2xx": done - ok,
        "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
        "failed_requests": dict(stats.failures),
        "cpu_count": os.cpu_count(),
    }


def format_report(r: dict) -> str:
    lat = r["latency_ms"]
    return "\n".join(
        [
            f"{r['clients']} clients, {r['seconds']} s, {r['tweets_per_request']} tweet(s)/request",
            f"requests      {r['requests']:,} ({r['throughput_rps']:,} req/s, "
            f"{r['tweets_per_s']:,} tweets/s)",
            f"latency ms    p50 {lat['p50']}  p95 {lat['p95']}  p99 {lat['p99']}  max {lat['max']}",
            f"non-2xx       {r['non_2xx']}  statuses {r['statuses']}",
            f"failed        {sum(r['failed_requests'].values())} {r['failed_requests'] or ''}",
            f"machine       {r['cpu_count']} CPUs, 1-min load average {r['load_average_1min']} "
            "(before, after)",
        ]
        + (
            [f"server CPU    {r['server_cpu_ms_per_request']} ms per request"]
            if "server_cpu_ms_per_request" in r
            else []
        )
    )


if __name__ == "__main__":
    sys.exit(main())
