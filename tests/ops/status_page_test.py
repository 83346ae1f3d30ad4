#!/usr/bin/env python3
"""The status page in a real browser (docs/operations.md "Status").

Headless Chromium loads GET / from a running stack; the rendered DOM
(--dump-dom) must show every worker pid, the master and the lag column. A
screenshot is kept in ARTIFACT_DIR. Then a slave is crashed and the page,
loaded again, must show its replacement and no longer the victim.

Usage: status_page_test.py ARTIFACT_DIR   (skips with 77 without chromium)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from opslib import ADMIN, check, http, pids, serving, status, wait_for  # noqa: E402

ART = sys.argv[1] if len(sys.argv) > 1 else "."
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(*args):
    """Runs headless Chromium on the status page; returns stdout."""
    prof = tempfile.mkdtemp(prefix="rs-chromium-")
    try:
        # --virtual-time-budget lets the page's fetch() and render finish
        # before the DOM is dumped (the page polls every second).
        cmd = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-dev-shm-usage", "--user-data-dir=" + prof,
               "--virtual-time-budget=4000", *args, ADMIN + "/"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        return r.stdout
    finally:
        shutil.rmtree(prof, ignore_errors=True)


def dom():
    for _ in range(3):  # a loaded box may time the render out once
        out = chromium("--dump-dom")
        if 'data-loaded="1"' in out:
            return out
        time.sleep(2)
    raise AssertionError("the page never rendered the status:\n" + out[:2000])


def rows(html):
    """{pid: role} of the workers table."""
    return {int(p): r for p, r in
            re.findall(r'<tr data-pid="(\d+)" data-role="(\w+)"', html)}


def main():
    if BROWSER is None:
        print("skip: no chromium (apt-get install chromium)")
        return 77
    os.makedirs(ART, exist_ok=True)
    wait_for("a master and a slave", lambda: serving("master") and serving("slave"))
    st, body = http("GET", "/")
    check(st == 200 and "<table id=\"workers\"" in body
          and "http://" not in body and "https://" not in body,
          "GET / is one self-contained HTML page (no external assets)")

    html = dom()
    want = pids()
    master = status()["master"]["pid"]
    seen = rows(html)
    check(set(want) <= set(seen), "every worker pid is on the page: %s" % want)
    check(seen.get(master) == "master", "the master (pid %d) is marked" % master)
    check("lag (seqs)" in html and 'class="lag' in html, "the lag column is there")
    shot = os.path.join(ART, "status_page.png")
    chromium("--screenshot=" + shot, "--window-size=1280,860",
             "--hide-scrollbars")
    check(os.path.exists(shot) and os.path.getsize(shot) > 10000,
          "screenshot kept: " + shot)

    st, body = http("POST", "/api/v1/crash/slave")
    check(st == 200, "crash/slave answered %s" % body)
    victim = int(body[0])
    new = wait_for("the replacement slave", lambda: [
        p for p in serving("slave") if p not in want], timeout=90)
    html = dom()
    seen = rows(html)
    check(victim not in seen, "the crashed slave %d is gone from the page" % victim)
    check(new[0] in seen, "its replacement %d is on the page" % new[0])
    check("crash API killed slave" in html, "the crash is in the event list")
    with open(os.path.join(ART, "status_page_after_crash.html"), "w") as f:
        f.write(html)
    return 0


if __name__ == "__main__":
    sys.exit(main())
