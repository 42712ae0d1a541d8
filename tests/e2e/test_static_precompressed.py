"""Static files with `precompressed`: siblings F.br / F.zst / F.gz made by the real tools are
chosen by Accept-Encoding (q-values, then the configured order), sent with Content-Encoding,
the original's Content-Type and Vary; a sibling never replaces a missing original nor leads
out of the root; ranges and validators apply to the sibling; bad codings fail --check."""
import gzip
import http.client
import os
import re
import subprocess

import brotli
import pytest

from conftest import BIN
from test_static import start as start_static

ORIGINAL = b"".join(b"console.log('line %d of a script that compresses well');\n" % i
                    for i in range(2000))
SECRET = b"top secret\n"


def compress(coding, data, path):
    if coding == "gzip":
        with open(path, "wb") as f:
            f.write(gzip.compress(data))
    elif coding == "br":
        with open(path, "wb") as f:
            f.write(brotli.compress(data))
    else:  # the zstd CLI, as an operator would run it
        plain = path + ".in"
        with open(plain, "wb") as f:
            f.write(data)
        subprocess.run(["zstd", "-q", "-f", "-19", plain, "-o", path], check=True, timeout=60)
        os.unlink(plain)


def decode(coding, data):
    if coding == "gzip":
        return gzip.decompress(data)
    if coding == "br":
        return brotli.decompress(data)
    if coding == "zstd":
        return subprocess.run(["zstd", "-q", "-d", "-c"], input=data, capture_output=True,
                              check=True, timeout=60).stdout
    return data


SUFFIX = {"br": ".br", "zstd": ".zst", "gzip": ".gz"}


@pytest.fixture
def site(tmpdir_path):
    """root/app.js with all three siblings, each with its own mtime; root/plain.css without;
    root/index.html with .gz; root/orphan.js.gz without its original; outside/secret.*."""
    root = os.path.join(tmpdir_path, "site")
    outside = os.path.join(tmpdir_path, "outside")
    os.makedirs(root)
    os.makedirs(outside)
    app = os.path.join(root, "app.js")
    with open(app, "wb") as f:
        f.write(ORIGINAL)
    os.utime(app, (1_600_000_000, 1_600_000_000))
    for i, coding in enumerate(("br", "zstd", "gzip")):
        compress(coding, ORIGINAL, app + SUFFIX[coding])
        os.utime(app + SUFFIX[coding], (1_600_000_100 + i, 1_600_000_100 + i))
    with open(os.path.join(root, "plain.css"), "wb") as f:
        f.write(b"body{}\n")
    with open(os.path.join(root, "index.html"), "wb") as f:
        f.write(b"<h1>home</h1>\n")
    compress("gzip", b"<h1>home</h1>\n", os.path.join(root, "index.html.gz"))
    compress("gzip", ORIGINAL, os.path.join(root, "orphan.js.gz"))
    for coding in ("br", "gzip"):
        compress(coding, SECRET, os.path.join(outside, "secret" + SUFFIX[coding]))
    return root, outside


def start(portico, root, precompressed="[br, zstd, gzip]"):
    option = ", precompressed: %s" % precompressed if precompressed is not None else ""
    return start_static(portico, root, options=option)


def get(p, path, headers=(), method="GET"):
    """One request with exactly `headers` (http.client adds no Accept-Encoding of its own and
    decodes nothing): returns (status, headers, raw body)."""
    conn = http.client.HTTPConnection("127.0.0.1", p.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, r.headers, r.read()
    finally:
        conn.close()


def sibling_bytes(root, name):
    with open(os.path.join(root, name), "rb") as f:
        return f.read()


@pytest.mark.parametrize("accept,coding", [
    ("gzip", "gzip"),
    ("br", "br"),
    ("zstd", "zstd"),
    ("x-gzip", "gzip"),
    ("gzip, br, zstd", "br"),  # equal q: the configured order decides
    ("gzip, zstd", "zstd"),
    ("gzip;q=1, br;q=0.5, zstd;q=0.8", "gzip"),
    ("br;q=0.2, zstd;q=0.9, gzip;q=0.9", "zstd"),
    ("br;q=0, *", "zstd"),
    ("*;q=0.5", "br"),
    ("deflate", None),
    ("identity, gzip;q=0.5", None),
    ("br;q=0, zstd;q=0, gzip;q=0", None),
    ("identity;q=0, deflate", None),  # nothing acceptable: identity anyway, not 406
    (None, None),  # no Accept-Encoding at all
])
def test_coding_follows_accept_encoding(portico, site, accept, coding):
    root, _ = site
    p = start(portico, root)
    status, headers, body = get(p, "/files/app.js",
                                [("Accept-Encoding", accept)] if accept is not None else [])
    assert status == 200
    assert headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert headers["Vary"] == "Accept-Encoding"
    if coding is None:
        assert headers["Content-Encoding"] is None
        assert body == ORIGINAL
        assert headers["Last-Modified"] == "Sun, 13 Sep 2020 12:26:40 GMT"
        return
    assert headers["Content-Encoding"] == coding
    sibling = sibling_bytes(root, "app.js" + SUFFIX[coding])
    assert body == sibling
    assert headers["Content-Length"] == str(len(sibling)) != str(len(ORIGINAL))
    assert decode(coding, body) == ORIGINAL
    # Validators of the sibling: its own mtime (set apart from the original's) and tag.
    assert headers["Last-Modified"] != "Sun, 13 Sep 2020 12:26:40 GMT"
    _, plain, _ = get(p, "/files/app.js")
    assert headers["ETag"] != plain["ETag"]


def test_several_accept_encoding_lines_count_together(portico, site):
    root, _ = site
    p = start(portico, root)
    _, headers, body = get(p, "/files/app.js", [("Accept-Encoding", "br;q=0.1"),
                                                ("Accept-Encoding", "gzip")])
    assert headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == ORIGINAL


def test_configured_order_and_set(portico, site):
    root, _ = site
    p = start(portico, root, precompressed="[gzip, br]")
    _, headers, _ = get(p, "/files/app.js", [("Accept-Encoding", "br, gzip, zstd")])
    assert headers["Content-Encoding"] == "gzip"
    # app.js.zst exists but zstd is not listed: never sent.
    _, headers, body = get(p, "/files/app.js", [("Accept-Encoding", "zstd")])
    assert headers["Content-Encoding"] is None and body == ORIGINAL


@pytest.mark.parametrize("precompressed", [None, "[]"])
def test_off_by_default(portico, site, precompressed):
    root, _ = site
    p = start(portico, root, precompressed=precompressed)
    _, headers, body = get(p, "/files/app.js", [("Accept-Encoding", "gzip, br, zstd")])
    assert headers["Content-Encoding"] is None and body == ORIGINAL
    assert headers["Vary"] is None


@pytest.mark.parametrize("accept,coding", [("br", "br"), ("zstd", "zstd"), ("gzip", "gzip")])
def test_curl_decodes_what_it_gets(portico, site, tmpdir_path, accept, coding):
    root, _ = site
    p = start(portico, root)
    out = os.path.join(tmpdir_path, "app.js")
    r = subprocess.run(["curl", "-sSf", "--compressed", "-H", "Accept-Encoding: " + accept,
                        "-D", "-", "-o", out, p.url("/files/app.js")],
                       capture_output=True, text=True, timeout=60, check=True)
    assert re.search(r"(?im)^content-encoding: %s\r?$" % coding, r.stdout), r.stdout
    with open(out, "rb") as f:
        assert f.read() == ORIGINAL


def test_file_without_sibling_is_sent_plain_with_vary(portico, site):
    root, _ = site
    p = start(portico, root)
    status, headers, body = get(p, "/files/plain.css", [("Accept-Encoding", "gzip, br, zstd")])
    assert status == 200 and body == b"body{}\n"
    assert headers["Content-Encoding"] is None
    assert headers["Vary"] == "Accept-Encoding"
    assert headers["Content-Type"] == "text/css; charset=utf-8"


def test_sibling_without_original_is_404(portico, site):
    root, _ = site
    p = start(portico, root)
    status, _, body = get(p, "/files/orphan.js", [("Accept-Encoding", "gzip")])
    assert status == 404
    assert b"console.log" not in body and not body.startswith(b"\x1f\x8b")
    # The sibling itself is still an ordinary file under its own name.
    status, headers, body = get(p, "/files/orphan.js.gz", [("Accept-Encoding", "gzip")])
    assert status == 200 and headers["Content-Encoding"] is None
    assert headers["Content-Type"] == "application/gzip"
    assert gzip.decompress(body) == ORIGINAL


def test_sibling_linking_out_of_the_root_is_never_served(portico, site):
    root, outside = site
    for coding in ("br", "gzip"):
        os.unlink(os.path.join(root, "app.js" + SUFFIX[coding]))
        os.symlink(os.path.join(outside, "secret" + SUFFIX[coding]),
                   os.path.join(root, "app.js" + SUFFIX[coding]))
    p = start(portico, root)
    # br escapes: the next acceptable sibling is chosen instead.
    _, headers, body = get(p, "/files/app.js", [("Accept-Encoding", "br, zstd;q=0.5")])
    assert headers["Content-Encoding"] == "zstd"
    assert decode("zstd", body) == ORIGINAL
    # Only escaping siblings acceptable: the original, neither 403 nor the secret.
    for accept in ("br", "gzip", "br, gzip"):
        status, headers, body = get(p, "/files/app.js", [("Accept-Encoding", accept)])
        assert status == 200 and headers["Content-Encoding"] is None
        assert body == ORIGINAL


def test_sibling_that_is_a_directory_is_ignored(portico, site):
    root, _ = site
    os.unlink(os.path.join(root, "app.js.br"))
    os.makedirs(os.path.join(root, "app.js.br"))
    p = start(portico, root)
    status, headers, body = get(p, "/files/app.js", [("Accept-Encoding", "br")])
    assert status == 200 and headers["Content-Encoding"] is None and body == ORIGINAL


def test_index_file_has_siblings_too(portico, site):
    root, _ = site
    p = start(portico, root)
    status, headers, body = get(p, "/files/", [("Accept-Encoding", "gzip")])
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert gzip.decompress(body) == b"<h1>home</h1>\n"


def test_head_gets_the_headers_of_get(portico, site):
    root, _ = site
    p = start(portico, root)
    accept = [("Accept-Encoding", "zstd")]
    _, got, _ = get(p, "/files/app.js", accept)
    status, head, body = get(p, "/files/app.js", accept, method="HEAD")
    assert status == 200 and body == b""
    for name in ("Content-Encoding", "Content-Type", "Content-Length", "ETag", "Last-Modified",
                 "Vary"):
        assert head[name] == got[name], name
    assert head["Content-Length"] == str(len(sibling_bytes(root, "app.js.zst")))


def test_ranges_and_validators_apply_to_the_sibling(portico, site):
    root, _ = site
    p = start(portico, root)
    gz = sibling_bytes(root, "app.js.gz")
    accept = ("Accept-Encoding", "gzip")
    status, headers, body = get(p, "/files/app.js", [accept, ("Range", "bytes=10-99")])
    assert status == 206
    assert body == gz[10:100]
    assert headers["Content-Range"] == "bytes 10-99/%d" % len(gz)
    assert headers["Content-Encoding"] == "gzip" and headers["Vary"] == "Accept-Encoding"
    # The whole sibling, reassembled from two ranges, decodes to the original.
    _, _, rest = get(p, "/files/app.js", [accept, ("Range", "bytes=100-")])
    _, _, start_ = get(p, "/files/app.js", [accept, ("Range", "bytes=0-99")])
    assert gzip.decompress(start_ + rest) == ORIGINAL

    _, full, _ = get(p, "/files/app.js", [accept])
    _, plain, _ = get(p, "/files/app.js")
    # If-Range with the sibling's tag: the range; with the plain file's tag: all of the sibling.
    status, _, body = get(p, "/files/app.js",
                          [accept, ("Range", "bytes=0-9"), ("If-Range", full["ETag"])])
    assert status == 206 and body == gz[:10]
    status, headers, body = get(p, "/files/app.js",
                                [accept, ("Range", "bytes=0-9"), ("If-Range", plain["ETag"])])
    assert status == 200 and body == gz and headers["Content-Encoding"] == "gzip"
    # Beyond the end of the sibling (not of the original): 416, without Content-Encoding.
    status, headers, _ = get(p, "/files/app.js", [accept, ("Range", "bytes=%d-" % len(gz))])
    assert len(gz) < len(ORIGINAL)
    assert status == 416 and headers["Content-Range"] == "bytes */%d" % len(gz)
    assert headers["Content-Encoding"] is None
    # Without the coding the same range is served from the original.
    status, headers, body = get(p, "/files/app.js", [("Range", "bytes=%d-" % len(gz))])
    assert status == 206 and body == ORIGINAL[len(gz):]

    # 304 for the sibling's tag, and it names Vary; the plain file's tag does not match it.
    status, headers, body = get(p, "/files/app.js", [accept, ("If-None-Match", full["ETag"])])
    assert status == 304 and body == b""
    assert headers["Vary"] == "Accept-Encoding" and headers["ETag"] == full["ETag"]
    status, _, _ = get(p, "/files/app.js", [accept, ("If-None-Match", plain["ETag"])])
    assert status == 200
    status, _, _ = get(p, "/files/app.js", [("If-None-Match", plain["ETag"])])
    assert status == 304


# The error points at the last occurrence of `at` on the route's line.
@pytest.mark.parametrize("value,at,message", [
    ("[br, deflate]", "deflate", 'precompressed[1]: expected one of: br, zstd, gzip; got "deflate"'),
    ("[gzip, identity]", "identity",
     'precompressed[1]: expected one of: br, zstd, gzip; got "identity"'),
    ("[gzip, br, gzip]", "gzip", 'precompressed[2]: duplicate coding "gzip"'),
    ("gzip", "gzip", "precompressed: expected a list"),
])
def test_bad_codings_fail_check_with_a_position(tmpdir_path, value, at, message):
    root = os.path.join(tmpdir_path, "site")
    os.makedirs(root)
    path = os.path.join(tmpdir_path, "bad.yaml")
    route = "          - static: { root: %s, precompressed: %s }" % (root, value)
    with open(path, "w") as f:
        f.write("listeners:\n"
                "  - name: main\n"
                "    address: 127.0.0.1:8080\n"
                "    virtual_hosts:\n"
                "      - name: all\n"
                "        domains: ['*']\n"
                "        routes:\n" + route + "\n")
    r = subprocess.run([BIN, "--check", path], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    col = route.rindex(at) + 1
    expected = "%s:8:%d: listeners[0].virtual_hosts[0].routes[0].static.%s" % (path, col, message)
    assert r.stderr.startswith(expected), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
