"""Many users, several machines, on one: nginx in front of two Streamlit replicas, PostgreSQL, a Dask scheduler
and two workers (scripts/topology.py), driven by Chromium through nginx.

Two browsers land on different replicas and share one run; a replica is killed and its user carries on from
the other one; a worker is killed and the run resumes from its checkpoint; every step is recorded once.
Slow (a few minutes): it starts eight services and trains a small run to its end.
"""

from __future__ import annotations

import contextlib
import glob
import os
import random
import re
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlparse

import psutil
import pytest

from resnet_viz.lab.config import NETS
from resnet_viz.lab.store import ACTIVE, RunStore
from scripts.topology import Topology
from tests.conftest import CHROMIUM_ARGS, ROOT, require_tool, wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(900)]

# Depth 8, batch 8: 3-45 pair-steps a second on a small machine. The worker is killed within a few seconds of
# the first step, so this many steps outlive the faults on a fast machine and stay short on a loaded one.
DEPTH, BATCH, STEPS = 8, 8, int(os.environ.get("RV_TOPOLOGY_STEPS", "600"))
T = TypeVar("T")


def _wait(cond: Callable[[], T | None], timeout: float = 180, what: str = "condition") -> T:
    """Poll until ``cond()`` is truthy; the deadline only guards against hanging (nothing asserts on time)."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} never held"
        time.sleep(0.25)


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _base_port(span: int = 20) -> int:
    """A base port with ``span`` free ports above it, below Linux's ephemeral range (Dask's own ports)."""
    for _ in range(200):
        base = random.randrange(20000, 32000 - span)
        if all(_free(base + i) for i in range(span)):
            return base
    raise AssertionError("no free block of loopback ports")


def _text(page: Any) -> str:
    return str(page.inner_text('[data-testid="stMain"]'))


def _step(page: Any) -> int:
    m = re.search(r"Step (\d+) of (\d+)", _text(page))
    return int(m.group(1)) if m else -1


def _run_in_url(page: Any) -> str | None:
    # the page's own location: Playwright's cached page.url only moves while a Playwright call is under way
    return parse_qs(urlparse(page.evaluate("location.href")).query).get("run", [None])[0]


def _new_run(store: RunStore) -> str | None:
    """The one run in the store that did not ship with the app (None while there is none)."""
    ids = [r.id for r in store.runs() if not r.reference]
    return ids[0] if len(ids) == 1 else None


def _open_lab(page: Any, url: str) -> str:
    """Open the lab through nginx, set the tiny run's controls; returns the replica that answered."""
    response = page.goto(f"{url}/gradient-lab")
    assert response is not None and response.ok
    page.locator(".st-key-grad_start button").wait_for(timeout=180_000)
    wait_idle(page, 180)
    for key, value in (("grad_depth", DEPTH), ("grad_steps", STEPS), ("grad_batch", BATCH)):
        box = page.locator(f".st-key-{key} input")
        box.fill(str(value))
        box.press("Enter")
        wait_idle(page, 60)
    return str(response.header_value("x-replica"))


@contextlib.contextmanager
def _browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _page(browser: Any) -> Any:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()  # a user of its own
    page.set_default_timeout(60_000)
    return page


def _tools() -> None:
    require_tool("/usr/bin/chromium", "the topology test drives Debian's Chromium")
    require_tool(shutil.which("nginx") or "/usr/sbin/nginx", "nginx from Debian's packages fronts the replicas")
    pg = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    require_tool(pg[0] if pg else "initdb", "PostgreSQL from Debian's packages is the shared store")


def test_two_replicas_share_a_run_through_nginx_and_survive_a_dead_replica_and_a_dead_worker() -> None:
    _tools()
    work = Path(tempfile.mkdtemp(prefix="rv-topo-"))
    work.chmod(0o755)  # PostgreSQL runs as its own user and must reach its folder
    # workers checkpoint every second, so a killed one loses at most a second of training
    topo = Topology(work, replicas=2, workers=2, base_port=_base_port(), env={"RESNET_VIZ_CHECKPOINT_S": "1"})
    try:
        with topo, _browser() as browser:
            store = RunStore(topo.db_url)
            a, b = _page(browser), _page(browser)
            try:
                _scenario(topo, store, a, b)
            except BaseException:
                for name, page in (("a", a), ("b", b)):
                    with contextlib.suppress(Exception):
                        page.screenshot(path=str(ROOT / "test-artifacts" / f"topology-{name}.png"))
                raise
            finally:
                store.close()
        # every service was stopped by its pid (PostgreSQL by pg_ctl, then its pid checked)
        alive = [s.name for s in topo.services if psutil.pid_exists(s.pid) and not _zombie(s.pid)]
        assert not alive, f"still running after down: {alive}"
    finally:
        keep = ROOT / "test-artifacts" / "topology"
        shutil.rmtree(keep, ignore_errors=True)
        with contextlib.suppress(OSError):
            shutil.copytree(topo.logs, keep)  # the services' logs, for a failure in CI
        shutil.rmtree(work, ignore_errors=True)


def _scenario(topo: Topology, store: RunStore, a: Any, b: Any) -> None:
    from distributed import Client

    # two new users land on two replicas (round robin for browsers without the rv_replica cookie)
    replica_a, replica_b = _open_lab(a, topo.url), _open_lab(b, topo.url)
    assert {replica_a, replica_b} == {"r1", "r2"}
    # both start the same settings: the second joins the first's run, so PostgreSQL holds one new run
    a.locator(".st-key-grad_start button").click()
    rid = _wait(lambda: _new_run(store), what="the first user's run in PostgreSQL")
    b.locator(".st-key-grad_start button").click()
    _wait(lambda: store.watchers(rid, within=60) == 2, what="the second user joining the run")
    assert [r.id for r in store.runs() if not r.reference] == [rid]

    # mid-run, the Dask worker training one of the nets dies (its nanny starts a new worker process)
    with Client(topo.scheduler, timeout="20s", set_as_default=False) as client, _steps_of(store, rid) as steps:
        worker, key = _wait(
            lambda: next(
                ((w, str(k)) for w, keys in client.processing().items() for k in keys
                 if str(k).startswith(f"train-{rid}-")),
                None,
            ),
            what="a worker training the run",
        )  # fmt: skip
        net = key.split("-")[2]
        blob = _wait(lambda: store.get_blob(rid, net, "checkpoint"), what="a checkpoint")  # type: ignore[arg-type]
        victim = client.run(os.getpid, workers=[worker])[worker]  # the worker process its nanny runs
        assert store.status(rid) in ACTIVE, f"the run ended before the worker was killed; raise STEPS ({STEPS})"
        os.kill(victim, signal.SIGKILL)
        since_kill = len(steps[net])

        # both watch the run by its link (the page's own ?run=); nginx keeps each user on their replica. (Not the
        # pages as Start left them: the lab's "Open a run" picker can move a page back to the run it showed
        # before: a bug of the lab page (its keyed selectbox keeps its old value), not of the topology.)
        for page, replica in ((a, replica_a), (b, replica_b)):
            response = page.goto(f"{topo.url}/gradient-lab?run={rid}")
            assert response is not None and response.ok and response.header_value("x-replica") == replica
        shared = f"Shared run {rid}"
        _wait(lambda: shared in _text(a) and shared in _text(b), what="the shared run on both pages")
        assert _run_in_url(a) == _run_in_url(b) == rid
        _wait(lambda: store.watchers(rid, within=5) == 2, what="both sessions watching")

        # a replica dies: its user reloads, lands on the other replica, and the run's URL shows the history
        # recorded so far
        seen = _step(a)
        os.kill(topo.pid(replica_a), signal.SIGKILL)
        response = a.reload()
        assert response is not None and response.ok
        assert response.header_value("x-replica") == replica_b
        assert _run_in_url(a) == rid
        _wait(lambda: _step(a) >= seen, what="the history so far on the surviving replica")

        # the run resumed from the checkpoint on the other worker and trains to its end
        _wait(lambda: store.status(rid) not in ACTIVE, timeout=600, what="the run's end")
        assert victim not in client.run(os.getpid).values()  # the nanny replaced the killed process
    assert min(steps[net][since_kill:]) >= blob[0]  # resumed from the checkpoint, not from step 0
    run = store.get(rid)
    assert run.status == "done", run.error()
    for n in NETS:
        assert [r.step for r in store.metrics(rid, n)] == list(range(1, STEPS + 1))  # every step, once
    # the finished run, reopened by its link, shows every step
    for page in (a, b):
        response = page.goto(f"{topo.url}/gradient-lab?run={rid}")
        assert response is not None and response.ok and response.header_value("x-replica") == replica_b
    _wait(lambda: _step(a) == STEPS and _step(b) == STEPS, what="the finished run on both pages")
    assert a.locator('[data-testid="stException"]').count() == b.locator('[data-testid="stException"]').count() == 0


@contextlib.contextmanager
def _steps_of(store: RunStore, rid: str) -> Iterator[dict[str, list[int]]]:
    """Every value of each net's step counter seen while the block runs (polled ten times a second)."""
    seen: dict[str, list[int]] = {n: [] for n in NETS}
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            with contextlib.suppress(Exception):  # a transient database error only skips one sample
                for n, rec in store.get(rid).nets.items():
                    seen[n].append(rec.step)
            stop.wait(0.1)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(timeout=10)


def _zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
