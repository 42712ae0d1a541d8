#!/usr/bin/env python3
"""Response compression benchmark: Portico against nginx gzip and HAProxy gzip (issue 9).

Started by bench/compression.sh (which checks the tools and builds Portico); see the usage
there. Python stdlib only, plus the `brotli` module (python3-brotli) to check br responses.

Layout: the client (wrk -t1) and the origin (one nginx worker) share the client CPU; every
proxy runs alone on the proxy CPU with one worker/thread, and all of them stay up for the
whole invocation (only the one under load does any work). For each scenario (a ~100 KiB JSON
or HTML body) every target gets a warm-up run, then --rounds rounds with the order rotated
each round. The proxy's CPU is read from /proc (utime+stime of its process group) around
each run. Ratios are paired: each target's value divided by nginx-gzip's value of the same
round, so that a machine whose speed drifts during a scenario does not bias them.

Every process started here runs in its own process group and is stopped by that group's id.
"""
import argparse
import datetime
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import bodies  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")
REF = "nginx-gzip"

SCENARIOS = {
    "json": dict(path="/data.json", ctype="application/json", make=bodies.json_body),
    "html": dict(path="/page.html", ctype="text/html", make=bodies.html_body),
}

# name -> (encoding sent in Accept-Encoding, port offset from --base-port)
TARGETS = {
    "nginx-gzip": ("gzip", 100),
    "haproxy-gzip": ("gzip", 200),
    "portico-gzip": ("gzip", 300),
    "portico-br": ("br", 400),
    "portico-zstd": ("zstd", 500),
}
ORIGIN_OFFSET = 80

STARTED = []  # Popen objects, each leading its own process group


def log(msg):
    print("[compression %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def fail(msg):
    log("FAILED: " + msg)
    cleanup()
    sys.exit(1)


def render(text, values):
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), m.group(0))), text)


# ---------------------------------------------------------------------------- processes
def start(name, argv, cpus, workdir):
    logf = open(os.path.join(workdir, name + ".log"), "ab")
    p = subprocess.Popen(["taskset", "-c", cpus] + argv, stdin=subprocess.DEVNULL, stdout=logf,
                         stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True)
    logf.close()
    STARTED.append(p)
    return p


def group_pids(pgid):
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                pids.append(int(d))
        except (OSError, IndexError, ValueError):
            pass
    return pids


def group_ticks(pgid):
    """utime + stime of every live process in the group, in clock ticks"""
    total = 0
    for pid in group_pids(pgid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total


def stop(p):
    for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 1.0)):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            break
        end = time.time() + grace
        while time.time() < end and group_pids(p.pid):
            p.poll()
            time.sleep(0.05)
        if not group_pids(p.pid):
            break
    try:
        p.wait(timeout=1)
    except subprocess.TimeoutExpired:
        pass


def cleanup():
    while STARTED:
        stop(STARTED.pop())


def on_signal(signum, _frame):
    log("signal %d: stopping what was started" % signum)
    cleanup()
    sys.exit(128 + signum)


def busy_cpu():
    """{cpuN: (idle ticks, total ticks)} from /proc/stat"""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                v = line.split()
                n = list(map(int, v[1:9]))
                out[v[0]] = (n[3] + n[4], sum(n))
    return out


def busy_between(a, b):
    return sum(1 - (b[c][0] - a[c][0]) / max(1, b[c][1] - a[c][1]) for c in b)


def children_cpu():
    t = os.times()
    return t.children_user + t.children_system


def port_free(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def get_status(port, path, timeout=1.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % path).encode())
        head = s.recv(64)
        return int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    finally:
        s.close()


def wait_ready(name, port, proc, timeout=20.0):
    end = time.time() + timeout
    last = ""
    while time.time() < end:
        if proc.poll() is not None and not group_pids(proc.pid):
            return "%s exited with code %s" % (name, proc.returncode)
        try:
            st = get_status(port, SCENARIOS["json"]["path"])
            if st == 200:
                return None
            last = "status %d" % st
        except OSError as e:
            last = str(e)
        time.sleep(0.1)
    return "%s not ready after %.0f s (%s)" % (name, timeout, last)


# ---------------------------------------------------------------------------- sanity check
def decode(encoding, data):
    if encoding == "gzip":
        return zlib.decompress(data, 16 + zlib.MAX_WBITS)
    if encoding == "br":
        import brotli
        return brotli.decompress(data)
    if encoding == "zstd":
        return subprocess.run(["zstd", "-d", "-c", "-q"], input=data, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, check=True).stdout
    raise ValueError(encoding)


def curl_check(port, sc, encoding, original, workdir):
    """Fetches the body once with curl, raw (no --compressed), and checks it: the encoding
    asked for, the origin's Content-Type, and a body that decodes to the original bytes.
    Returns dict(encoding=..., size=..., ok=bool, problem=str|None)."""
    hdr = os.path.join(workdir, "check.headers")
    body = os.path.join(workdir, "check.body")
    r = subprocess.run(["curl", "-sS", "--max-time", "10", "-H", "Accept-Encoding: " + encoding,
                        "-D", hdr, "-o", body, "http://127.0.0.1:%d%s" % (port, sc["path"])],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        return dict(encoding=None, size=None, ok=False, problem="curl failed: " + r.stdout.strip())
    headers = {}
    with open(hdr, "rb") as f:
        lines = f.read().decode("latin-1").split("\r\n")
    status = lines[0]
    for line in lines[1:]:
        k, sep, v = line.partition(":")
        if sep:
            headers[k.strip().lower()] = v.strip()
    with open(body, "rb") as f:
        data = f.read()
    got = headers.get("content-encoding", "identity").lower()
    res = dict(encoding=got, size=len(data), ok=False, problem=None, vary=headers.get("vary"))
    if " 200" not in status:
        res["problem"] = "status line %r" % status
    elif not headers.get("content-type", "").startswith(sc["ctype"]):
        res["problem"] = "Content-Type %r, origin sent %r" % (headers.get("content-type"), sc["ctype"])
    elif got == "identity":
        res["ok"] = data == original
        res["problem"] = "not compressed (no Content-Encoding)" + ("" if res["ok"] else ", and the body differs")
    elif got != encoding:
        res["problem"] = "Content-Encoding %r, asked for %r" % (got, encoding)
    else:
        try:
            decoded = decode(encoding, data)
        except Exception as e:  # any decoder error means a broken stream
            res["problem"] = "body does not decode as %s: %s" % (encoding, e)
        else:
            res["ok"] = decoded == original
            if not res["ok"]:
                res["problem"] = "decodes to %d bytes that differ from the original %d" % (len(decoded), len(original))
            else:
                res["problem"] = None
    return res


# ---------------------------------------------------------------------------- load runs
def other_cpu_now(pgids, secs=0.3):
    """cores used by processes that are not ours, measured over `secs`"""
    t0 = sum(group_ticks(g) for g in pgids)
    a = busy_cpu()
    w0 = time.time()
    time.sleep(secs)
    b = busy_cpu()
    t1 = sum(group_ticks(g) for g in pgids)
    return busy_between(a, b) - (t1 - t0) / HZ / (time.time() - w0)


def wait_quiet(pgids, limit, max_wait=2.0):
    end = time.time() + max_wait
    while True:
        o = other_cpu_now(pgids)
        if o <= limit or time.time() >= end:
            return o


def run_wrk(cfg, port, sc, encoding, secs, proxy_pgid, origin_pgid, all_pgids):
    argv = ["taskset", "-c", cfg.client_cpus, "wrk", "-t1", "-c%d" % cfg.conns, "-d%ds" % secs,
            "--timeout", "5s", "-H", "Accept-Encoding: " + encoding, "-s", os.path.join(HERE, "report.lua"),
            "http://127.0.0.1:%d%s" % (port, sc["path"])]
    p0, o0, c0, s0 = group_ticks(proxy_pgid), group_ticks(origin_pgid), children_cpu(), busy_cpu()
    others0 = sum(group_ticks(g) for g in all_pgids if g not in (proxy_pgid, origin_pgid))
    t0 = time.time()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, start_new_session=True)
    STARTED.append(p)
    try:
        out, _ = p.communicate(timeout=secs + 30)
    except subprocess.TimeoutExpired:
        stop(p)
        out = ""
    STARTED.remove(p)
    wall = time.time() - t0
    p1, o1, c1, s1 = group_ticks(proxy_pgid), group_ticks(origin_pgid), children_cpu(), busy_cpu()
    others1 = sum(group_ticks(g) for g in all_pgids if g not in (proxy_pgid, origin_pgid))
    m = re.search(r"^RESULT (\{.*\})$", out, re.M)
    if not m:
        return dict(error="wrk printed no result: " + out.strip()[-300:])
    r = json.loads(m.group(1))
    dur = r["duration_us"] / 1e6
    rec = dict(requests=r["requests"], rps=r["requests"] / dur, errors=r["errors"] + r["status_errors"],
               p50_ms=r["p50_us"] / 1000, p99_ms=r["p99_us"] / 1000,
               wire_bytes=r["bytes"] / max(1, r["requests"]))
    rec["proxy_cpu"] = (p1 - p0) / HZ / wall
    rec["origin_cpu"] = (o1 - o0) / HZ / wall
    rec["client_cpu"] = (c1 - c0) / wall
    idle = (others1 - others0) / HZ / wall
    rec["other_cpu"] = busy_between(s0, s1) - rec["proxy_cpu"] - rec["origin_cpu"] - rec["client_cpu"] - idle
    if rec["proxy_cpu"] > 0:
        rec["per_core"] = rec["rps"] / rec["proxy_cpu"]
        rec["cpu_us"] = rec["proxy_cpu"] * wall / max(1, r["requests"]) * 1e6
    return rec


# ---------------------------------------------------------------------------- report
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fnum(v, fmt="%.0f"):
    return "n/a" if v is None else fmt % v


def fk(v):
    return "n/a" if v is None else ("%.1fk" % (v / 1000) if v >= 10000 else "%.0f" % v)


def paired(records, scen, metric):
    """{target: (median, [per-round ratios])} of value / REF's value in the same round"""
    rounds = {}
    for r in records:
        if r["scenario"] == scen and r.get(metric) is not None:
            rounds.setdefault(r["round"], {})[r["target"]] = r[metric]
    out = {}
    for rnd in sorted(rounds):
        vals = rounds[rnd]
        if not vals.get(REF):
            continue
        for t, v in vals.items():
            out.setdefault(t, []).append(v / vals[REF])
    return {t: (med(xs), xs) for t, xs in out.items()}


def report(meta, cfg, checks, records, sizes):
    targets = cfg.targets
    L = ["# Compression benchmark %s" % meta["started"], ""]
    L.append("Command: `%s`" % meta["command"])
    L.append("")
    L.append("Machine: %s; %d CPUs; kernel %s. Versions: %s." % (
        meta["cpu"], meta["nproc"], meta["kernel"], "; ".join("%s %s" % kv for kv in meta["versions"].items())))
    L.append("")
    L.append("Layout: wrk (`-t1 -c%d`) and the origin (one nginx worker, bodies from the page cache) on CPU %s; "
             "each proxy alone on CPU %s with one worker/thread. %d s runs after a %d s warm-up per target and "
             "scenario, %d round(s) with the order rotated each round. Levels: gzip %d (nginx, Portico; HAProxy: "
             "see below), br %d, zstd %d; min_length %d." % (
                 cfg.conns, cfg.client_cpus, cfg.proxy_cpus, cfg.duration, cfg.warmup, cfg.rounds,
                 cfg.gzip_level, cfg.br_level, cfg.zstd_level, cfg.min_length))
    L.append("")
    L.append("Bodies: %s." % ", ".join("%s %d bytes (`%s`)" % (s, sizes[s], SCENARIOS[s]["ctype"])
                                         for s in cfg.scenarios))
    L.append("")
    L.append("HAProxy compression library: **%s**. %s" % (meta["haproxy_lib"], meta["haproxy_note"]))
    L.append("")
    if meta.get("identity_note"):
        L.append("**Development run:** %s" % meta["identity_note"])
        L.append("")
    n_noisy = sum(1 for r in records if r.get("other_cpu", 0) > cfg.max_other_cpu)
    L.append("Noise: %d of %d measured runs had more than %.2f cores of foreign CPU use (marked *)." % (
        n_noisy, len(records), cfg.max_other_cpu))
    L.append("")

    L.append("## Responses (checked with curl before measuring)")
    L.append("")
    L.append("| scenario | target | Accept-Encoding | Content-Encoding | body bytes | of original | decodes to the original |")
    L.append("|---|---|---|---|---|---|---|")
    for s in cfg.scenarios:
        for t in targets:
            c = checks[(s, t)]
            L.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                s, t, TARGETS[t][0], c["encoding"], fnum(c["size"], "%d"),
                "%.1f%%" % (100 * c["size"] / sizes[s]) if c["size"] else "n/a",
                "yes" if c["ok"] else "no" + (" (%s)" % c["problem"] if c["problem"] else "")))
    L.append("")

    L.append("## Paired ratios vs %s: per-core req/s (req/s / proxy CPU)" % REF)
    L.append("")
    L.append("Each round's value divided by %s's value in the same round; median first, then the rounds. "
             "Issue 9 asks portico-gzip for at least 1.00." % REF)
    L.append("")
    others = [t for t in targets if t != REF]
    L.append("| scenario | " + " | ".join(others) + " |")
    L.append("|---|" + "---|" * len(others))
    for s in cfg.scenarios:
        pr = paired([r for r in records], s, "per_core")
        L.append("| %s | %s |" % (s, " | ".join(
            "**%.2f** (%s)" % (pr[t][0], ", ".join("%.2f" % x for x in pr[t][1])) if t in pr else "n/a"
            for t in others)))
    L.append("")
    for s in cfg.scenarios:
        pr = paired(records, s, "per_core").get("portico-gzip")
        if pr and pr[0] is not None:
            if checks[(s, "portico-gzip")]["encoding"] != "gzip":
                verdict = "not comparable (uncompressed responses)"
            else:
                verdict = "met" if pr[0] >= 1.0 else "short by %.1f%%" % (100 * (1 - pr[0]))
            L.append("- %s: portico-gzip %.3fx nginx-gzip per core: %s" % (s, pr[0], verdict))
    L.append("")
    L.append("Raw req/s, paired the same way (capped by the client/origin core when a proxy is below ~90% CPU):")
    L.append("")
    L.append("| scenario | " + " | ".join(others) + " |")
    L.append("|---|" + "---|" * len(others))
    for s in cfg.scenarios:
        pr = paired(records, s, "rps")
        L.append("| %s | %s |" % (s, " | ".join(
            "%.2f (%s)" % (pr[t][0], ", ".join("%.2f" % x for x in pr[t][1])) if t in pr else "n/a"
            for t in others)))
    L.append("")

    L.append("## Medians")
    for s in cfg.scenarios:
        L.append("")
        L.append("### %s (%d bytes, `%s`)" % (s, sizes[s], SCENARIOS[s]["ctype"]))
        L.append("")
        L.append("| target | req/s | proxy CPU | per-core req/s | proxy CPU us/resp | body bytes/resp | "
                 "wire bytes/resp (wrk) | p50 ms | p99 ms | spread (per-core) | errors | rounds |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for t in targets:
            rs = [r for r in records if r["scenario"] == s and r["target"] == t]
            if not rs:
                L.append("| %s | n/a |" % t + " |" * 10)
                continue
            pcs = [r.get("per_core") for r in rs if r.get("per_core")]
            mpc = med(pcs)
            noisy = "*" if any(r.get("other_cpu", 0) > cfg.max_other_cpu for r in rs) else ""
            L.append("| %s | %s%s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %d |" % (
                t, fk(med([r["rps"] for r in rs])), noisy, fnum(100 * med([r["proxy_cpu"] for r in rs]), "%.0f%%"),
                fk(mpc), fnum(med([r.get("cpu_us") for r in rs]), "%.1f"), fnum(checks[(s, t)]["size"], "%d"),
                fnum(med([r["wire_bytes"] for r in rs]), "%.0f"), fnum(med([r["p50_ms"] for r in rs]), "%.2f"),
                fnum(med([r["p99_ms"] for r in rs]), "%.2f"),
                "%.1f%%" % (100 * (max(pcs) - min(pcs)) / mpc) if mpc else "n/a",
                sum(r["errors"] for r in rs), len(rs)))
    L.append("")
    L.append("proxy CPU = CPU time (user+system) of the proxy's process group per wall second; per-core req/s = "
             "req/s / proxy CPU; us/resp = its inverse. Body bytes come from the curl check; wire bytes are "
             "wrk's bytes read per response (status line and headers included).")
    L.append("")
    return "\n".join(L)


# ---------------------------------------------------------------------------- main
def versions(portico):
    v = {}
    r = subprocess.run(["nginx", "-v"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    v["nginx"] = r.stdout.strip().split("/")[-1]
    r = subprocess.run(["haproxy", "-vv"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    m = re.search(r"HAProxy version (\S+)", r.stdout)
    v["haproxy"] = m.group(1) if m else "?"
    lib = "libslz" if "USE_SLZ=1" in r.stdout or "+SLZ" in r.stdout else ("zlib" if "+ZLIB" in r.stdout else "?")
    if portico:
        r = subprocess.run([portico, "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        v["portico"] = r.stdout.strip().splitlines()[0] if r.stdout.strip() else "?"
        r = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
        if r.returncode == 0:
            v["portico"] += " (%s)" % r.stdout.strip()
    r = subprocess.run(["wrk", "-v"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    v["wrk"] = r.stdout.split()[1] if len(r.stdout.split()) > 1 else "?"
    return v, lib


HAPROXY_NOTES = {
    "libslz": "It has no compression levels (tune.comp.maxlevel only switches it on): a stateless deflate "
              "encoder that spends far less CPU than zlib level 6 and produces larger bodies (compare the body "
              "bytes column), so its row is gzip at a different effort, not the same level.",
    "zlib": "tune.comp.maxlevel sets the zlib level, the same as nginx's gzip_comp_level.",
}


def portico_compression_block(target, cfg):
    enc = TARGETS[target][0]
    level = {"gzip": cfg.gzip_level, "br": cfg.br_level, "zstd": cfg.zstd_level}[enc]
    return ("            compression:\n"
            "              encodings: [%s]\n"
            "              levels: { %s: %d }\n"
            "              min_length: %d" % (enc, enc, level, cfg.min_length))


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="bench/compression.sh", description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5, help="seconds per measured run")
    ap.add_argument("--warmup", type=int, default=1, help="seconds of warm-up per target and scenario")
    ap.add_argument("--quick", action="store_true", help="1 round of 2 s runs")
    ap.add_argument("--scenarios", default="json,html")
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--gzip-level", type=int, default=6)
    ap.add_argument("--br-level", type=int, default=5)
    ap.add_argument("--zstd-level", type=int, default=3)
    ap.add_argument("--min-length", type=int, default=256)
    ap.add_argument("--client-cpus", default="0")
    ap.add_argument("--proxy-cpus", default="1")
    ap.add_argument("--base-port", type=int, default=24000)
    ap.add_argument("--max-other-cpu", type=float, default=0.25,
                    help="foreign CPU (cores) above which a run is marked noisy; each run waits up to 2 s for less")
    ap.add_argument("--allow-identity", action="store_true",
                    help="development only: accept uncompressed Portico responses (and run a Portico without "
                         "the compression filter) instead of failing")
    ap.add_argument("--portico", default=os.path.join(ROOT, "build", "portico"))
    ap.add_argument("--out", help="report folder (default $BENCH_OUT/compression-<timestamp>)")
    cfg = ap.parse_args(argv)
    if cfg.quick:
        cfg.rounds, cfg.duration = 1, 2
    cfg.scenarios = [s for s in cfg.scenarios.split(",") if s]
    cfg.targets = [t for t in cfg.targets.split(",") if t]
    for s in cfg.scenarios:
        if s not in SCENARIOS:
            ap.error("unknown scenario %r (have: %s)" % (s, ", ".join(SCENARIOS)))
    for t in cfg.targets:
        if t not in TARGETS:
            ap.error("unknown target %r (have: %s)" % (t, ", ".join(TARGETS)))
    if REF not in cfg.targets:
        ap.error("%s is the reference of every ratio; keep it in --targets" % REF)
    return cfg


def main(argv):
    cfg = parse_args(argv)
    stamp = datetime.datetime.utcnow().strftime("%Y%m%d-%H%M%S")
    out = cfg.out or os.path.join(os.environ.get("BENCH_OUT") or os.path.join(tempfile.gettempdir(), "portico-bench"),
                                  "compression-" + stamp)
    os.makedirs(out, exist_ok=True)
    work = os.path.join(out, "run")
    www = os.path.join(work, "www")
    for d in (www, os.path.join(work, "tmp")):
        os.makedirs(d, exist_ok=True)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    sizes, originals = {}, {}
    for s, sc in SCENARIOS.items():
        originals[s] = sc["make"]()
        sizes[s] = len(originals[s])
        with open(os.path.join(www, sc["path"].lstrip("/")), "wb") as f:
            f.write(originals[s])

    uses_portico = any(t.startswith("portico") for t in cfg.targets)
    if uses_portico and not os.access(cfg.portico, os.X_OK):
        fail("no Portico binary at %s (bash scripts/build.sh release)" % cfg.portico)
    vers, hlib = versions(cfg.portico if uses_portico else None)
    meta = dict(started=datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
                command=" ".join(["bench/compression.sh"] + argv), versions=vers, haproxy_lib=hlib,
                haproxy_note=HAPROXY_NOTES.get(hlib, "unknown build: see `haproxy -vv`."),
                cpu=next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"),
                nproc=os.cpu_count(), kernel=platform.release())

    ports = {t: cfg.base_port + TARGETS[t][1] for t in cfg.targets}
    origin_port = cfg.base_port + ORIGIN_OFFSET
    for name, port in list(ports.items()) + [("origin", origin_port)]:
        if not port_free(port):
            fail("port %d (%s) is in use; pick another --base-port" % (port, name))
    values = dict(workdir=work, www=www, origin_port=origin_port, gzip_level=cfg.gzip_level,
                  min_length=cfg.min_length)

    def conf(template, name, **extra):
        with open(os.path.join(HERE, template)) as f:
            text = render(f.read(), dict(values, **extra))
        path = os.path.join(work, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    nginx_argv = lambda c: ["nginx", "-p", work, "-e", os.path.join(work, "error.log"), "-c", c, "-g", "daemon off;"]
    procs = {}
    try:
        procs["origin"] = start("origin", nginx_argv(conf("origin.conf", "origin.conf")), cfg.client_cpus, work)
        err = wait_ready("origin", origin_port, procs["origin"])
        if err:
            fail(err + "; see " + work)
        for t in cfg.targets:
            port = ports[t]
            if t == "nginx-gzip":
                argv_t = nginx_argv(conf("nginx-gzip.conf", t + ".conf", port=port))
            elif t == "haproxy-gzip":
                argv_t = ["haproxy", "-db", "-f", conf("haproxy-gzip.cfg", t + ".cfg", port=port)]
            else:
                path = conf("portico.yaml", t + ".yaml", port=port, compression=portico_compression_block(t, cfg))
                chk = subprocess.run([cfg.portico, "--check", path], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
                if chk.returncode != 0:
                    if not cfg.allow_identity:
                        fail("Portico rejects its configuration %s:\n%s" % (path, chk.stdout))
                    path = conf("portico.yaml", t + ".yaml", port=port, compression="")
                    meta["identity_note"] = ("this Portico has no compression filter (`--check` refused the "
                                             "`compression:` block), so it ran without one and its responses are "
                                             "uncompressed; its figures are not comparable.")
                    log("%s: compression block refused, running without it (--allow-identity)" % t)
                argv_t = [cfg.portico, "--config", path]
            procs[t] = start(t, argv_t, cfg.proxy_cpus, work)
        for t in cfg.targets:
            err = wait_ready(t, ports[t], procs[t])
            if err:
                fail(err + "; logs in " + work)

        checks = {}
        problems = []
        for s in cfg.scenarios:
            for t in cfg.targets:
                c = curl_check(ports[t], SCENARIOS[s], TARGETS[t][0], originals[s], work)
                checks[(s, t)] = c
                log("check %s %s: %s, %s bytes%s" % (s, t, c["encoding"], c["size"],
                                                       "" if not c["problem"] else " -- " + c["problem"]))
                identity_ok = cfg.allow_identity and t.startswith("portico") and c["encoding"] == "identity" and c["ok"]
                if not (c["ok"] and c["encoding"] == TARGETS[t][0]) and not identity_ok:
                    problems.append("%s %s: %s" % (s, t, c["problem"] or "unexpected encoding %s" % c["encoding"]))
        if problems:
            fail("responses are not what the benchmark measures:\n  " + "\n  ".join(problems) +
                 ("\n(--allow-identity tolerates an uncompressed Portico, for development only)"
                  if not cfg.allow_identity else ""))

        pgids = [p.pid for p in procs.values()]
        records = []
        raw = open(os.path.join(out, "raw.jsonl"), "w")
        for s in cfg.scenarios:
            sc = SCENARIOS[s]
            for t in cfg.targets:
                if cfg.warmup > 0:
                    run_wrk(cfg, ports[t], sc, TARGETS[t][0], cfg.warmup, procs[t].pid, procs["origin"].pid, pgids)
            for rnd in range(cfg.rounds):
                k = rnd % len(cfg.targets)
                for t in cfg.targets[k:] + cfg.targets[:k]:
                    wait_quiet(pgids, cfg.max_other_cpu)
                    rec = run_wrk(cfg, ports[t], sc, TARGETS[t][0], cfg.duration, procs[t].pid,
                                  procs["origin"].pid, pgids)
                    rec.update(scenario=s, target=t, round=rnd)
                    raw.write(json.dumps(rec) + "\n")
                    raw.flush()
                    if rec.get("error"):
                        fail("%s %s round %d: %s" % (s, t, rnd + 1, rec["error"]))
                    if rec["errors"]:
                        log("%s %s: %d errors in the run" % (s, t, rec["errors"]))
                    records.append(rec)
                    log("%s round %d %-13s %8.0f req/s  proxy CPU %3.0f%%  %6.0f req/s per core  %6.0f B/resp" % (
                        s, rnd + 1, t, rec["rps"], 100 * rec["proxy_cpu"], rec.get("per_core") or 0,
                        rec["wire_bytes"]))
                    # The run must have measured compressed responses: wrk's bytes per response
                    # near the identity size means the proxy stopped compressing under load.
                    if checks[(s, t)]["encoding"] != "identity" and rec["wire_bytes"] > 0.9 * sizes[s]:
                        fail("%s %s: %.0f bytes per response under load, the body is %d uncompressed" % (
                            s, t, rec["wire_bytes"], sizes[s]))
        raw.close()
        for t in cfg.targets:
            if not group_pids(procs[t].pid):
                fail("%s exited during the benchmark; see %s" % (t, work))
    finally:
        cleanup()

    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(dict(meta, config=vars(cfg), checks={"%s %s" % k: v for k, v in checks.items()}), f, indent=1)
    text = report(meta, cfg, checks, records, sizes)
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write(text)
    print(text)
    log("report: %s" % os.path.join(out, "report.md"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
