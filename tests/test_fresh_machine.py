"""A fresh machine: without Graphviz's `dot` the graph is one sentence (page and CLI), and `make run` installs the
Debian packages of packages.txt or stops, before any server, with one line naming them.

Both run in child processes whose PATH is a folder of stubs: `dot` is simply not there, and neither is apt-get
(or it is a stub that records what it was asked), so nothing is installed on this machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from resnet_viz.i18n import t
from tests.conftest import ROOT

PACKAGES = ROOT / "packages.txt"


def _stub_bin(folder: Path, *, uid: int | None = None, tools: tuple[str, ...] = ()) -> Path:
    """A folder for PATH holding bash (the Makefile's check runs in it), ``id`` (or a stub saying ``uid``) and
    links to ``tools``; nothing else, so no `dot`, apt-get or sudo."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("bash", *tools):
        found = shutil.which(name)
        assert found, f"{name} is needed to build the stub PATH"
        (folder / name).symlink_to(found)
    if uid is None:
        (folder / "id").symlink_to(shutil.which("id") or "/usr/bin/id")
    else:
        _script(folder / "id", f"echo {uid}\n")
    return folder


def _script(path: Path, body: str) -> None:
    path.write_text("#!/bin/bash\n" + body, encoding="utf-8")
    path.chmod(0o755)


# ---------------------------------------------------------------------------------------------------------------
# The graph with `dot` off the PATH


_APP_WITHOUT_DOT = textwrap.dedent(
    """
    import json, sys
    from streamlit.testing.v1 import AppTest

    out = {}
    for lang in ("en", "zh"):
        at = AppTest.from_file(sys.argv[1], default_timeout=180)
        at.query_params["lang"] = lang
        at.run()
        home = {"errors": [e.value for e in at.error], "exceptions": [e.value for e in at.exception],
                "captions": [c.value for c in at.sidebar.caption]}
        at.switch_page("pages/explorer.py").run()
        explorer = {"errors": [e.value for e in at.error], "exceptions": [e.value for e in at.exception],
                    "captions": [c.value for c in at.sidebar.caption]}
        out[lang] = {"home": home, "explorer": explorer, "metrics": len(at.metric)}
    print(json.dumps(out))
    """
)


def test_the_app_says_one_sentence_where_the_graph_would_be_without_dot(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(_stub_bin(tmp_path / "bin")), "RESNET_VIZ_DB": f"sqlite:///{tmp_path}/lab.sqlite"}
    done = subprocess.run(
        [sys.executable, "-c", _APP_WITHOUT_DOT, str(ROOT / "app.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    for lang in ("en", "zh"):
        for page in ("home", "explorer"):
            said = seen[lang][page]
            assert said["exceptions"] == [], (lang, page)
            assert said["errors"] == [t("error.graphviz_missing", lang)], (lang, page)
        assert seen[lang]["metrics"] > 0  # the rest of the page is there
        # the sidebar's device line, also on the first run, where Home runs before torch is imported
        device = t("sidebar.device", lang, device="")
        for page in ("home", "explorer"):
            assert sum(c.startswith(device) for c in seen[lang][page]["captions"]) == 1, (lang, page)


def _cli(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": str(_stub_bin(tmp_path / "bin"))}
    cmd = [sys.executable, "-m", "resnet_viz", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_the_cli_graph_says_one_sentence_without_dot(tmp_path: Path) -> None:
    done = _cli(["graph", "--arch", "resnet18", "-o", str(tmp_path / "net.svg")], tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["error: " + t("error.graph_no_dot", format="SVG")]
    assert "graphviz" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "net.svg").exists()


def test_the_cli_writes_dot_without_dot(tmp_path: Path) -> None:
    """DOT is text: writing it needs no Graphviz."""
    done = _cli(["graph", "--arch", "resnet18", "--level", "stage", "--format", "dot"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("digraph") and "layer4" in done.stdout


# ---------------------------------------------------------------------------------------------------------------
# `make run`'s check


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The Makefile, its check and lists in a folder of their own, with a ready .venv whose `streamlit` only
    leaves a mark: the check runs as `make run` runs it, and whether a server would have started is a file."""
    root = tmp_path / "project"
    (root / "scripts").mkdir(parents=True)
    for name in ("Makefile", "packages.txt", "packages-dev.txt", "requirements.txt", "requirements-dev.txt"):
        shutil.copy(ROOT / name, root / name)
    shutil.copy(ROOT / "scripts" / "system_packages.sh", root / "scripts" / "system_packages.sh")
    (root / ".venv" / "bin").mkdir(parents=True)
    _script(root / ".venv" / "bin" / "streamlit", f'echo "$@" > {root / "server-started"}\n')
    (root / ".venv" / ".installed").touch()  # newer than the requirements: no pip install
    return root


def _make_run(root: Path, path: list[Path]) -> subprocess.CompletedProcess[str]:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is missing")
    env = {"PATH": os.pathsep.join(map(str, path)), "HOME": str(root)}
    return subprocess.run([make, "-s", "run"], cwd=root, env=env, capture_output=True, text=True, timeout=120)


def _errors(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("error:")]


def test_packages_txt_lists_what_the_app_needs() -> None:
    lines = [line.strip() for line in PACKAGES.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert lines == ["graphviz", "fonts-noto-cjk"]  # Streamlit Community Cloud: one Debian package a line


def test_make_run_without_dot_nor_apt_get_names_graphviz_and_starts_no_server(project: Path, tmp_path: Path) -> None:
    done = _make_run(project, [_stub_bin(tmp_path / "bin")])
    assert done.returncode != 0
    errors = _errors(done)
    assert len(errors) == 1, done.stdout + done.stderr
    assert "graphviz" in errors[0] and "apt-get" in errors[0]
    assert "Traceback" not in done.stderr
    assert not (project / "server-started").exists()


def test_make_run_not_root_without_sudo_names_graphviz_and_starts_no_server(project: Path, tmp_path: Path) -> None:
    stubs = _stub_bin(tmp_path / "bin", uid=1000)
    asked = tmp_path / "apt-get-asked"
    _script(stubs / "apt-get", f'echo "$@" >> {asked}\n')
    done = _make_run(project, [stubs])
    errors = _errors(done)
    assert len(errors) == 1 and "graphviz" in errors[0] and "sudo" in errors[0], done.stderr
    assert not asked.exists()  # not even tried
    assert not (project / "server-started").exists()


def test_make_run_installs_graphviz_with_apt_get_then_starts_the_server(project: Path, tmp_path: Path) -> None:
    """The other side, so that the two tests above can fail: as root with apt-get, the missing package is asked
    for and the server starts. The stub apt-get "installs" graphviz by putting a `dot` on the PATH."""
    stubs = _stub_bin(tmp_path / "bin", uid=0)
    installed = tmp_path / "installed"
    installed.mkdir()
    asked = tmp_path / "apt-get-asked"
    chmod = shutil.which("chmod")
    _script(
        stubs / "apt-get",
        f'echo "$@" >> {asked}\n'
        f'if [ "$1" = install ]; then printf "#!/bin/bash\\n" > {installed}/dot; {chmod} 755 {installed}/dot; fi\n'
        f'if [ "$1" = install ]; then printf "#!/bin/bash\\necho Noto\\n" > {installed}/fc-list; '
        f"{chmod} 755 {installed}/fc-list; fi\n",
    )
    _script(stubs / "env", 'while [[ "$1" == *=* ]]; do export "$1"; shift; done; exec "$@"\n')
    done = _make_run(project, [stubs, installed])
    assert done.returncode == 0, done.stdout + done.stderr
    calls = asked.read_text(encoding="utf-8").splitlines()
    assert calls[0] == "update -q"
    assert calls[1].startswith("install -y -q graphviz")
    assert (project / "server-started").read_text(encoding="utf-8").split() == ["run", "app.py"]


def test_make_run_with_the_packages_there_asks_for_nothing(project: Path, tmp_path: Path) -> None:
    stubs = _stub_bin(tmp_path / "bin", uid=1000)
    _script(stubs / "dot", "")
    _script(stubs / "fc-list", "echo Noto\n")
    done = _make_run(project, [stubs])
    assert done.returncode == 0, done.stdout + done.stderr
    assert (done.stdout + done.stderr).strip() == ""
    assert (project / "server-started").exists()
