"""Datasets: the embedded set, CIFAR-10 from a tiny folder in CIFAR's own format, image folders, the data root."""

from __future__ import annotations

import pickle
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torchvision.datasets
import torchvision.datasets.cifar
from PIL import Image

from resnet_viz.config import data_root, resolve_data_path
from resnet_viz.errors import InputError
from resnet_viz.lab import data as data_mod
from resnet_viz.lab.data import CIFAR_MEAN, CIFAR_STD, batches, cifar10, image_folder, synthetic


def test_synthetic_is_deterministic_balanced_and_normalised() -> None:
    a, b = synthetic(500, seed=3), synthetic(500, seed=3)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, synthetic(500, seed=4).images)
    assert a.images.shape == (500, 3, 32, 32) and a.num_classes == 10
    assert sorted(a.labels.unique().tolist()) == list(range(10))
    assert abs(a.images.mean().item()) < 1e-5 and a.images.std().item() == pytest.approx(1.0, abs=1e-4)


def test_batches_cover_every_image_once_per_epoch() -> None:
    d = synthetic(20, seed=0)
    feed = batches(d, 5, seed=1)
    seen = torch.cat([next(feed)[1] for _ in range(4)])
    assert sorted(seen.tolist()) == sorted(d.labels.tolist())


def _write_cifar(folder: Path, per_file: int = 3) -> dict[str, tuple[np.ndarray, list[int]]]:
    base = folder / "cifar10" / "cifar-10-batches-py"
    base.mkdir(parents=True)
    rng = np.random.default_rng(0)
    files = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        x = rng.integers(0, 256, size=(per_file, 3072), dtype=np.uint8)  # rows: R plane, G plane, B plane
        y = rng.integers(0, 10, size=per_file).tolist()
        with (base / name).open("wb") as f:
            pickle.dump({"data": x, "labels": y}, f)
        files[name] = (x, y)
    with (base / "batches.meta").open("wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, f)
    return files


def test_cifar10_refuses_files_that_fail_the_checksums(tmp_path: Path) -> None:
    # torchvision checks MD5s before unpickling; our hand-written copy cannot match them.
    _write_cifar(tmp_path)
    with pytest.raises(InputError) as e:
        cifar10(tmp_path, download=False)
    assert e.value.code == "grad_cifar_corrupt"


def test_cifar10_reads_a_folder_in_cifar_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = _write_cifar(tmp_path)
    # torchvision checks each file against the real files' MD5s; this hand-written copy is let through.
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *a, **k: True)
    ds = cifar10(tmp_path, download=False)
    assert len(ds) == 15 and ds.classes[3] == "class3"
    assert ds.labels.tolist() == [y for i in range(1, 6) for y in files[f"data_batch_{i}"][1]]
    # oracle by hand: image 0's pixel (row 1, col 2) in channel c is byte c*1024 + 1*32 + 2 of the row
    raw = files["data_batch_1"][0][0]
    for c in range(3):
        expected = (raw[c * 1024 + 32 + 2] / 255.0 - CIFAR_MEAN[c]) / CIFAR_STD[c]
        assert ds.images[0, c, 1, 2].item() == pytest.approx(expected, abs=1e-6)


def test_cifar10_offline_is_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class NoNetwork:
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise URLError("no route to host")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", NoNetwork)  # read when CIFAR-10 is asked for
    with pytest.raises(InputError) as e:
        cifar10(tmp_path, download=True)
    assert e.value.code == "grad_cifar_offline"
    assert e.value.message() == (
        f"CIFAR-10 could not be downloaded (no network?) and is not in {tmp_path / 'cifar10'}; "
        "the embedded dataset still works."
    )
    with pytest.raises(InputError) as e:
        cifar10(tmp_path, download=False)
    assert e.value.code == "grad_cifar_missing"


def _write_folder(root: Path) -> None:
    for k, color in enumerate([(255, 0, 0), (0, 0, 255)]):
        d = root / "shapes" / f"c{k}"
        d.mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (40, 20), color).save(d / f"{i}.png")


def test_image_folder_under_the_root(tmp_path: Path) -> None:
    _write_folder(tmp_path)
    ds = image_folder("shapes", root=tmp_path)
    assert ds.classes == ("c0", "c1") and len(ds) == 6 and ds.images.shape == (6, 3, 32, 32)
    red = (1.0 - CIFAR_MEAN[0]) / CIFAR_STD[0]
    for img, label in zip(ds.images, ds.labels.tolist()):
        assert img[0, 5, 5].item() == pytest.approx(red if label == 0 else -CIFAR_MEAN[0] / CIFAR_STD[0], abs=1e-5)


@pytest.mark.parametrize("name", ["../outside", "/etc", "shapes/../../x", "", "link"])
def test_paths_outside_the_root_are_refused(tmp_path: Path, name: str) -> None:
    root = tmp_path / "root"
    _write_folder(root)
    (tmp_path / "outside").mkdir()
    (root / "link").symlink_to(tmp_path / "outside")
    with pytest.raises(InputError) as e:
        image_folder(name, root=root)
    assert e.value.code == "grad_data_outside_root"
    assert resolve_data_path("shapes/c0", root=root) == (root / "shapes" / "c0").resolve()


def test_data_root_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESNET_VIZ_DATA_ROOT", str(tmp_path))
    assert data_root() == tmp_path.resolve()
    monkeypatch.delenv("RESNET_VIZ_DATA_ROOT")
    assert data_root() == Path(data_mod.__file__).resolve().parents[2] / "data"
