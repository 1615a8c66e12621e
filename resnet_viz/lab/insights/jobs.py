"""The insight jobs a worker runs on a finished run: pieces that each load a net and compute part of one record.

A job is split into pieces (:func:`plan`) so several workers share it: one per net, and for the landscape one per
block of grid points plus one for the centre and curvature. Each piece records its progress (kind
``<kind>:progress``, at most twice a second) and its result (kind ``<kind>:part``; not an ERF's, whose heat maps
are large) in the run store, so a job asked for again after a restart computes only the pieces it lacks;
:func:`combine` builds the record from the pieces and stores it under the settings' key. A failure is recorded
too (kind ``<kind>:error``) for the client to say.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import torch
from torch import nn

from ...errors import UserError
from ...nets.build import build
from ...nets.resnet import seeded
from ..config import NETS, NetName
from ..cores import usable_cores
from ..store import RunStore
from ..train import load_final
from .curvature import POWER_ITERS, Curvature, hessian_extremes
from .data import held_out
from .erf import ERF, effective_receptive_field
from .evaluate import Score, evaluate
from .kinds import ERFStudy, Kind, settings_key
from .landscape import (
    HESSIAN_IMAGES,
    Landscape,
    curvature_cost,
    grid_axis,
    landscape_points,
    point_losses,
    surface_from,
)
from .lesion import Lesions, NetLesions, lesion_study
from .record import Record
from .responses import NetResponses, Responses, layer_responses
from .shattered import LabShattering, NeighbourGradients, neighbour_gradients

__all__ = ["FLUSH_S", "HEAT_DIGITS", "POINT_PIECES", "JobError", "Piece", "combine", "plan", "run_insight", "run_piece"]

FLUSH_S: Final = 0.5  # progress reaches the store at most this often
POINT_PIECES: Final = 4  # blocks of grid points per net: each about as long as the curvature piece at 21×21
HEAT_DIGITS: Final = 6  # significant digits an ERF heat map keeps: half the JSON of full precision, 1e-6 relative


@dataclass(frozen=True)
class Piece:
    """One task of a job: ``part`` of net ``net`` (grid points ``start:stop`` for "points"); ``weight`` is its
    cost relative to the job's other pieces, for the progress bar."""

    name: str
    net: NetName
    part: str  # "all", "trained", "init", "points" or "curvature"
    weight: float = 1.0
    start: int = 0
    stop: int = 0
    keep: bool = True  # recorded on its own too, so an interrupted job resumes without it


class JobError(Exception):
    """A failure inside a worker as a string key and its values: unlike a UserError it crosses processes intact."""

    def __init__(self, key: str, values: dict[str, Any]) -> None:
        super().__init__(key, values)
        self.key, self.values = key, values


def plan(kind: Kind, settings: Mapping[str, Any]) -> tuple[Piece, ...]:
    """The pieces of a job, in the order they are best started."""
    if kind == "erf":  # a heat map is large (ResNet-56's last stage: 265² values) and a minute's work: kept once
        return tuple(Piece(f"{net}.{when}", net, when, keep=False) for net in NETS for when in ("trained", "init"))
    if kind != "landscape":
        return tuple(Piece(net, net, "all") for net in NETS)
    todo = len(landscape_points(grid_axis(settings["grid"]), dims=settings["dims"]))
    blocks = min(POINT_PIECES, todo)
    edges = [round(i * todo / blocks) for i in range(blocks + 1)]
    curve = 1 + curvature_cost(settings["images"], hessian_images=HESSIAN_IMAGES, power_iters=POWER_ITERS)
    pieces = []
    for net in NETS:
        pieces.append(Piece(f"{net}.curvature", net, "curvature", weight=curve))
        pieces += [
            Piece(f"{net}.points{i}", net, "points", weight=float(b - a), start=a, stop=b)
            for i, (a, b) in enumerate(itertools.pairwise(edges))
        ]
    return tuple(pieces)


def _threads() -> int:
    """Torch threads for this worker: $RESNET_VIZ_TORCH_THREADS, else the cores shared by two workers (as train)."""
    env = os.environ.get("RESNET_VIZ_TORCH_THREADS")
    return int(env) if env else max(1, usable_cores() // 2)


def _reporter(store: RunStore, rid: str, kind: str, key: str) -> Callable[[float], None]:
    """A progress callback that writes the fraction done to the store at most every FLUSH_S (and at the end)."""
    last = [0.0]

    def progress(fraction: float) -> None:
        now = time.monotonic()
        if fraction >= 1.0 or now - last[0] >= FLUSH_S:
            store.put_result(rid, f"{kind}:progress", key, round(min(max(fraction, 0.0), 1.0), 4))
            last[0] = now

    return progress


def _at_init(store: RunStore, rid: str, net: NetName, trained: nn.Module) -> nn.Module:
    """The run's net as training started it: its spec built from the run's seed, on the CPU, no training."""
    run = store.get(rid)
    classes = trained.get_submodule("fc").out_features  # the dataset's class count, as load_final built it
    spec = run.config.specs()[net].replace(num_classes=int(classes))  # type: ignore[arg-type]
    with seeded(run.config.seed):  # the global generator, which this worker's other tasks share
        return build(spec, device="cpu").eval()


def _compute(store: RunStore, rid: str, kind: Kind, s: Mapping[str, Any], piece: Piece, key: str) -> dict[str, Any]:
    progress = _reporter(store, rid, kind, key)
    trained = load_final(store, rid, piece.net)
    images, labels = held_out(s["images"])
    models: dict[str, nn.Module] = {piece.net: trained}
    out: dict[str, Any]
    if kind == "landscape" and piece.part == "points":
        points = landscape_points(grid_axis(s["grid"]), dims=s["dims"])[piece.start : piece.stop]
        out = {"losses": list(point_losses(trained, images, labels, points, seed=s["seed"], progress=progress))}
    elif kind == "landscape":
        centre = evaluate(trained, images, labels)
        curvature = hessian_extremes(trained, images[:HESSIAN_IMAGES], labels[:HESSIAN_IMAGES], seed=s["seed"],
                                     iterations=POWER_ITERS, progress=progress)  # fmt: skip
        out = {"centre": centre.to_json(), "curvature": curvature.to_json()}
    elif kind == "lesion":
        record = lesion_study(models, images, labels, draws=s["draws"], seed=s["seed"], progress=progress)
        out = record.nets[0].to_json()
    elif kind == "erf":
        model = trained if piece.part == "trained" else _at_init(store, rid, piece.net, trained)
        erf = effective_receptive_field(model, images, stage=s["stage"], net=piece.net, fill=s["fill"],
                                        progress=progress)  # fmt: skip
        heat = tuple(tuple(float(f"{v:.{HEAT_DIGITS}g}") for v in row) for row in erf.heat)
        out = dataclasses.replace(erf, heat=heat).to_json()
    elif kind == "responses":
        out = layer_responses(models, images, progress=progress).nets[0].to_json()
    else:
        out = neighbour_gradients(models, images, labels, seed=s["seed"], progress=progress).nets[0].to_json()
    progress(1.0)
    return out


@contextlib.contextmanager
def _recorded(store: RunStore, rid: str, kind: Kind, key: str) -> Iterator[None]:
    """Inside, any failure is written to the store under ``<kind>:error`` and raised again, picklable."""
    try:
        yield
    except UserError as e:
        code, values = f"{e.prefix}.{e.code}", {k: str(v) for k, v in e.values.items()}
        store.put_result(rid, f"{kind}:error", key, {"key": code, "values": values})
        raise JobError(code, values) from None
    except Exception as e:  # a bug: said in one sentence by the client, raised for the engine's log
        values = {"detail": f"{type(e).__name__}: {e}"[:300]}
        store.put_result(rid, f"{kind}:error", key, {"key": "lab.error.insight_failed", "values": values})
        raise


def run_piece(kind: Kind, rid: str, settings: Mapping[str, Any], url: str, piece: Piece) -> dict[str, Any]:
    """Worker entry: one piece of a job, from the store when it was computed before; returns its JSON."""
    store = RunStore(url)
    key = settings_key(kind, settings)
    try:
        with _recorded(store, rid, kind, key):
            done = store.get_result(rid, f"{kind}:part", f"{key}:{piece.name}") if piece.keep else None
            if done is not None:
                return dict(done)
            torch.set_num_threads(_threads())
            out = _compute(store, rid, kind, settings, piece, f"{key}:{piece.name}")
            if piece.keep:
                store.put_result(rid, f"{kind}:part", f"{key}:{piece.name}", out)
            return out
    finally:
        store.close()


def _assemble(kind: Kind, s: Mapping[str, Any], parts: Mapping[str, dict[str, Any]]) -> Record:
    """The job's record from its pieces' JSON, by piece name."""
    if kind == "landscape":
        axis = grid_axis(s["grid"])
        points = landscape_points(axis, dims=s["dims"])
        surfaces = []
        for net in NETS:
            blocks = [p for p in plan(kind, s) if p.net == net and p.part == "points"]
            values = [v for p in blocks for v in parts[p.name]["losses"]]
            core = parts[f"{net}.curvature"]
            surfaces.append(
                surface_from(net, axis, centre=Score.from_json(core["centre"]), losses=dict(zip(points, values)),
                             curvature=Curvature.from_json(core["curvature"]), dims=s["dims"])
            )  # fmt: skip
        betas = axis if s["dims"] == 2 else ()
        return Landscape(alphas=axis, betas=betas, images=s["images"], seed=s["seed"], nets=tuple(surfaces))
    if kind == "lesion":
        nets = tuple(NetLesions.from_json(parts[n]) for n in NETS)
        return Lesions(images=s["images"], seed=s["seed"], nets=nets)
    if kind == "erf":
        trained = tuple(ERF.from_json(parts[f"{n}.trained"]) for n in NETS)
        init = tuple(ERF.from_json(parts[f"{n}.init"]) for n in NETS)
        return ERFStudy(stage=s["stage"], images=s["images"], fill=s["fill"], trained=trained, init=init)
    if kind == "responses":
        return Responses(images=s["images"], nets=tuple(NetResponses.from_json(parts[n]) for n in NETS))
    nets_ = tuple(NeighbourGradients.from_json(parts[n]) for n in NETS)
    return LabShattering(images=s["images"], seed=s["seed"], nets=nets_)


def combine(kind: Kind, rid: str, settings: Mapping[str, Any], url: str, *parts: dict[str, Any]) -> dict[str, Any]:
    """Worker entry: the record from the pieces' results (in :func:`plan` order), stored under the settings' key."""
    store = RunStore(url)
    key = settings_key(kind, settings)
    try:
        with _recorded(store, rid, kind, key):
            named = {p.name: part for p, part in zip(plan(kind, settings), parts)}
            value = _assemble(kind, settings, named).to_json()
            store.put_result(rid, kind, key, value)
            return value
    finally:
        store.close()


def run_insight(kind: Kind, rid: str, settings: Mapping[str, Any], url: str) -> dict[str, Any]:
    """A whole job in this process, piece after piece: its record's JSON, stored (settings already normalised)."""
    done = RunStore(url)
    try:
        cached = done.get_result(rid, kind, settings_key(kind, settings))
    finally:
        done.close()
    if cached is not None:
        return dict(cached)
    parts = [run_piece(kind, rid, settings, url, p) for p in plan(kind, settings)]
    return combine(kind, rid, settings, url, *parts)
