"""Static files: bytes intact (sent with sendfile), index files, directory redirects, ranges,
validators, HEAD, 405, and no escape from the root by any encoding of '..' or by symlinks."""
import hashlib
import os
import subprocess
import threading

import httpx
import pytest

from conftest import raw_request, status_of


@pytest.fixture
def site(tmpdir_path):
    root = os.path.join(tmpdir_path, "site")
    os.makedirs(os.path.join(root, "docs"))
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("<h1>home</h1>\n")
    with open(os.path.join(root, "docs", "index.html"), "w") as f:
        f.write("<h1>docs</h1>\n")
    big = os.urandom(3 * 1024 * 1024 + 17)
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.write(big)
    with open(os.path.join(root, "style.css"), "w") as f:
        f.write("body{}\n")
    secret = os.path.join(tmpdir_path, "secret.txt")
    with open(secret, "w") as f:
        f.write("top secret\n")
    os.symlink(secret, os.path.join(root, "escape.txt"))
    return root, big


def start(portico, root, prefix="/files", listener="", options=""):
    """A listener with one route serving `root` under `prefix`; `options` are more keys of the
    static action (", precompressed: [gzip]")."""
    return portico("""
    workers: 1
    listeners:
      - name: main
        address: 127.0.0.1:{port}
        %s
        virtual_hosts:
          - name: all
            domains: ["*"]
            routes:
              - match: { prefix: %s }
                static: { root: %s%s }
    """ % (listener, prefix, root, options))


def test_large_file_arrives_intact_and_typed(portico, site):
    root, big = site
    p = start(portico, root)
    r = httpx.get(p.url("/files/big.bin"), timeout=30)
    assert r.status_code == 200
    assert hashlib.sha256(r.content).hexdigest() == hashlib.sha256(big).hexdigest()
    assert r.headers["content-length"] == str(len(big))
    assert r.headers["accept-ranges"] == "bytes"
    css = httpx.get(p.url("/files/style.css"))
    assert css.headers["content-type"].startswith("text/css")


def test_index_file_and_directory_redirect(portico, site):
    root, _ = site
    p = start(portico, root)
    assert httpx.get(p.url("/files/")).text == "<h1>home</h1>\n"
    r = httpx.get(p.url("/files/docs?x=1"))
    assert r.status_code == 301
    assert r.headers["location"] == "/files/docs/?x=1"
    assert httpx.get(p.url("/files/docs/")).text == "<h1>docs</h1>\n"
    assert httpx.get(p.url("/files/missing.txt")).status_code == 404


def test_ranges(portico, site):
    root, big = site
    p = start(portico, root)
    r = httpx.get(p.url("/files/big.bin"), headers={"Range": "bytes=100-199"})
    assert r.status_code == 206
    assert r.content == big[100:200]
    assert r.headers["content-range"] == "bytes 100-199/%d" % len(big)
    r = httpx.get(p.url("/files/big.bin"), headers={"Range": "bytes=-10"})
    assert r.status_code == 206 and r.content == big[-10:]
    r = httpx.get(p.url("/files/big.bin"), headers={"Range": "bytes=%d-" % (len(big) + 5)})
    assert r.status_code == 416
    assert r.headers["content-range"] == "bytes */%d" % len(big)
    # If-Range with a stale validator: the whole file.
    r = httpx.get(p.url("/files/big.bin"), headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert r.status_code == 200 and len(r.content) == len(big)


def test_validators_give_304(portico, site):
    root, _ = site
    p = start(portico, root)
    first = httpx.get(p.url("/files/index.html"))
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    r = httpx.get(p.url("/files/index.html"), headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b""
    r = httpx.get(p.url("/files/index.html"), headers={"If-Modified-Since": modified})
    assert r.status_code == 304
    r = httpx.get(p.url("/files/index.html"), headers={"If-None-Match": '"other"'})
    assert r.status_code == 200


def test_head_and_method_not_allowed(portico, site):
    root, big = site
    p = start(portico, root)
    r = httpx.head(p.url("/files/big.bin"))
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-length"] == str(len(big))
    r = httpx.post(p.url("/files/index.html"), content=b"x")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize("path", [
    b"/files/../secret.txt",
    b"/files/%2e%2e/secret.txt",
    b"/files/%2E%2e/secret.txt",
    b"/files/.%2e/secret.txt",
    b"/files/docs/../../secret.txt",
    b"/files/docs/%2e%2e%2f%2e%2e%2fsecret.txt",
    b"/files/..%2fsecret.txt",
    b"/files/%00index.html",
])
def test_no_escape_from_root(portico, site, path):
    root, _ = site
    p = start(portico, root)
    response = raw_request(p.port, b"GET " + path + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert status_of(response) in (400, 403, 404)
    assert b"top secret" not in response
    assert "rejected path" in p.error_log() or status_of(response) == 404


def test_symlink_out_of_root_is_forbidden(portico, site):
    root, _ = site
    p = start(portico, root)
    r = httpx.get(p.url("/files/escape.txt"))
    assert r.status_code == 403
    assert "top secret" not in r.text


def test_curl_download_matches(portico, site, tmpdir_path):
    root, big = site
    p = start(portico, root)
    out = os.path.join(tmpdir_path, "download.bin")
    subprocess.run(["curl", "-sf", "-o", out, p.url("/files/big.bin")], check=True, timeout=60)
    with open(out, "rb") as f:
        assert f.read() == big


def test_directory_redirect_is_never_protocol_relative(portico, site):
    root, _ = site
    for paths in ("", "paths: { merge_slashes: false }"):
        p = start(portico, root, prefix="/", listener=paths)
        for target in (b"//docs", b"///docs?x=1", b"/%2e%2e//docs"):
            r = raw_request(p.port, b"GET " + target + b" HTTP/1.1\r\nHost: a\r\n"
                            b"Connection: close\r\n\r\n")
            assert status_of(r) == 301, (paths, target, r)
            location = [l for l in r.split(b"\r\n") if l.lower().startswith(b"location:")][0]
            expected = b"/docs/?x=1" if b"?" in target else b"/docs/"
            assert location.split(b":", 1)[1].strip() == expected, (paths, r)


def test_file_with_trailing_slash_is_404(portico, site):
    root, _ = site
    p = start(portico, root)
    assert httpx.get(p.url("/files/style.css")).status_code == 200
    assert httpx.get(p.url("/files/style.css/")).status_code == 404


def test_symlinks_inside_the_root_work_and_escaping_directories_do_not(portico, site,
                                                                        tmpdir_path):
    root, _ = site
    os.symlink("style.css", os.path.join(root, "latest.css"))
    os.symlink("../docs/index.html", os.path.join(root, "docs", "self.html"))
    os.symlink(tmpdir_path, os.path.join(root, "up"))
    p = start(portico, root)
    assert httpx.get(p.url("/files/latest.css")).text == "body{}\n"
    assert httpx.get(p.url("/files/docs/self.html")).text == "<h1>docs</h1>\n"
    r = httpx.get(p.url("/files/up/secret.txt"))
    assert r.status_code == 403 and "top secret" not in r.text


def test_symlink_swapped_during_requests_never_leaks(portico, site, tmpdir_path):
    """A link flipped between a file inside and one outside the root while requests run: the
    check and the open are one step, so no response ever carries the outside file."""
    root, _ = site
    secret = os.path.join(tmpdir_path, "secret.txt")
    link = os.path.join(root, "flip.css")
    p = start(portico, root)
    stop = threading.Event()

    def flip():
        tmp = link + ".tmp"
        while not stop.is_set():
            for target in (secret, "style.css"):
                os.symlink(target, tmp)
                os.rename(tmp, link)

    flipper = threading.Thread(target=flip)
    flipper.start()
    try:
        leaked = 0
        with httpx.Client() as client:
            for _ in range(1500):
                if "top secret" in client.get(p.url("/files/flip.css")).text:
                    leaked += 1
    finally:
        stop.set()
        flipper.join()
    assert leaked == 0


@pytest.mark.parametrize("spec,status,first,last", [
    ("bytes=10-99999999999999999999", 206, 10, None),
    ("bytes=10-18446744073709551616", 206, 10, None),
    ("bytes=0-123456789012345678901234567890", 206, 0, None),
    ("bytes=-99999999999999999999", 206, 0, None),
    ("bytes=99999999999999999999-", 416, None, None),
    ("bytes=18446744073709551616-18446744073709551617", 416, None, None),
])
def test_range_positions_beyond_the_end(portico, site, spec, status, first, last):
    root, big = site
    p = start(portico, root)
    r = httpx.get(p.url("/files/big.bin"), headers={"Range": spec})
    assert r.status_code == status
    if status == 206:
        end = len(big) - 1 if last is None else last
        assert r.headers["content-range"] == "bytes %d-%d/%d" % (first, end, len(big))
        assert r.content == big[first:end + 1]
    else:
        assert r.headers["content-range"] == "bytes */%d" % len(big)
