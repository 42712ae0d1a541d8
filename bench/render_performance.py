#!/usr/bin/python3
"""Writes the "Latest results" section of docs/performance.md from a harness report.

    bench/render_performance.py --report DIR/report.md --command "bench/run.sh ..." \
        [--docs docs/performance.md]

The figures are the harness's own medians, read from its report tables (nothing is
re-aggregated here): per proxy core and raw ratios against nginx, p50/p99 for h1-1k, KiB per
idle connection. Each is checked against the target issue 2 set. The report itself is copied
to docs/bench/<id>-report.md, without this machine's paths, and linked. Only the text between
the two markers is replaced.
"""
import argparse
import os
import re
import sys

BEGIN = "<!-- results:begin (bench/render_performance.py writes this part) -->"
END = "<!-- results:end -->"

# scenario -> (label, metric word, target ratio vs nginx, higher is better)
THROUGHPUT = [
    ("h1-1k", "h1-1k (keep-alive, 1 KiB, 50 conns)", "req/s per core", 1.2),
    ("h1-64k", "h1-64k (keep-alive, 64 KiB, 50 conns)", "MB/s per core", 1.0),
    ("h1-1m", "h1-1m (keep-alive, 1 MiB, 10 conns)", "MB/s per core", 1.0),
    ("h1-close", "h1-close (new connection per request)", "req/s per core", 1.0),
]
TARGETS = ["nginx", "haproxy", "portico"]


def tables_by_heading(text):
    """{heading line: [rows as lists of cells]} for every markdown table under a heading."""
    out, heading, rows = {}, None, []
    for line in text.splitlines():
        if line.startswith("#"):
            if heading and rows:
                out[heading] = rows
            heading, rows = line.lstrip("# ").strip(), []
        elif line.startswith("|") and not line.startswith("|---"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    if heading and rows:
        out[heading] = rows
    return out


def section(tables, prefix):
    for heading, rows in tables.items():
        if heading.startswith(prefix):
            return rows
    return None


def by_target(rows):
    """(header, {target: row})"""
    return rows[0], {r[0]: r for r in rows[1:]}


def number(cell):
    m = re.match(r"([0-9.]+)\s*(k?)", cell)
    if not m:
        return None
    return float(m.group(1)) * (1000 if m.group(2) == "k" else 1)


def verdict(ratio, target, higher_is_better=True):
    if ratio is None:
        return "not measured"
    if (ratio >= target) if higher_is_better else (ratio <= target):
        return "met"
    short = (target - ratio) / target if higher_is_better else (ratio - target) / target
    return "short by %.0f%%" % (100 * short)


def render(report_text, report_link, command):
    tables = tables_by_heading(report_text)
    title = re.search(r"^# .* (\d{8})-(\d{6})", report_text, re.M)
    date = "%s-%s-%s" % (title.group(1)[:4], title.group(1)[4:6], title.group(1)[6:]) if title else "?"
    noise = re.search(r"^Noise: (.*)$", report_text, re.M)
    lines = [BEGIN, "", "## Latest results (%s)" % date, "",
             "Command: `%s`; full report: [%s](%s). %s" % (
                 command, os.path.basename(report_link), report_link,
                 noise.group(1) if noise else ""),
             "",
             "| scenario | metric | nginx | HAProxy | Portico | Portico / nginx | target (issue 2) |",
             "|---|---|---|---|---|---|---|"]
    for name, label, metric, target in THROUGHPUT:
        rows = section(tables, name + ":")
        if not rows:
            continue
        header, rows = by_target(rows)
        per_core = header.index("per proxy core")
        cells, ratio, raw = [], None, None
        for t in TARGETS:
            r = rows.get(t)
            if not r or not r[per_core]:
                cells.append("n/a")
                continue
            cells.append("%s @%s" % (r[per_core], r[header.index("proxy CPU")]))
            if t == "portico":
                ratio = float(r[per_core + 1])
                raw = float(r[header.index("vs nginx")])
        goal = " (goal 1.5: %s)" % verdict(ratio, 1.5) if name == "h1-1k" else ""
        lines.append("| %s | %s | %s | **%s** (raw %s) | %s: %s%s |" % (
            label, metric, " | ".join(cells), "%.2f" % ratio if ratio else "n/a",
            "%.2f" % raw if raw else "n/a", target, verdict(ratio, target), goal))
        if name == "h1-1k":
            p50, p99 = header.index("p50 ms"), header.index("p99 ms")
            lat = ["%s / %s" % (rows[t][p50], rows[t][p99]) if t in rows else "n/a"
                   for t in TARGETS]
            p99_ratio = None
            if "portico" in rows and "nginx" in rows:
                p99_ratio = number(rows["portico"][p99]) / number(rows["nginx"][p99])
            lines.append("| h1-1k latency | p50 / p99 ms | %s | p99 %s | p99 no worse: %s |" % (
                " | ".join(lat), "%.2fx" % p99_ratio if p99_ratio else "n/a",
                verdict(p99_ratio, 1.0, higher_is_better=False)))
    idle = section(tables, "idle-10k:")
    if idle:
        header, rows = by_target(idle)
        per = header.index("KiB per conn")
        rss = header.index("RSS with conns (MiB, median)")
        kib = {t: number(rows[t][per]) if t in rows and rows[t][per] else None for t in TARGETS}
        ratio = kib["portico"] / kib["nginx"] if kib["portico"] and kib["nginx"] else None
        lines.append("| idle-10k | KiB per idle connection | %s | **%s** | no more than nginx: %s |" % (
            " | ".join("%.2f" % kib[t] if kib[t] is not None else "n/a" for t in TARGETS),
            "%.2f" % ratio if ratio else "n/a", verdict(ratio, 1.0, higher_is_better=False)))
        totals = {t: number(rows[t][rss]) if t in rows else None for t in TARGETS}
        total_ratio = (totals["portico"] / totals["nginx"]
                       if totals["portico"] and totals["nginx"] else None)
        lines.append("| idle-10k | total RSS holding the connections | %s | %s | |" % (
            " | ".join("%.1f MiB" % totals[t] if totals[t] else "n/a" for t in TARGETS),
            "%.2f" % total_ratio if total_ratio else "n/a"))
    lines += ["", END]
    return "\n".join(lines)


def scrub(report):
    """The report as it may be published: the run directory becomes <out> and the proxy binary
    build/portico, so nothing names a path of the machine it ran on."""
    raw = re.search(r"Raw data: (\S+)/raw\.jsonl", report)
    if raw:
        report = report.replace(raw.group(1), "<out>")
    return re.sub(r"/\S*/build/portico\b", "build/portico", report)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--report", required=True, help="report.md written by the harness")
    ap.add_argument("--command", required=True, help="the command that produced it")
    ap.add_argument("--docs", default=os.path.join(os.path.dirname(__file__), "..", "docs",
                                                   "performance.md"))
    a = ap.parse_args()
    with open(a.report) as f:
        report = f.read()
    title = re.search(r"^# .* (\d{8}-\d{6})", report, re.M)
    if not title:
        sys.exit("%s: no 'YYYYMMDD-HHMMSS' in its title: not a harness report?" % a.report)
    stamp = title.group(1)
    docs_dir = os.path.dirname(os.path.abspath(a.docs))
    os.makedirs(os.path.join(docs_dir, "bench"), exist_ok=True)
    link = "bench/%s-report.md" % stamp
    with open(os.path.join(docs_dir, link), "w") as f:
        f.write(scrub(report))
    with open(a.docs) as f:
        doc = f.read()
    if BEGIN not in doc or END not in doc:
        sys.exit("%s has no results markers (%s ... %s)" % (a.docs, BEGIN, END))
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(a.docs, "w") as f:
        f.write(head + render(report, link, a.command) + tail)
    print("docs: %s updated from %s" % (a.docs, a.report))


if __name__ == "__main__":
    main()
