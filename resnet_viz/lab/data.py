"""Training data for the gradient lab: an embedded synthetic set, CIFAR-10 through torchvision, image folders."""

from __future__ import annotations

import math
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import torch
from torch import Tensor

from ..config import data_root, resolve_data_path
from ..errors import InputError

__all__ = [
    "CIFAR_MEAN",
    "CIFAR_STD",
    "DATASETS",
    "IMAGE_SIZE",
    "DatasetName",
    "ImageSet",
    "batches",
    "cifar10",
    "image_folder",
    "load_dataset",
    "synthetic",
]

DatasetName = Literal["synthetic", "cifar10", "folder"]
DATASETS: Final[tuple[DatasetName, ...]] = ("synthetic", "cifar10", "folder")
IMAGE_SIZE: Final = 32
# Per-channel mean and std of CIFAR-10's training set (the usual normalisation of He et al. 2015 §4.2).
CIFAR_MEAN: Final = (0.4914, 0.4822, 0.4465)
CIFAR_STD: Final = (0.2470, 0.2435, 0.2616)


@dataclass(frozen=True)
class ImageSet:
    """Normalised images (N, 3, 32, 32) with integer labels, held in memory."""

    name: str
    images: Tensor  # (N, 3, H, W) float32
    labels: Tensor  # (N,) int64
    classes: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return len(self.labels)


def synthetic(n: int = 2048, *, seed: int = 0, size: int = IMAGE_SIZE) -> ImageSet:
    """Ten classes of noisy, coloured, oriented gratings under a randomly placed blob: no download needed.

    Class ``c`` fixes the orientation (five angles) and the frequency (two); phase, colour, position and
    noise are random, so a net must learn orientation and scale, not memorise pixels. Deterministic in ``seed``.
    """
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (n,), generator=g)  # (N,)
    angle = (labels % 5).float() * (math.pi / 5) + 0.15 * torch.randn(n, generator=g)
    freq = torch.where(labels < 5, 0.25, 0.55) * (1 + 0.1 * torch.randn(n, generator=g))
    phase = 2 * math.pi * torch.rand(n, generator=g)
    ax = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    yy, xx = torch.meshgrid(ax, ax, indexing="ij")  # (H, W)
    u = xx[None] * torch.cos(angle)[:, None, None] + yy[None] * torch.sin(angle)[:, None, None]  # (N, H, W)
    wave = torch.sin(freq[:, None, None] * u + phase[:, None, None])
    cx, cy = (torch.rand(2, n, generator=g) - 0.5) * size * 0.5
    blob = torch.exp(-((xx[None] - cx[:, None, None]) ** 2 + (yy[None] - cy[:, None, None]) ** 2) / (2 * 9.0**2))
    color = torch.rand(n, 3, generator=g) + 0.2  # (N, 3)
    img = color[:, :, None, None] * (wave * blob)[:, None]  # (N, 3, H, W)
    img = img + 0.35 * torch.randn(img.shape, generator=g)
    img = (img - img.mean()) / img.std()
    names = tuple(f"{a}°/{'low' if c < 5 else 'high'}" for c, a in enumerate([0, 36, 72, 108, 144] * 2))
    return ImageSet("synthetic", img.contiguous(), labels, names)


def _normalise(images_uint8: Tensor) -> Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float, normalised with CIFAR-10's statistics."""
    x = images_uint8.permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor(CIFAR_MEAN)[None, :, None, None]
    std = torch.tensor(CIFAR_STD)[None, :, None, None]
    return (x - mean) / std


def cifar10(root: Path | None = None, *, download: bool = True, limit: int | None = None) -> ImageSet:
    """CIFAR-10's training set through ``torchvision.datasets.CIFAR10``: read from ``<root>/cifar10`` when
    already there, else downloaded when the network allows; offline it raises one InputError sentence."""
    # here, not at the top: torchvision.datasets imports torchvision.models and torch._dynamo (1.3 s), and the lab's
    # page imports this module before it draws anything
    from torchvision.datasets import CIFAR10

    folder = (root or data_root()) / "cifar10"
    on_disk = (folder / "cifar-10-batches-py" / "batches.meta").exists()  # torchvision's layout
    try:
        if on_disk:
            # torchvision checks every file's MD5 before it unpickles it, so a planted file never runs code.
            ds: CIFAR10 = CIFAR10(str(folder), train=True, download=False)
        elif download:
            ds = CIFAR10(str(folder), train=True, download=True)
        else:
            raise InputError("grad_cifar_missing", folder=str(folder))
    except InputError:
        raise
    except RuntimeError as e:  # torchvision: "Dataset not found or corrupted" (a checksum failed)
        code = "grad_cifar_corrupt" if on_disk else "grad_cifar_offline"
        raise InputError(code, folder=str(folder)) from e
    except (OSError, pickle.UnpicklingError) as e:  # URLError is an OSError
        raise InputError("grad_cifar_offline", folder=str(folder)) from e
    data = torch.from_numpy(ds.data[:limit])  # (N, 32, 32, 3) uint8
    labels = torch.tensor(ds.targets[:limit], dtype=torch.int64)
    return ImageSet("cifar10", _normalise(data), labels, tuple(ds.classes))


def image_folder(name: str, *, root: Path | None = None, limit: int = 20_000) -> ImageSet:
    """An ``ImageFolder`` layout (one sub-folder per class) under the data root, resized to 32×32."""
    from torchvision import transforms
    from torchvision.datasets import ImageFolder

    path = resolve_data_path(name, root=root)
    if not path.is_dir():
        raise InputError("grad_folder_missing", name=name)
    tf = transforms.Compose([transforms.Resize((IMAGE_SIZE, IMAGE_SIZE)), transforms.ToTensor()])
    try:
        ds = ImageFolder(str(path), transform=tf)
    except (FileNotFoundError, RuntimeError) as e:
        raise InputError("grad_folder_empty", name=name) from e
    if len(ds.classes) < 2:
        raise InputError("grad_folder_empty", name=name)
    n = min(len(ds), limit)
    idx = torch.randperm(len(ds), generator=torch.Generator().manual_seed(0))[:n].tolist()
    try:
        pairs = [ds[i] for i in idx]
    except OSError as e:
        raise InputError("grad_folder_bad_image", name=name) from e
    x = torch.stack([p[0][:3] if p[0].shape[0] >= 3 else p[0].expand(3, -1, -1) for p in pairs])  # (N, 3, 32, 32)
    mean = torch.tensor(CIFAR_MEAN)[None, :, None, None]
    std = torch.tensor(CIFAR_STD)[None, :, None, None]
    y = torch.tensor([p[1] for p in pairs], dtype=torch.int64)
    return ImageSet(f"folder:{name}", (x - mean) / std, y, tuple(ds.classes))


def load_dataset(name: DatasetName, *, folder: str = "", seed: int = 0, download: bool = True) -> ImageSet:
    """The dataset a person chose in the lab or on the command line."""
    if name == "synthetic":
        return synthetic(seed=seed)
    if name == "cifar10":
        return cifar10(download=download)
    if name == "folder":
        return image_folder(folder)
    raise InputError("grad_unknown_dataset", name=name, options=", ".join(DATASETS))


def batches(data: ImageSet, batch_size: int, *, seed: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
    """Endless shuffled mini-batches, reshuffled every epoch; deterministic in ``seed``."""
    g = torch.Generator().manual_seed(seed)
    n = len(data)
    b = min(batch_size, n)
    while True:
        order = torch.randperm(n, generator=g)
        for start in range(0, n - b + 1, b):
            idx = order[start : start + b]
            yield data.images[idx], data.labels[idx]
