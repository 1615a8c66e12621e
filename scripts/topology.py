"""The lab's several-machine topology, on one machine and on loopback only (docs/DEPLOY.md).

    python scripts/topology.py up --replicas 2 --workers 2 --base-port 9100 --dir /tmp/rv-topo
    python scripts/topology.py down --dir /tmp/rv-topo

``up`` starts, in this order, and waits for each to answer:

- PostgreSQL from Debian's packages (``initdb`` into ``<dir>/pg``, ``pg_ctl start``), database ``lab``;
- a Dask scheduler and ``--workers`` workers (Dask's own ``dask scheduler`` / ``dask worker``);
- ``--replicas`` Streamlit replicas (``streamlit run app.py``) sharing that database and scheduler;
- nginx in front of them, with sticky sessions and websockets (config generated into ``<dir>/nginx``).

Ports, from ``--base-port`` B: nginx B, PostgreSQL B+1, the scheduler B+2, replica ``rI`` B+10+I (I from 1);
Dask's workers and nannies take free loopback ports. Every process's pid (and start time, so that a
reused pid is never signalled) is kept in ``<dir>/topology.json``; ``down`` stops them all by pid, and
PostgreSQL with ``pg_ctl stop``. Logs are in ``<dir>/logs``. Workers and replicas get the caller's environment
(``RESNET_VIZ_CHECKPOINT_S`` and the like pass through) with ``RESNET_VIZ_DB`` and ``RESNET_VIZ_SCHEDULER`` set to
this topology's, and each replica ``RESNET_VIZ_REPLICA=rI``.

From Python (tests, benchmarks) the same as a context manager, stopped on exit::

    with Topology(dir, replicas=2, workers=2, base_port=9100) as topo:
        topo.url, topo.db_url, topo.scheduler, topo.replica_urls, topo.pid("r1")
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

import psutil

ROOT: Final = Path(__file__).resolve().parents[1]
BIN: Final = Path(sys.executable).parent  # the venv's `dask` and `streamlit`
HOST: Final = "127.0.0.1"  # everything binds to loopback
PG_USER: Final = "rv"  # the database's superuser (trust authentication, loopback only)
PG_DB: Final = "lab"
STATE: Final = "topology.json"
STOP_GRACE_S: Final = 20.0

__all__ = ["Service", "Topology", "TopologyError", "main"]


class TopologyError(RuntimeError):
    """A service did not start (the message names its log), or a tool is missing."""


@dataclass
class Service:
    """One process of the topology: its name, pid and start time (seconds since the epoch, from /proc)."""

    name: str
    kind: str  # postgres | scheduler | worker | replica | nginx
    pid: int
    started: float
    log: str


def _started(pid: int) -> float:
    return psutil.Process(pid).create_time()


def _free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def _answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex((HOST, port)) == 0


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _pg_bin() -> Path:
    """The newest PostgreSQL's bin folder from Debian's packages (else ``initdb`` on PATH)."""
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if found:
        newest = max(found, key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
        return Path(newest).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise TopologyError("PostgreSQL is not installed (initdb not found): apt-get install postgresql")


def _nginx_bin() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if not found:
        raise TopologyError("nginx is not installed: apt-get install nginx")
    return found


def _dask_bin(name: str) -> str:
    local = BIN / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        raise TopologyError(f"`{name}` not found next to {sys.executable} nor on PATH")
    return found


class Topology:
    """PostgreSQL, a Dask scheduler and workers, Streamlit replicas and nginx, all on loopback."""

    def __init__(
        self, directory: str | Path, *, replicas: int = 2, workers: int = 2, base_port: int = 9100,
        env: Mapping[str, str] | None = None,
    ) -> None:  # fmt: skip
        if replicas < 1 or workers < 1:
            raise ValueError("at least one replica and one worker")
        self.dir = Path(directory).resolve()
        self.replicas = replicas
        self.workers = workers
        self.base_port = base_port
        self.env = dict(env or {})  # extra environment for workers and replicas (RESNET_VIZ_CHECKPOINT_S, ...)
        self.services: list[Service] = []
        self._popen: dict[str, subprocess.Popen[bytes]] = {}

    # -- addresses -----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """nginx: the one address users open."""
        return f"http://{HOST}:{self.base_port}"

    @property
    def pg_port(self) -> int:
        return self.base_port + 1

    @property
    def db_url(self) -> str:
        return f"postgresql+psycopg://{PG_USER}@{HOST}:{self.pg_port}/{PG_DB}"

    @property
    def scheduler(self) -> str:
        return f"tcp://{HOST}:{self.base_port + 2}"

    @property
    def replica_ports(self) -> dict[str, int]:
        return {f"r{i}": self.base_port + 10 + i for i in range(1, self.replicas + 1)}

    @property
    def replica_urls(self) -> dict[str, str]:
        return {name: f"http://{HOST}:{port}" for name, port in self.replica_ports.items()}

    def pid(self, name: str) -> int:
        """The pid of service ``name``: postgres, scheduler, w1.., r1.., nginx."""
        return next(s.pid for s in self.services if s.name == name)

    def pids(self) -> dict[str, int]:
        return {s.name: s.pid for s in self.services}

    @property
    def logs(self) -> Path:
        return self.dir / "logs"

    # -- state ---------------------------------------------------------------------------------------
    def _save(self) -> None:
        state = {
            "replicas": self.replicas, "workers": self.workers, "base_port": self.base_port, "url": self.url,
            "db_url": self.db_url, "scheduler": self.scheduler, "replica_urls": self.replica_urls,
            "services": [asdict(s) for s in self.services],
        }  # fmt: skip
        tmp = self.dir / (STATE + ".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.dir / STATE)

    @classmethod
    def load(cls, directory: str | Path) -> Topology:
        """The topology recorded in ``directory`` (to stop it from another process)."""
        path = Path(directory).resolve() / STATE
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise TopologyError(f"no topology recorded in {path}") from e
        topo = cls(directory, replicas=state["replicas"], workers=state["workers"], base_port=state["base_port"])
        topo.services = [Service(**s) for s in state["services"]]
        return topo

    def _alive(self) -> list[Service]:
        out = []
        for s in self.services:
            with contextlib.suppress(psutil.Error):
                p = psutil.Process(s.pid)
                if abs(p.create_time() - s.started) < 1.0 and p.status() != psutil.STATUS_ZOMBIE:
                    out.append(s)
        return out

    # -- starting ------------------------------------------------------------------------------------
    def _log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def _spawn(self, name: str, kind: str, cmd: list[str], *, env: Mapping[str, str], cwd: Path) -> Service:
        log = self._log(name)
        with log.open("ab") as out:
            # a session of its own: Ctrl-C in the terminal that ran `up` does not reach it; `down` stops it
            proc = subprocess.Popen(
                cmd, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        service = Service(name, kind, proc.pid, _started(proc.pid), str(log))
        self._popen[name] = proc
        self.services.append(service)
        self._save()
        return service

    def _wait(self, service: Service, ready: Any, timeout: float, what: str) -> None:
        """Poll ``ready()`` until it holds; fail early, with the log's tail, if the process died."""
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError, ValueError):
                if ready():
                    return
            proc = self._popen.get(service.name)
            tail = f"{service.log}:\n{_tail(Path(service.log))}"
            if proc is not None and proc.poll() is not None:
                raise TopologyError(f"{what} exited ({proc.returncode}); {tail}")
            if time.monotonic() > deadline:
                raise TopologyError(f"{what} did not answer in {timeout:.0f} s; {tail}")
            time.sleep(0.2)

    def _base_env(self) -> dict[str, str]:
        """The caller's environment (its RESNET_VIZ_* settings pass through), ``env``, and the topology's addresses."""
        env = {k: v for k, v in os.environ.items() if k != "RESNET_VIZ_REPLICA"}
        env.update(self.env)
        env["RESNET_VIZ_DB"] = self.db_url
        env["RESNET_VIZ_SCHEDULER"] = self.scheduler
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
        return env

    def up(self) -> Topology:
        """Start everything (each service answers before the next starts); on failure stop what started."""
        if (self.dir / STATE).exists():
            running = Topology.load(self.dir)._alive()
            if running:
                names = ", ".join(s.name for s in running)
                raise TopologyError(f"a topology is already up in {self.dir} ({names}); run `down` first")
        ports = [self.base_port, self.pg_port, self.base_port + 2, *self.replica_ports.values()]
        taken = [p for p in ports if not _free(p)]
        if taken:
            raise TopologyError(f"ports already in use on {HOST}: {taken}; choose another --base-port")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        try:
            self._postgres()
            self._prepare_store()
            self._dask()
            self._streamlit()
            self._nginx()
        except BaseException:
            self.down()
            raise
        return self

    def __enter__(self) -> Topology:
        return self.up()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.down()

    # PostgreSQL ------------------------------------------------------------------------------------
    def _pg_user(self) -> list[str]:
        """Run PostgreSQL's tools as this prefix: as root, `runuser -u postgres --` (initdb refuses root)."""
        if os.geteuid() != 0:
            return []
        for name in ("postgres", "nobody"):
            with contextlib.suppress(KeyError):
                pwd.getpwnam(name)
                return ["runuser", "-u", name, "--"]
        raise TopologyError("running as root, and there is no `postgres` user to run PostgreSQL as")

    def _pg_paths(self) -> tuple[Path, Path, Path]:
        pg = self.dir / "pg"
        return pg / "data", pg / "run", self.logs / "postgres.log"

    def _postgres(self) -> None:
        bindir = _pg_bin()
        as_user = self._pg_user()
        data, run, log = self._pg_paths()
        pg = data.parent
        pg.mkdir(exist_ok=True)
        run.mkdir(exist_ok=True)
        if as_user:
            user = pwd.getpwnam(as_user[2])
            os.chmod(self.dir, 0o755)  # PostgreSQL's user must reach <dir>/pg
            log.touch()  # written by PostgreSQL's user, in the folder of all logs
            for path in (pg, run, log):
                os.chown(path, user.pw_uid, user.pw_gid)
            if subprocess.run([*as_user, "test", "-w", str(pg)], check=False).returncode:
                raise TopologyError(
                    f"user {as_user[2]} cannot write {pg}: make {self.dir} and its parents traversable (chmod o+x)"
                )
        out = self._log("postgres-setup")
        with out.open("ab") as f:
            if not (data / "PG_VERSION").exists():
                cmd = [str(bindir / "initdb"), "-D", str(data), "-U", PG_USER, "-A", "trust", "-E", "UTF8"]
                if subprocess.run([*as_user, *cmd], stdout=f, stderr=subprocess.STDOUT, check=False).returncode:
                    raise TopologyError(f"initdb failed; {out}:\n{_tail(out)}")
            options = f"-c listen_addresses={HOST} -c port={self.pg_port} -c unix_socket_directories='{run}'"
            cmd = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start"]
            if subprocess.run([*as_user, *cmd], stdout=f, stderr=subprocess.STDOUT, check=False).returncode:
                raise TopologyError(f"pg_ctl start failed; {log}:\n{_tail(log)}")
        pid = int((data / "postmaster.pid").read_text().split()[0])
        self.services.append(Service("postgres", "postgres", pid, _started(pid), str(log)))
        self._save()
        with out.open("ab") as f:
            cmd = [str(bindir / "createdb"), "-h", HOST, "-p", str(self.pg_port), "-U", PG_USER, PG_DB]
            done = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, check=False)
        if done.returncode and "already exists" not in _tail(out, 3):
            raise TopologyError(f"createdb failed; {out}:\n{_tail(out)}")

    def _prepare_store(self) -> None:
        """Create the tables and import the reference runs once, before several replicas race to do it."""
        sys.path.insert(0, str(ROOT))
        from resnet_viz.lab.reference import import_references
        from resnet_viz.lab.store import RunStore

        store = RunStore(self.db_url)
        try:
            import_references(store)
        finally:
            store.close()

    # Dask ------------------------------------------------------------------------------------------
    def _dask(self) -> None:
        from distributed import Client

        env = self._base_env()
        work = self.dir / "dask"
        work.mkdir(exist_ok=True)
        port = self.base_port + 2
        cmd = [_dask_bin("dask"), "scheduler", "--host", HOST, "--port", str(port), "--no-dashboard"]
        # a net's slices stay on the worker that holds it (resnet_viz/lab/engine.py): no work stealing
        senv = {**env, "DASK_DISTRIBUTED__SCHEDULER__WORK_STEALING": "False"}
        sched = self._spawn("scheduler", "scheduler", cmd, env=senv, cwd=work)
        self._wait(sched, lambda: _answers(port), 90, "the Dask scheduler")
        slots = env.get("RESNET_VIZ_TRAIN_SLOTS", "1")  # slices a worker trains at once; runs take turns in them
        wenv = {**env, "RESNET_VIZ_TORCH_THREADS": env.get("RESNET_VIZ_TORCH_THREADS", "1")}
        for i in range(1, self.workers + 1):
            cmd = [
                _dask_bin("dask"), "worker", self.scheduler, "--host", HOST, "--nthreads", str(int(slots) + 1),
                "--resources", f"train={slots}", "--name", f"w{i}", "--no-dashboard",
                "--local-directory", str(work / f"w{i}"),
            ]  # fmt: skip
            self._spawn(f"w{i}", "worker", cmd, env=wenv, cwd=work)
        client = Client(self.scheduler, timeout="30s", set_as_default=False)
        try:
            client.wait_for_workers(self.workers, timeout=180)
        except TimeoutError as e:
            logs = ", ".join(s.log for s in self.services if s.kind == "worker")
            raise TopologyError(f"the Dask workers did not join in 180 s; see {logs}") from e
        finally:
            client.close()

    # Streamlit -------------------------------------------------------------------------------------
    def _streamlit(self) -> None:
        env = self._base_env()
        # one cookie secret for all replicas: XSRF tokens stay valid when nginx moves a user to another one
        secret = self.dir / "cookie_secret"
        if not secret.exists():
            secret.write_text(secrets.token_hex(32))
            secret.chmod(0o600)
        env["STREAMLIT_SERVER_COOKIE_SECRET"] = secret.read_text().strip()
        started = []
        for name, port in self.replica_ports.items():
            cmd = [
                _dask_bin("streamlit"), "run", "app.py", "--server.headless", "true", "--server.address", HOST,
                "--server.port", str(port), "--browser.gatherUsageStats", "false",
                "--server.fileWatcherType", "none",  # a replica serves what it started with
            ]  # fmt: skip
            started.append((self._spawn(name, "replica", cmd, env={**env, "RESNET_VIZ_REPLICA": name}, cwd=ROOT), port))
        for service, port in started:
            url = f"http://{HOST}:{port}/_stcore/health"
            self._wait(service, lambda url=url: _http_ok(url), 120, f"Streamlit replica {service.name}")

    # nginx -----------------------------------------------------------------------------------------
    def nginx_conf(self) -> str:
        """The generated nginx.conf (see docs/DEPLOY.md for every line's reason)."""
        ng = self.dir / "nginx"
        ports = self.replica_ports
        user = ""
        if os.geteuid() == 0:  # workers drop root; Debian has no `nobody` group, so name one that exists
            with contextlib.suppress(KeyError):
                pwd.getpwnam("www-data")
                user = "user www-data;"
            user = user or "user nobody nogroup;"

        def pool(first: str | None) -> str:
            lines = []
            for name, port in ports.items():
                role = "" if first is None or name == first else " backup"
                lines.append(f"        server {HOST}:{port} max_fails=1 fail_timeout=5s{role};")
            return "\n".join(lines)

        pools = "\n".join(f"    upstream rv_{n} {{\n{pool(n)}\n    }}" for n in ports)
        pinned = "\n".join(f"        {n} rv_{n};" for n in ports)
        host_re = HOST.replace(".", "\\.")
        answered = "\n".join(f'        "~(^|\\s){host_re}:{p}$" {n};' for n, p in ports.items())
        return f"""# Generated by scripts/topology.py; explained in docs/DEPLOY.md.
{user}
worker_processes 1;  # one round-robin counter: new users alternate between replicas
daemon off;          # scripts/topology.py runs it under its own pid
pid {ng}/nginx.pid;
error_log {self.logs}/nginx-error.log warn;
events {{ worker_connections 1024; }}

http {{
    log_format rv '$remote_addr [$time_local] "$request" $status replica=$rv_answered '
                  'upstream=$upstream_addr cookie=$cookie_rv_replica';
    access_log {self.logs}/nginx-access.log rv;
    client_body_temp_path {ng}/tmp/body;
    proxy_temp_path {ng}/tmp/proxy;
    fastcgi_temp_path {ng}/tmp/fastcgi;
    uwsgi_temp_path {ng}/tmp/uwsgi;
    scgi_temp_path {ng}/tmp/scgi;
    client_max_body_size 300m;  # Streamlit's own upload cap (.streamlit/config.toml)

    # A user without a cookie goes to rv_any (round robin); the response names the replica that answered
    # in the cookie rv_replica; later requests go to that replica's pool, where it is the primary and the
    # others are backups: if it is down, nginx moves on to a live one and the cookie follows.
    upstream rv_any {{
{pool(None)}
    }}
{pools}

    map $arg_replica $rv_pinned {{  # ?replica=rN pins a browser to one replica (tests, debugging)
        default "";
{pinned}
    }}
    map $cookie_rv_replica $rv_sticky {{
        default rv_any;
{pinned}
    }}
    map $rv_pinned $rv_pool {{
        "" $rv_sticky;
        default $rv_pinned;
    }}
    map $upstream_addr $rv_answered {{  # the last address tried is the one that answered
        default "";
{answered}
    }}
    map $http_upgrade $rv_connection {{
        default upgrade;
        "" "";
    }}

    server {{
        listen {HOST}:{self.base_port};
        location / {{
            proxy_pass http://$rv_pool;
            proxy_http_version 1.1;  # websockets (/_stcore/stream) need 1.1 and the Upgrade headers
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $rv_connection;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 1d;  # a session's websocket stays open for as long as the tab
            proxy_send_timeout 1d;
            proxy_connect_timeout 2s;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_buffering off;
            add_header X-Replica $rv_answered always;
            add_header Set-Cookie "rv_replica=$rv_answered; Path=/; HttpOnly; SameSite=Lax" always;
        }}
    }}
}}
"""

    def _nginx(self) -> None:
        ng = self.dir / "nginx"
        (ng / "tmp").mkdir(parents=True, exist_ok=True)
        conf = ng / "nginx.conf"
        conf.write_text(self.nginx_conf())
        cmd = [_nginx_bin(), "-p", f"{ng}/", "-c", str(conf), "-e", str(self.logs / "nginx-error.log")]
        service = self._spawn("nginx", "nginx", cmd, env=os.environ, cwd=ng)
        self._wait(service, lambda: _http_ok(f"{self.url}/_stcore/health"), 30, "nginx")

    # -- stopping ------------------------------------------------------------------------------------
    def down(self) -> list[int]:
        """Stop every recorded process by pid (children too), newest first; returns the pids stopped."""
        stopped: list[int] = []
        for service in reversed(self.services):
            if service.kind == "postgres" and service in self._alive():
                self._stop_postgres()  # a clean shutdown; the pid is signalled only if it is still there
                stopped.append(service.pid)
                if service not in self._alive():
                    continue
            stopped += _stop(service, self._popen.get(service.name))
        for proc in self._popen.values():  # reap what was ours
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1)
        return stopped

    def _stop_postgres(self) -> None:
        data, _run, _log = self._pg_paths()
        if not (data / "postmaster.pid").exists():
            return
        out = self._log("postgres-setup")
        with contextlib.suppress(TopologyError, OSError), out.open("ab") as f:
            cmd = [str(_pg_bin() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop"]
            subprocess.run([*self._pg_user(), *cmd], stdout=f, stderr=subprocess.STDOUT, check=False, timeout=60)


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=3) as r:
        return bool(r.status == 200)


def _stop(service: Service, popen: subprocess.Popen[bytes] | None) -> list[int]:
    """SIGTERM the service's pid, SIGKILL after a grace period; then any children it left behind."""
    try:
        proc = psutil.Process(service.pid)
        if abs(proc.create_time() - service.started) >= 1.0:
            return []  # that pid now belongs to another process
        kids = proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    with contextlib.suppress(psutil.NoSuchProcess):
        proc.send_signal(signal.SIGTERM)
    try:
        if popen is not None:
            popen.wait(timeout=STOP_GRACE_S)
        else:
            proc.wait(timeout=STOP_GRACE_S)
    except (psutil.TimeoutExpired, subprocess.TimeoutExpired):
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
        with contextlib.suppress(psutil.Error, subprocess.TimeoutExpired):
            popen.wait(timeout=10) if popen is not None else proc.wait(timeout=10)
    _gone, alive = psutil.wait_procs(kids, timeout=STOP_GRACE_S)
    for kid in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            kid.kill()
    psutil.wait_procs(alive, timeout=10)
    return [service.pid, *(k.pid for k in kids)]


def _print(topo: Topology, out: IO[str]) -> None:
    print(f"open      {topo.url}", file=out)
    print(f"database  {topo.db_url}", file=out)
    print(f"scheduler {topo.scheduler}", file=out)
    for name, url in topo.replica_urls.items():
        print(f"replica   {name} {url}", file=out)
    for s in topo.services:
        print(f"pid       {s.name:<10} {s.pid:>8}  log {s.log}", file=out)
    print(f"stop with python scripts/topology.py down --dir {topo.dir}", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="topology.py", description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start PostgreSQL, Dask, the Streamlit replicas and nginx")
    up.add_argument("--replicas", type=int, default=2)
    up.add_argument("--workers", type=int, default=2)
    up.add_argument("--base-port", type=int, default=9100)
    up.add_argument("--dir", required=True, help="where data, config, logs and pids live")
    down = sub.add_parser("down", help="stop every process recorded in --dir")
    down.add_argument("--dir", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            topo = Topology(args.dir, replicas=args.replicas, workers=args.workers, base_port=args.base_port).up()
            _print(topo, sys.stdout)
        else:
            stopped = Topology.load(args.dir).down()
            print(f"stopped {len(stopped)} processes: {' '.join(map(str, stopped)) or '-'}")
    except (TopologyError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
