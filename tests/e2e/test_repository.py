"""The repository stands on its own: what a user reads after cloning it (README.md, docs/)
links only to files inside it and names no path of the machines it was written or measured
on, and bench/run.sh says what to set when its external harness is not where it looks."""
import glob
import os
import re
import subprocess

from conftest import ROOT

LINK = re.compile(r"\]\(([^)\s]+)\)")
# Home and work directories of whoever wrote or measured something; /tmp for run directories.
MACHINE_PATH = re.compile(r"(?<![\w.~-])/(?:work|root|home|Users|tmp)/")


def documents():
    return [os.path.join(ROOT, "README.md")] + sorted(
        glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))


def test_documentation_links_stay_inside_the_repository():
    outside = []
    for doc in documents():
        with open(doc) as f:
            text = f.read()
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a web address or an anchor in the same page
            path = os.path.normpath(os.path.join(os.path.dirname(doc), target.split("#")[0]))
            if os.path.commonpath([path, ROOT]) != ROOT or not os.path.exists(path):
                outside.append("%s: %s" % (os.path.relpath(doc, ROOT), target))
    assert outside == []


def test_documentation_names_no_machine_paths():
    found = []
    for doc in documents():
        with open(doc) as f:
            for number, line in enumerate(f, 1):
                if MACHINE_PATH.search(line) or "../shared" in line:
                    found.append("%s:%d: %s" % (os.path.relpath(doc, ROOT), number, line.strip()))
    assert found == []


def test_bench_run_says_where_its_harness_comes_from():
    env = dict(os.environ, PORTICO_BENCH_HARNESS="/nonexistent/compare.sh")
    r = subprocess.run(["bash", os.path.join(ROOT, "bench", "run.sh"), "--quick"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "/nonexistent/compare.sh" in r.stderr
    assert "not part of this repository" in r.stderr
    assert "PORTICO_BENCH_HARNESS" in r.stderr
