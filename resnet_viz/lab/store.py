"""The run store: runs, per-step metrics, weights, checkpoints, watchers and cached insights, in SQL.

SQLAlchemy Core over any database URL: SQLite (a file under the data root) by default, PostgreSQL for
several machines (``RESNET_VIZ_DB``). Every method is one short transaction, so web processes, worker
processes and the CLI can share one database.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from ..config import data_root
from ..errors import UserError
from ..i18n import DEFAULT_LANG, Lang, t
from .config import NETS, NetName, RunConfig, config_from_dict, run_id

__all__ = [
    "ACTIVE",
    "FINAL",
    "MetricRow",
    "NetRecord",
    "Origin",
    "RecordedError",
    "RunRecord",
    "RunStatus",
    "RunStore",
    "StoreError",
    "default_url",
]

RunStatus = Literal["queued", "running", "done", "stopped", "diverged", "failed"]
Origin = Literal["web", "cli", "reference"]
ACTIVE: Final[tuple[RunStatus, ...]] = ("queued", "running")
FINAL: Final[tuple[RunStatus, ...]] = ("done", "diverged", "failed")


class StoreError(UserError):
    """The run store cannot be reached, has no such run, or a run ended badly: said in one sentence."""

    prefix = "lab.error"


class RecordedError(UserError):
    """An error kept with a run: its full string key (``lab.error.diverged``, ``error.grad_cifar_missing``)."""

    def message(self, lang: Lang = DEFAULT_LANG) -> str:
        return t(self.code, lang, **self.values)


def default_url() -> str:
    """``$RESNET_VIZ_DB``, else a SQLite file ``lab.sqlite`` under the data root."""
    return os.environ.get("RESNET_VIZ_DB") or f"sqlite:///{data_root() / 'lab.sqlite'}"


_meta = sa.MetaData()
_runs = sa.Table(
    "runs",
    _meta,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("origin", sa.String(16), nullable=False),
    sa.Column("keep", sa.Boolean, nullable=False, default=False),
    sa.Column("error_code", sa.String(64)),
    sa.Column("error_values", sa.Text),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("queued", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
)
_nets = sa.Table(
    "nets",
    _meta,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("net", sa.String(16), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("layers", sa.Text, nullable=False),
    sa.Column("step", sa.Integer, nullable=False, default=0),
    sa.Column("done", sa.Boolean, nullable=False, default=False),
    sa.Column("rate", sa.Float, nullable=False, default=0.0),
    sa.Column("worker", sa.Text),
)
_metrics = sa.Table(
    "metrics",
    _meta,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("net", sa.String(16), primary_key=True),
    sa.Column("step", sa.Integer, primary_key=True),
    sa.Column("loss", sa.Float),
    sa.Column("accuracy", sa.Float, nullable=False),
    sa.Column("norms", sa.Text, nullable=False),  # JSON list, one norm per layer in depth order
)
_blobs = sa.Table(
    "blobs",
    _meta,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("net", sa.String(16), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),  # "checkpoint" (torch.save) or "final" (safetensors)
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)
_watchers = sa.Table(
    "watchers",
    _meta,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("session", sa.String(64), primary_key=True),
    sa.Column("seen", sa.Float, nullable=False),
)
_results = sa.Table(
    "results",
    _meta,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
)


@dataclass(frozen=True)
class NetRecord:
    """One net of a run as stored: how far it got and how fast."""

    net: NetName
    title: str
    layers: tuple[str, ...]
    step: int
    done: bool
    rate: float  # steps per second, over the net's latest stretch of training


@dataclass(frozen=True)
class RunRecord:
    """A run as the store knows it."""

    id: str
    config: RunConfig
    title: str
    status: RunStatus
    total: int
    origin: Origin
    keep: bool
    error_code: str | None
    error_values: dict[str, Any]
    created: float
    queued: float
    updated: float
    nets: dict[NetName, NetRecord]

    @property
    def step(self) -> int:
        """The latest step both nets have finished."""
        return min((n.step for n in self.nets.values()), default=0)

    @property
    def rate(self) -> float:
        """Pair-steps per second: the slower net sets the pace."""
        rates = [n.rate for n in self.nets.values()]
        return min(rates) if len(rates) == len(NETS) else 0.0

    @property
    def reference(self) -> bool:
        return self.origin == "reference"

    def error(self) -> UserError | None:
        if self.error_code is None:
            return None
        return RecordedError(self.error_code, **self.error_values)


@dataclass(frozen=True)
class MetricRow:
    """One training step of one net."""

    step: int
    loss: float
    accuracy: float
    norms: tuple[float, ...]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web process read while workers write; a busy writer is waited for, not an error.
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


class RunStore:
    """All reads and writes of lab runs; one instance per process and URL (thread-safe through its pool)."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        try:
            if self.url.startswith("sqlite:///"):
                os.makedirs(os.path.dirname(self.url.removeprefix("sqlite:///")) or ".", exist_ok=True)
            self.engine: Engine = sa.create_engine(self.url, pool_pre_ping=True)
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _sqlite_pragmas)
            _meta.create_all(self.engine)
        except (sa.exc.SQLAlchemyError, OSError, ValueError, ImportError) as e:
            raise StoreError("store_unreachable", url=_redact(self.url), detail=type(e).__name__) from e

    def close(self) -> None:
        self.engine.dispose()

    # -- runs -------------------------------------------------------------------------------------------
    def create(self, config: RunConfig, *, origin: Origin = "web", keep: bool = False) -> tuple[str, bool]:
        """The run's id, and True when this call created it (False: it existed, so the caller joins it)."""
        rid = run_id(config)
        now = time.time()
        specs = config.specs()
        with self.engine.begin() as c:
            if c.execute(sa.select(_runs.c.id).where(_runs.c.id == rid)).first() is not None:
                return rid, False
            try:
                c.execute(
                    _runs.insert().values(
                        id=rid, config=json.dumps(config.to_dict()), title=config.title, status="queued",
                        total=config.steps, origin=origin, keep=keep or origin != "web", created=now, queued=now,
                        updated=now,
                    )
                )  # fmt: skip
                c.execute(
                    _nets.insert(),
                    [{"run_id": rid, "net": n, "title": specs[n].title, "layers": "[]", "step": 0} for n in NETS],
                )
            except sa.exc.IntegrityError:  # another process created it between our look and our insert
                return rid, False
        return rid, True

    def get(self, rid: str) -> RunRecord:
        with self.engine.connect() as c:
            row = c.execute(sa.select(_runs).where(_runs.c.id == rid)).mappings().first()
            if row is None:
                raise StoreError("unknown_run", run=rid)
            nets = c.execute(sa.select(_nets).where(_nets.c.run_id == rid)).mappings().all()
        return _record(row, nets)

    def find(self, rid: str) -> RunRecord | None:
        try:
            return self.get(rid)
        except StoreError:
            return None

    def runs(self, *, statuses: Sequence[RunStatus] | None = None) -> list[RunRecord]:
        """Every run, newest first (optionally only those with the given statuses)."""
        q = sa.select(_runs).order_by(_runs.c.created.desc())
        if statuses:
            q = q.where(_runs.c.status.in_(list(statuses)))
        with self.engine.connect() as c:
            rows = c.execute(q).mappings().all()
            nets = c.execute(sa.select(_nets)).mappings().all()
        by_run: dict[str, list[Any]] = {}
        for n in nets:
            by_run.setdefault(n["run_id"], []).append(n)
        return [_record(r, by_run.get(r["id"], [])) for r in rows]

    def set_status(
        self, rid: str, status: RunStatus, *, only_from: Iterable[RunStatus] | None = None,
        error: UserError | None = None, error_code: str | None = None, **values: Any,
    ) -> bool:  # fmt: skip
        """Move a run to ``status`` (only from ``only_from``, when given); True if it moved."""
        now = time.time()
        changes: dict[str, Any] = {"status": status, "updated": now}
        if status == "queued":
            changes.update(queued=now, error_code=None, error_values=None)
        if error is not None:
            error_code, values = f"{error.prefix}.{error.code}", dict(error.values)
        if error_code is not None:
            changes.update(error_code=error_code, error_values=json.dumps(values, default=str))
        q = _runs.update().where(_runs.c.id == rid).values(**changes)
        if only_from is not None:
            q = q.where(_runs.c.status.in_(list(only_from)))
        with self.engine.begin() as c:
            return bool(c.execute(q).rowcount)

    def status(self, rid: str) -> RunStatus:
        with self.engine.connect() as c:
            value = c.execute(sa.select(_runs.c.status).where(_runs.c.id == rid)).scalar()
        if value is None:
            raise StoreError("unknown_run", run=rid)
        return value  # type: ignore[no-any-return]

    def set_keep(self, rid: str, keep: bool) -> None:
        with self.engine.begin() as c:
            c.execute(_runs.update().where(_runs.c.id == rid).values(keep=keep))

    def delete(self, rid: str) -> None:
        with self.engine.begin() as c:
            for table in (_results, _watchers, _blobs, _metrics, _nets, _runs):
                col = table.c.id if table is _runs else table.c.run_id
                c.execute(table.delete().where(col == rid))

    # -- nets and metrics -------------------------------------------------------------------------------
    def set_layers(self, rid: str, net: NetName, layers: Sequence[str], *, worker: str = "") -> None:
        with self.engine.begin() as c:
            c.execute(
                _nets.update()
                .where(_nets.c.run_id == rid, _nets.c.net == net)
                .values(layers=json.dumps(list(layers)), worker=worker)
            )

    def append(self, rid: str, net: NetName, rows: Sequence[MetricRow], *, rate: float) -> None:
        """Record steps of one net (one transaction), moving its step counter to the last of them and its rate."""
        if not rows:
            with self.engine.begin() as c:
                c.execute(_nets.update().where(_nets.c.run_id == rid, _nets.c.net == net).values(rate=rate))
            return
        values = [
            {
                "run_id": rid, "net": net, "step": r.step, "loss": r.loss if math.isfinite(r.loss) else None,
                "accuracy": r.accuracy, "norms": json.dumps(list(r.norms)),
            }
            for r in rows
        ]  # fmt: skip
        with self.engine.begin() as c:
            c.execute(_metrics.insert(), values)
            c.execute(
                _nets.update().where(_nets.c.run_id == rid, _nets.c.net == net).values(step=rows[-1].step, rate=rate)
            )
            c.execute(_runs.update().where(_runs.c.id == rid).values(updated=time.time()))

    def truncate(self, rid: str, net: NetName, step: int) -> None:
        """Forget the steps after ``step`` (a worker resumes from a checkpoint taken there)."""
        with self.engine.begin() as c:
            c.execute(_metrics.delete().where(_metrics.c.run_id == rid, _metrics.c.net == net, _metrics.c.step > step))
            c.execute(_nets.update().where(_nets.c.run_id == rid, _nets.c.net == net).values(step=step, done=False))

    def metrics(self, rid: str, net: NetName, *, after: int = 0) -> list[MetricRow]:
        """The steps of one net after step ``after``, in order (the page reads only what is new)."""
        q = (
            sa.select(_metrics.c.step, _metrics.c.loss, _metrics.c.accuracy, _metrics.c.norms)
            .where(_metrics.c.run_id == rid, _metrics.c.net == net, _metrics.c.step > after)
            .order_by(_metrics.c.step)
        )
        with self.engine.connect() as c:
            rows = c.execute(q).all()
        return [
            MetricRow(s, float("nan") if loss is None else loss, acc, tuple(json.loads(norms)))
            for s, loss, acc, norms in rows
        ]

    def mark_net_done(self, rid: str, net: NetName) -> bool:
        """Mark one net finished; True when that made the whole run done."""
        with self.engine.begin() as c:
            c.execute(_nets.update().where(_nets.c.run_id == rid, _nets.c.net == net).values(done=True))
            left = c.execute(
                sa.select(sa.func.count()).where(_nets.c.run_id == rid, _nets.c.done == sa.false())
            ).scalar()
            if left:
                return False
            moved = c.execute(
                _runs.update()
                .where(_runs.c.id == rid, _runs.c.status.in_(list(ACTIVE)))
                .values(status="done", updated=time.time())
            ).rowcount
        return bool(moved)

    # -- weights and checkpoints ------------------------------------------------------------------------
    def put_blob(self, rid: str, net: NetName, kind: str, step: int, data: bytes) -> None:
        with self.engine.begin() as c:
            c.execute(_blobs.delete().where(_blobs.c.run_id == rid, _blobs.c.net == net, _blobs.c.kind == kind))
            c.execute(_blobs.insert().values(run_id=rid, net=net, kind=kind, step=step, data=data))

    def drop_blob(self, rid: str, net: NetName, kind: str) -> None:
        with self.engine.begin() as c:
            c.execute(_blobs.delete().where(_blobs.c.run_id == rid, _blobs.c.net == net, _blobs.c.kind == kind))

    def get_blob(self, rid: str, net: NetName, kind: str) -> tuple[int, bytes] | None:
        q = sa.select(_blobs.c.step, _blobs.c.data).where(
            _blobs.c.run_id == rid, _blobs.c.net == net, _blobs.c.kind == kind
        )
        with self.engine.connect() as c:
            row = c.execute(q).first()
        return None if row is None else (int(row[0]), bytes(row[1]))

    # -- watchers ---------------------------------------------------------------------------------------
    def watch(self, rid: str, session: str) -> None:
        """This browser session is looking at the run now."""
        now = time.time()
        with self.engine.begin() as c:
            moved = c.execute(
                _watchers.update().where(_watchers.c.run_id == rid, _watchers.c.session == session).values(seen=now)
            ).rowcount
            if not moved:
                try:
                    with c.begin_nested():
                        c.execute(_watchers.insert().values(run_id=rid, session=session, seen=now))
                except sa.exc.IntegrityError:
                    pass  # the same session's other tab inserted it first

    def unwatch(self, rid: str, session: str) -> None:
        with self.engine.begin() as c:
            c.execute(_watchers.delete().where(_watchers.c.run_id == rid, _watchers.c.session == session))

    def last_seen(self, rid: str, *, other_than: str | None = None) -> float | None:
        """When any session (other than ``other_than``) last looked at the run."""
        q = sa.select(sa.func.max(_watchers.c.seen)).where(_watchers.c.run_id == rid)
        if other_than is not None:
            q = q.where(_watchers.c.session != other_than)
        with self.engine.connect() as c:
            value = c.execute(q).scalar()
        return None if value is None else float(value)

    def watchers(self, rid: str, *, within: float) -> int:
        q = sa.select(sa.func.count()).where(_watchers.c.run_id == rid, _watchers.c.seen > time.time() - within)
        with self.engine.connect() as c:
            return int(c.execute(q).scalar() or 0)

    # -- cached results (insights) ----------------------------------------------------------------------
    def put_result(self, rid: str, kind: str, key: str, value: Any) -> None:
        with self.engine.begin() as c:
            c.execute(_results.delete().where(_results.c.run_id == rid, _results.c.kind == kind, _results.c.key == key))
            row = {"run_id": rid, "kind": kind, "key": key, "value": json.dumps(value), "created": time.time()}
            c.execute(_results.insert().values(**row))

    def get_result(self, rid: str, kind: str, key: str) -> Any | None:
        q = sa.select(_results.c.value).where(_results.c.run_id == rid, _results.c.kind == kind, _results.c.key == key)
        with self.engine.connect() as c:
            value = c.execute(q).scalar()
        return None if value is None else json.loads(value)

    def results(self, rid: str, kind: str) -> list[Any]:
        """Every value of one kind kept for the run, oldest first."""
        q = (
            sa.select(_results.c.value)
            .where(_results.c.run_id == rid, _results.c.kind == kind)
            .order_by(_results.c.created, _results.c.key)
        )
        with self.engine.connect() as c:
            return [json.loads(v) for v in c.execute(q).scalars()]

    # -- copying runs between stores (reference runs ship as a store of their own) ----------------------
    def copy_run_to(self, rid: str, other: RunStore) -> bool:
        """Copy one run with everything it holds into ``other``; False when ``other`` has it already."""
        if other.find(rid) is not None:
            return False
        with self.engine.connect() as src, other.engine.begin() as dst:
            for table in (_runs, _nets, _metrics, _blobs, _results):
                col = table.c.id if table is _runs else table.c.run_id
                rows = [dict(r) for r in src.execute(sa.select(table).where(col == rid)).mappings()]
                if rows:
                    dst.execute(table.insert(), rows)
        return True


def _record(row: Any, nets: Iterable[Any]) -> RunRecord:
    return RunRecord(
        id=row["id"],
        config=config_from_dict(json.loads(row["config"])),
        title=row["title"],
        status=row["status"],
        total=row["total"],
        origin=row["origin"],
        keep=bool(row["keep"]),
        error_code=row["error_code"],
        error_values=json.loads(row["error_values"]) if row["error_values"] else {},
        created=row["created"],
        queued=row["queued"],
        updated=row["updated"],
        nets={
            n["net"]: NetRecord(
                n["net"], n["title"], tuple(json.loads(n["layers"])), n["step"], bool(n["done"]), n["rate"]
            )
            for n in sorted(nets, key=lambda n: NETS.index(n["net"]))
        },
    )


def _redact(url: str) -> str:
    """A database URL without its password, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return "(unreadable URL)"
