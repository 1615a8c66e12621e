"""The engine sizes itself from the cores this process may use: a fake affinity mask and fake cgroup files (v1 and
v2, as Linux writes them) stand in for a 2-CPU pod on a 64-core node."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from resnet_viz.lab import cores, train
from resnet_viz.lab.cores import cgroup_quota, usable_cores
from resnet_viz.lab.engine import worker_split
from resnet_viz.lab.insights import jobs


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A 64-core host with no quota yet: an affinity of 64 CPUs and empty cgroup and /proc files under tmp_path."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    monkeypatch.setattr(cores, "CGROUP_ROOT", tmp_path / "cgroup")
    monkeypatch.setattr(cores, "PROC_CGROUP", tmp_path / "proc_self_cgroup")
    monkeypatch.delenv("RESNET_VIZ_TORCH_THREADS", raising=False)
    (tmp_path / "cgroup").mkdir()
    (tmp_path / "proc_self_cgroup").write_text("0::/\n")
    return tmp_path / "cgroup"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_no_quota_is_the_affinity_mask(host: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cgroup_quota() is None and usable_cores() == 64
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {2, 5, 7})  # taskset -c 2,5,7
    assert usable_cores() == 3
    write(host / "cpu.max", "max 100000\n")  # cgroup v2 without a limit
    assert cgroup_quota() is None and usable_cores() == 3


def test_a_cgroup_v2_quota_caps_the_cores(host: Path, tmp_path: Path) -> None:
    write(host / "cpu.max", "200000 100000\n")  # a 2-CPU pod (Kubernetes limits.cpu: 2)
    assert cgroup_quota() == 2.0 and usable_cores() == 2
    # the process's own group, from /proc/self/cgroup, when the cgroup namespace shows the whole tree
    write(tmp_path / "proc_self_cgroup", "0::/kubepods/pod42/c1\n")
    write(host / "kubepods/pod42/c1/cpu.max", "150000 100000\n")
    assert cgroup_quota() == 1.5 and usable_cores() == 2  # 1.5 CPUs round up, as dask.system.cpu_count does


def test_a_cgroup_v1_quota_caps_the_cores(host: Path) -> None:
    write(host / "cpu,cpuacct/cpu.cfs_quota_us", "-1\n")  # v1 without a limit
    write(host / "cpu,cpuacct/cpu.cfs_period_us", "100000\n")
    assert cgroup_quota() is None and usable_cores() == 64
    write(host / "cpu,cpuacct/cpu.cfs_quota_us", "50000\n")  # half a CPU
    assert cgroup_quota() == 0.5 and usable_cores() == 1


def test_the_engine_and_the_workers_size_from_the_quota(host: Path) -> None:
    write(host / "cpu.max", "200000 100000\n")
    n, threads = worker_split(usable_cores())
    assert (n, threads) == (2, 1)  # not 2 workers × 32 torch threads on a 64-core node
    assert train._threads() == 1 and jobs._threads() == 1  # a worker started without the env variable
    write(host / "cpu.max", "800000 100000\n")
    assert worker_split(usable_cores()) == (2, 4) and train._threads() == 4
    assert worker_split(1) == (1, 1) and worker_split(8, 4) == (4, 2)


def test_the_web_process_torch_threads_fit_the_quota(host: Path) -> None:
    import torch

    from resnet_viz.ui.core.cache import sized_threads

    write(host / "cpu.max", "100000 100000\n")  # one CPU
    before = torch.get_num_threads()
    torch.set_num_threads(4)  # torch's default on a 4-core host
    try:
        sized_threads.clear()
        assert sized_threads() == 1 == torch.get_num_threads()
    finally:
        sized_threads.clear()
        torch.set_num_threads(before)
