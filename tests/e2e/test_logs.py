"""Access log (combined and JSON, stdout or a file) and error log (levels; one line per
rejected request and per upstream failure)."""
import json
import os
import re

import httpx

from conftest import free_port, proxy_config, raw_request, status_of, wait_until

Q = r'(?:[^"\\]|\\.)*'  # a quoted field's content: \" and \\ are escaped
COMBINED_RE = re.compile(
    r'^(?P<client>\S+) - - \[(?P<time>[^\]]+)\] "(?P<request>' + Q + r')" (?P<status>\d{3}) '
    r'(?P<bytes>\d+) "(?P<referer>' + Q + r')" "(?P<ua>' + Q + r')" rid=(?P<rid>\S+) in=(?P<in>\d+) '
    r'out=(?P<out>\d+) dur=(?P<dur>[\d.]+) up=(?P<up>\S+) ut=(?P<ut>\S+)(?: err="(?P<err>.*)")?$')


def json_lines(p, count, path=None):
    def read():
        if path:
            with open(path) as f:
                lines = [l for l in f.read().splitlines() if l.strip()]
        else:
            lines = p.access_lines()
        return lines if len(lines) >= count else None
    lines = wait_until(read, timeout=10)
    assert lines, "expected %d access log lines" % count
    return [json.loads(l) for l in lines]


def test_combined_access_log(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    r = httpx.post(p.url("/echo?x=1"), content=b"0123456789",
                   headers={"User-Agent": "e2e-agent/1", "Referer": "http://ref.example/"},
                   timeout=10)
    assert r.status_code == 200
    rid = r.headers["x-request-id"]
    lines = wait_until(lambda: p.access_lines(), timeout=10)
    assert len(lines) == 1, lines
    m = COMBINED_RE.match(lines[0])
    assert m, lines[0]
    assert m["client"] == "127.0.0.1"
    assert m["request"] == "POST /echo?x=1 HTTP/1.1"
    assert m["status"] == "200"
    assert int(m["bytes"]) == len(r.content) == int(m["out"])
    assert m["in"] == "10"
    assert m["referer"] == "http://ref.example/"
    assert m["ua"] == "e2e-agent/1"
    assert m["rid"] == rid
    assert m["up"] == b1.address
    assert float(m["dur"]) >= 0 and float(m["ut"]) >= 0
    assert m["err"] is None


def test_combined_log_escapes_client_controlled_fields(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1]))
    r = httpx.get(p.url("/name"), headers={"User-Agent": 'evil" 200 0 "forged'}, timeout=10)
    assert r.status_code == 200
    lines = wait_until(lambda: p.access_lines(), timeout=10)
    assert len(lines) == 1
    m = COMBINED_RE.match(lines[0])
    assert m and m["status"] == "200"
    assert m["ua"] == 'evil\\" 200 0 \\"forged'


def test_json_access_log_fields(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], top="access_log: { path: stdout, format: json }\n"))
    body = b"a" * 1234
    r1 = httpx.post(p.url("/echo"), content=body, timeout=10)
    r2 = httpx.get(p.url("/sleep/200"), timeout=10)
    r3 = httpx.get(p.url("/bytes/5000"), timeout=10)
    assert (r1.status_code, r2.status_code, r3.status_code) == (200, 200, 200)
    entries = json_lines(p, 3)
    assert len(entries) == 3
    e1, e2, e3 = entries
    for e, r in ((e1, r1), (e2, r2), (e3, r3)):
        assert e["status"] == 200
        assert e["request_id"] == r.headers["x-request-id"]
        assert e["upstream"] == b1.address
        assert isinstance(e["duration_ms"], int) and e["duration_ms"] >= 0
        assert isinstance(e["upstream_ms"], int) and 0 <= e["upstream_ms"] <= e["duration_ms"]
        assert e["bytes_out"] == len(r.content)
        assert e["client"] == "127.0.0.1"
        assert e["protocol"] == "HTTP/1.1"
    assert e1["method"] == "POST" and e1["path"] == "/echo" and e1["bytes_in"] == 1234
    assert e2["bytes_in"] == 0 and e2["path"] == "/sleep/200"
    assert e3["bytes_out"] == 5000


def test_json_log_for_local_replies_and_failures(portico, backends):
    (b1,) = backends(1)
    dead = "127.0.0.1:%d" % free_port()
    routes = ("          - match: { prefix: /dead }\n"
              "            proxy: { cluster: dead }\n"
              "          - match: { prefix: /app }\n"
              "            proxy: { cluster: app }\n")
    cluster = "  - name: dead\n    endpoints:\n      - address: %s\n" % dead
    p = portico(proxy_config([b1], routes=routes, extra_cluster=cluster,
                             top="access_log: { path: stdout, format: json }\n"))
    assert httpx.get(p.url("/nowhere"), timeout=10).status_code == 404
    r = httpx.get(p.url("/dead/x"), timeout=10)
    assert r.status_code == 502
    assert status_of(raw_request(p.port, b"GET /app HTTP/1.1\r\n\r\n")) == 400
    entries = json_lines(p, 3)
    by_status = {e["status"]: e for e in entries}
    assert set(by_status) == {404, 502, 400}
    assert by_status[404]["upstream"] == "" and by_status[404]["upstream_ms"] is None
    assert by_status[502]["upstream"] == dead
    assert by_status[502]["request_id"] == r.headers["x-request-id"]
    assert "refused" in by_status[502]["error"]
    assert by_status[400]["error"] == "HTTP/1.1 request without Host"


def test_access_log_to_a_file(portico, backends, tmpdir_path):
    (b1,) = backends(1)
    path = os.path.join(tmpdir_path, "logs-access.jsonl")
    p = portico(proxy_config([b1], top="access_log: { path: %s, format: json }\n" % path))
    for i in range(5):
        assert httpx.get(p.url("/f%d" % i), timeout=10).status_code == 200
    entries = json_lines(p, 5, path=path)
    assert [e["path"] for e in entries] == ["/f%d" % i for i in range(5)]
    assert p.access_lines() == []  # nothing on stdout
    # Shutdown flushes what is buffered.
    assert httpx.get(p.url("/last"), timeout=10).status_code == 200
    assert p.stop() == 0
    with open(path) as f:
        assert json.loads(f.read().splitlines()[-1])["path"] == "/last"


def test_access_log_off(portico, backends):
    (b1,) = backends(1)
    p = portico(proxy_config([b1], top="access_log: off\n"))
    assert httpx.get(p.url("/name"), timeout=10).status_code == 200
    assert p.stop() == 0
    assert p.access_lines() == []


def test_error_log_lines_for_rejections_and_upstream_failures(portico, backends):
    (b1,) = backends(1)
    dead = "127.0.0.1:%d" % free_port()
    p = portico(proxy_config([b1, dead], extra_cluster="    max_retries: 0\n"))
    raw_request(p.port, b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
    raw_request(p.port, b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n")
    for _ in range(2):
        httpx.get(p.url("/x"), timeout=10)  # one of them goes to the dead endpoint
    r = httpx.get(p.url("/reset"), timeout=10)
    assert r.status_code in (502,)
    log = p.wait_for_log("connection refused")
    lines = log.splitlines()
    rejected = [l for l in lines if "rejected request" in l]
    assert len(rejected) == 2
    assert any("400 (more than one Host)" in l for l in rejected)
    assert any("400 (both Content-Length and Transfer-Encoding)" in l for l in rejected)
    refused = [l for l in lines if "upstream %s" % dead in l]
    assert len(refused) == 1 and "[warn]" in refused[0]
    assert any("upstream %s" % b1.address in l for l in lines)  # the reset


def test_error_log_to_a_file_with_level(portico, backends, tmpdir_path):
    (b1,) = backends(1)
    path = os.path.join(tmpdir_path, "errors.log")
    dead = "127.0.0.1:%d" % free_port()
    p = portico(proxy_config([dead], top="error_log: { path: %s, level: warn }\n" % path))
    assert httpx.get(p.url("/x"), timeout=10).status_code == 502
    raw_request(p.port, b"GET / HTTP/1.1\r\n\r\n")  # info level: not logged at warn
    assert p.stop() == 0
    with open(path) as f:
        text = f.read()
    assert "upstream %s" % dead in text
    assert "rejected request" not in text
    assert "started" not in text  # an info line


def test_request_of_a_half_closed_client_is_logged_with_method_and_path(portico, backends):
    """`printf 'GET /x ...' | nc -N`: the client's FIN comes right behind its request, often
    before the response is logged; the line still names the request."""
    import socket
    (b1,) = backends(1)
    routes = ("          - match: { path: /local }\n"
              "            direct_response: { status: 200, body: \"here\\n\" }\n"
              "          - match: { prefix: / }\n"
              "            proxy: { cluster: app }\n")
    p = portico(proxy_config([b1], routes=routes))
    paths = ["/local", "/proxied"] * 3
    for path in paths:
        s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
        try:
            s.sendall(b"GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % path.encode())
            s.shutdown(socket.SHUT_WR)
            answer = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                answer += chunk
        finally:
            s.close()
        assert answer.startswith(b"HTTP/1.1 200 "), answer
    lines = wait_until(lambda: p.access_lines() if len(p.access_lines()) >= len(paths) else None)
    assert lines, p.access_lines()
    requests = sorted(COMBINED_RE.match(l)["request"] for l in lines)
    assert requests == sorted("GET %s HTTP/1.1" % path for path in paths), lines
