"""`schoolflow viz`: the Solara page of the Mesa model, loaded in headless Chromium (Debian's
chromium; `.ci/run` installs it): the map and the charts are drawn, "Next year" redraws them,
each browser session has its own model; a busy port is exit 2; the server dies with the
command."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

from tests.conftest import SMALL
from tests.test_compare import _chromium


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _wait_for(url: str, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {seconds} s")


IMAGES = """() => Array.from(document.querySelectorAll('img'))
    .filter(i => i.complete && i.naturalWidth > 100)
    .map(i => i.src)"""  # the figures (PNG blobs), loaded


def test_viz_page_draws_map_and_charts_and_steps(tmp_path):
    from playwright.sync_api import sync_playwright

    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine: apt-get install chromium (CI installs it)")
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL))
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "viz", str(path), "--port", str(port), "--no-open"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for(f"http://localhost:{port}/", 90)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=browser, args=["--no-sandbox"])
            page = b.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(f"http://localhost:{port}/", timeout=60_000)
            page.wait_for_selector("text=School year: 0 of 4", timeout=90_000)
            page.wait_for_function(f"({IMAGES})().length >= 4", timeout=60_000)
            page.wait_for_selector(".county-map svg", timeout=60_000)
            before = page.evaluate(IMAGES)
            # the map: a legend of school levels, and each school named on hover (<title>)
            legend = page.inner_text(".county-map")
            assert "village primary" in legend and "bus line" in legend
            titles = page.evaluate("Array.from(document.querySelectorAll('.county-map svg "
                                   "title')).map(t => t.textContent)")
            assert len(titles) >= 10 and all(" pupils" in t for t in titles)
            assert any(t.startswith("T01-") for t in titles)
            shot = tmp_path / "viz_year0.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 50_000  # a drawn page, not a blank one
            assert page.get_by_text("SchoolFlow: small").count() >= 1
            text = page.inner_text("body")
            assert "Page 0" not in text and "PAGE 0" not in text and "Model Parameters" not in text
            page.get_by_role("button", name="Next year").first.click()
            page.wait_for_selector("text=School year: 1 of 4", timeout=90_000)
            # every chart is redrawn with the new year, and the map shows the closures
            page.wait_for_function(
                f"(() => {{ const now = ({IMAGES})(); const old = {before!r};"
                " return now.length >= 4 && now.every(s => !old.includes(s)); })()",
                timeout=60_000)
            page.wait_for_function("Array.from(document.querySelectorAll('.county-map svg "
                                   "title')).some(t => t.textContent.includes('closed in year 1'))",
                                   timeout=60_000)
            page.screenshot(path=str(tmp_path / "viz_year1.png"), full_page=True)
            # a second browser session starts at year 0: one model per session
            other = b.new_page(viewport={"width": 1400, "height": 1000})
            other.goto(f"http://localhost:{port}/", timeout=60_000)
            other.wait_for_selector("text=School year: 0 of 4", timeout=90_000)
            assert page.get_by_text("School year: 1 of 4").count() == 1
            b.close()
        # a second server on the same port: a clear error, exit 2, before any "running" line
        busy = subprocess.run([sys.executable, "-m", "sim.cli", "viz", str(path), "--port",
                               str(port), "--no-open"], capture_output=True, text=True, timeout=60)
        assert busy.returncode == 2 and "already in use" in busy.stderr
        assert "web view: http" not in busy.stdout
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def test_viz_server_goes_with_the_command(tmp_path):
    """Stopping `schoolflow viz` (SIGTERM to the command only) leaves no server behind, and the
    start prints no dependency notices."""
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL))
    port = _free_port()
    viz = subprocess.Popen([sys.executable, "-m", "sim.cli", "viz", str(path), "--port",
                            str(port), "--no-open"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(f"http://localhost:{port}/", 90)
    finally:
        viz.send_signal(signal.SIGTERM)  # the command, not its process group
        out, _ = viz.communicate(timeout=30)
    end = time.monotonic() + 20
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(f"http://localhost:{port}/", timeout=1)
            time.sleep(0.5)
        except OSError:
            break
    else:
        raise AssertionError("the solara server still answers after the command stopped")
    assert "New version of Solara" not in out and "UserWarning" not in out
    assert out.splitlines()[0].startswith("SchoolFlow web view: http://")
