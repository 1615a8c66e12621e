"""The server's pool of open checkpoints: one file held once however many sessions open it, by its bytes' hash;
freed when the last holder lets go; a file past the total refused in one sentence with nothing open lost."""

from __future__ import annotations

import gc

import pytest
import torch

from resnet_viz.errors import InputError
from resnet_viz.nets.build import build
from resnet_viz.nets.checkpoint import Checkpoint, read_checkpoint
from resnet_viz.nets.infer import infer, load_weights
from resnet_viz.nets.pool import CheckpointPool
from resnet_viz.nets.spec import preset
from resnet_viz.vision.weights import twin_of
from tests.test_checkpoint import pth


def r20(seed: int) -> bytes:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return pth(build(preset("resnet20"), device="cpu").state_dict())


def test_one_file_is_held_once() -> None:
    pool, reads = CheckpointPool(2**30), []

    def read(data: bytes, name: str) -> Checkpoint:
        reads.append(name)
        return read_checkpoint(data, name)

    data = r20(0)
    a, b = pool.open(data, "mine.pth", read), pool.open(data, "copy.pth", read)
    assert reads == ["mine.pth"] and (a.name, b.name) == ("mine.pth", "copy.pth")
    assert a.tensors is b.tensors and a.digest == b.digest and len(a.digest) == 64
    # ResNet-20's 269,722 parameters (He et al. 2015 Table 6: 0.27 M) and its batch norms' 2 x 688 running
    # statistics in float32, and 19 int64 counters
    assert pool.held() == a.nbytes == 4 * (269_722 + 2 * 688) + 8 * 19
    assert len(pool) == 1


def test_the_nets_share_the_files_tensors() -> None:
    pool = CheckpointPool(2**30)
    ckpt = pool.open(r20(1), "r20.pth", read_checkpoint)
    model = load_weights(infer(ckpt))
    twin = twin_of(model)
    w = ckpt.tensors["layer1.0.conv1.weight"]
    assert model.layer1[0].conv1.weight.data_ptr() == w.data_ptr() == twin.layer1[0].conv1.weight.data_ptr()


def test_a_file_is_let_go_with_its_last_holder() -> None:
    pool = CheckpointPool(2**30)
    ckpt = pool.open(r20(2), "r20.pth", read_checkpoint)
    assert len(pool) == 1
    del ckpt
    gc.collect()
    assert len(pool) == 0 and pool.held() == 0


def test_past_the_total_a_new_file_is_refused_and_nothing_open_is_lost() -> None:
    first = r20(3)
    size = read_checkpoint(first, "x").nbytes
    pool = CheckpointPool(size + size // 2)  # room for one file and a half
    kept = pool.open(first, "first.pth", read_checkpoint)
    with pytest.raises(InputError) as e:
        pool.open(r20(4), "second.pth", read_checkpoint)
    mb = f"{size / 2**20:,.1f} MB"
    assert str(e.value) == (
        f"second.pth was not opened: the server already holds {mb} of checkpoint weights, and with this file's {mb} "
        f"it would pass its limit of {size * 1.5 / 2**20:,.1f} MB; files others have open stay open."
    )
    assert e.value.message("zh").startswith("没有打开 second.pth")
    assert pool.open(first, "again.pth", read_checkpoint).tensors is kept.tensors  # the open file still opens
    assert pool.held() == size
