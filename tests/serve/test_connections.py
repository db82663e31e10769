"""Idle and half-sent connections cannot lock a real `tweetsent serve` process out, and are
closed after the configured timeouts (serve/connections.py)."""

from __future__ import annotations

import json
import resource
import socket
import struct
import time

import pytest

IDLE = 1200  # more than the old limit (max_pending + 64 = 1088)


def _open_files(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def _closed_by_server(sock: socket.socket, wait: float) -> bool:
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_idle_sockets_do_not_lock_out_healthz(timeout_server):
    count = min(IDLE, _open_files(IDLE + 256) - 256)
    if count < 1100:
        pytest.skip(f"open-files limit too low for {IDLE} sockets")
    sockets: list[socket.socket] = []
    try:
        for i in range(count):
            sock = socket.create_connection(("127.0.0.1", timeout_server.port), timeout=5)
            if i % 2:  # half of them start a request and never finish its headers
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            sockets.append(sock)
        opened = time.monotonic()
        reply = timeout_server.call("GET", "/healthz")
        assert reply.status == 200, reply.body
        assert time.monotonic() - opened < 2  # answered while they are all still open
        # After --request-timeout (2 s) the server closes every one of them.
        time.sleep(max(0.0, 2.5 - (time.monotonic() - opened)))
        still_open = sum(not _closed_by_server(s, wait=3.0) for s in sockets[:50] + sockets[-50:])
        assert still_open == 0
    finally:
        for sock in sockets:
            sock.close()
    assert timeout_server.call("GET", "/healthz").status == 200


def test_keep_alive_connection_times_out(timeout_server):
    with socket.create_connection(("127.0.0.1", timeout_server.port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)
        assert b"200 OK" in sock.recv(65536)
        started = time.monotonic()
        assert _closed_by_server(sock, wait=5.0)  # --keep-alive 1
        assert time.monotonic() - started < 3.5


def test_slow_headers_after_a_request_are_cut(timeout_server):
    with socket.create_connection(("127.0.0.1", timeout_server.port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)
        assert b"200 OK" in sock.recv(65536)
        started = time.monotonic()
        closed = False
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\n":  # one byte every 0.2 s
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.2)
        closed = closed or _closed_by_server(sock, wait=3.0)
        assert closed and time.monotonic() - started < 6


def test_unparsable_requests_get_a_json_400(timeout_server):
    with socket.create_connection(("127.0.0.1", timeout_server.port), timeout=5) as sock:
        sock.sendall(b"NOT HTTP AT ALL\x00\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head
    assert json.loads(body)["error"]["code"] == "bad_request"


def test_a_client_gone_mid_pipeline_logs_no_traceback(timeout_server):
    body = json.dumps({"texts": ["good day " * 30] * 8}).encode()
    request = b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    request += b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    before = timeout_server.log_path.read_text()
    for _ in range(5):
        sock = socket.create_connection(("127.0.0.1", timeout_server.port), timeout=5)
        sock.sendall(request * 3)  # three pipelined requests, then a reset
        time.sleep(0.01)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    time.sleep(1.5)
    assert timeout_server.call("GET", "/healthz").status == 200
    new = timeout_server.log_path.read_text()[len(before) :]
    assert "Traceback" not in new, new[:2000]


def test_beyond_max_connections_the_longest_idle_one_is_closed(bilstm_run, start_server):
    srv = start_server(bilstm_run, "--max-connections=20", "--request-timeout=30")
    srv.wait_ready()
    sockets = [socket.create_connection(("127.0.0.1", srv.port), timeout=5) for _ in range(30)]
    try:
        time.sleep(0.5)
        assert srv.call("GET", "/healthz").status == 200  # a new client is still answered
        oldest = sum(_closed_by_server(s, wait=2.0) for s in sockets[:10])
        newest = sum(_closed_by_server(s, wait=0.2) for s in sockets[-5:])
        assert oldest == 10 and newest == 0
    finally:
        for sock in sockets:
            sock.close()


def _read_reply(sock: socket.socket) -> bytes:
    reply = b""
    try:
        while chunk := sock.recv(65536):
            reply += chunk
    except ConnectionResetError:
        pass
    return reply


def test_oversized_headers_get_a_431_and_healthz_still_answers(timeout_server):
    """Issue 26 item 2: headers over --max-header-bytes (64 KiB) are refused, not buffered."""
    with socket.create_connection(("127.0.0.1", timeout_server.port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        sent = 0
        try:
            while sent < 8 << 20:  # 8 MB of one header (read and discarded after the 431)
                sock.sendall(b"a" * 65536)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = _read_reply(sock)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431"), reply[:200]
    assert json.loads(body)["error"]["code"] == "headers_too_large"
    assert timeout_server.call("GET", "/healthz").status == 200


def test_a_body_over_the_limit_gets_a_json_413_not_a_broken_pipe(timeout_server):
    """Issue 26 item 3: a 2 MB body (the limit is 1 MiB) is answered 413 with the limit."""
    body = json.dumps({"texts": ["a" * 2_000_000]}).encode()
    head = b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    with socket.create_connection(("127.0.0.1", timeout_server.port), timeout=5) as sock:
        sock.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body))
        for start in range(0, len(body), 1 << 16):  # as a client on a real network sends it
            sock.sendall(body[start : start + (1 << 16)])  # the whole body: no broken pipe
            time.sleep(0.005)
        reply = _read_reply(sock)
    head, _, answer = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), reply[:200]
    error = json.loads(answer)["error"]
    assert error["code"] == "body_too_large" and "1,048,576-byte limit" in error["message"]
