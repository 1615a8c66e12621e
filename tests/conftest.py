"""Shared test fixtures. With CI=true no test may skip for a missing browser or tool: it fails instead."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(path_or_name: str, why: str) -> str:
    """The tool's path; skipped locally when missing, a failure in CI."""
    found = path_or_name if os.path.exists(path_or_name) else shutil.which(path_or_name)
    if found:
        return found
    message = f"{path_or_name} is missing ({why})"
    if IN_CI:
        pytest.fail(message + "; CI must install it (.ci/run)")
    pytest.skip(message)


@pytest.fixture
def artifacts() -> Path:
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    return out


# The run store of each server `running_app` started, by its URL: a test reads what the app recorded through it.
APP_STORES: dict[str, str] = {}


@contextlib.contextmanager
def running_app(log_name: str = "server.log") -> Iterator[str]:
    """A fresh server started as `make run` starts it (`streamlit run app.py`), on a free loopback port; stopped
    afterwards by its process id."""
    require_tool("/usr/bin/chromium", "browser tests drive Debian's Chromium")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (ROOT / "test-artifacts").joinpath(log_name)
    log.parent.mkdir(exist_ok=True)
    streamlit = Path(sys.executable).with_name("streamlit")  # the venv's own, as `make run` uses
    cmd = [str(streamlit), "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--browser.gatherUsageStats", "false"]  # fmt: skip
    store = tempfile.mkdtemp(prefix="rv-store-")  # a fresh run store: runs of earlier test sessions never join in
    env = {**os.environ, "RESNET_VIZ_DB": f"sqlite:///{store}/lab.sqlite"}
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    APP_STORES[url] = env["RESNET_VIZ_DB"]
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"the app did not start; see {log}")
        yield url
    finally:
        APP_STORES.pop(url, None)
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    """The app served for the whole browser-test session."""
    with running_app() as url:
        yield url


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


@contextlib.contextmanager
def chromium_page() -> Iterator[Any]:
    """A Playwright page in Debian's Chromium (Playwright's own browser download does not work here)."""
    require_tool("/usr/bin/chromium", "browser tests drive Debian's Chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        pg = context.new_page()
        pg.set_default_timeout(60_000)
        try:
            yield pg
        finally:
            context.close()
            browser.close()


@pytest.fixture
def page(app_url: str) -> Iterator[Any]:
    """A Chromium page for the session's server (`app_url`)."""
    with chromium_page() as pg:
        yield pg


def wait_idle(pg: Any, timeout_s: float = 60) -> None:
    """Wait until Streamlit has finished running the script (its status widget disappears)."""
    pg.wait_for_selector('[data-testid="stApp"]')
    deadline = time.time() + timeout_s
    time.sleep(0.3)
    while time.time() < deadline:
        if pg.locator('[data-testid="stStatusWidget"]').count() == 0:
            return
        time.sleep(0.1)


@contextlib.contextmanager
def store_for_app(path: Path) -> Iterator[Any]:
    """A run store in the SQLite file ``path`` that the app under AppTest uses too (through RESNET_VIZ_DB)."""
    from resnet_viz.lab.store import RunStore

    url = f"sqlite:///{path}"
    os.environ["RESNET_VIZ_DB"] = url
    try:
        yield RunStore(url)
    finally:
        del os.environ["RESNET_VIZ_DB"]


@pytest.fixture
def app_store(tmp_path: Path) -> Iterator[Any]:
    """A fresh run store that the app under AppTest uses too, for this test only."""
    with store_for_app(tmp_path / "lab.sqlite") as store:
        yield store


def open_page(path: str, **params: str | None) -> Any:
    """The app under AppTest with ``params`` in its URL (None values left out), switched to the page file
    ``path`` and run without an exception."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params.update({k: v for k, v in params.items() if v is not None})
    at.run()
    at.switch_page(path).run()
    assert not at.exception
    return at


def shown(element: Any) -> tuple[Any, dict[str, str]]:
    """What an AppTest ``st.dataframe`` shows: its cells as the browser draws them (the Styler's display values,
    "25.6 M") and each configured column's tooltip."""
    import json

    import pyarrow as pa

    proto = element.proto
    cells = pa.ipc.open_stream(proto.arrow_data.styler.display_values).read_all().to_pandas()
    helps = {name: c.get("help", "") for name, c in json.loads(proto.columns or "{}").items()}
    return cells, helps
