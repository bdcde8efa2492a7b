"""Data-parallel training on PyTorch's own engine: `torchrun` starts the ranks, torch.distributed
connects them (gloo on CPU, NCCL on CUDA), DistributedDataParallel averages the gradients.

Nothing here is home-made scheduling: without torchrun's environment (WORLD_SIZE unset or 1) every
function is the single-process identity, so the trainers run unchanged on a laptop.

    torchrun --nproc_per_node 2 -m harness.cli train compressor --suite demo
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed as dist


def launched() -> bool:
    """True under torchrun (or any launcher that sets WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def rank_and_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


@contextlib.contextmanager
def process_group(device: str = "cpu") -> Iterator[tuple[int, int]]:
    """Join torchrun's process group for the duration (no-op when not launched); yields (rank, world)."""
    if not launched() or (dist.is_available() and dist.is_initialized()):
        yield rank_and_world()
        return
    dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    try:
        yield rank_and_world()
    finally:
        dist.destroy_process_group()


def wrap(model: torch.nn.Module) -> torch.nn.Module:
    """The module the loop calls: DDP around `model` when ranks exist (it averages gradients in
    backward), else `model` itself. Parameters stay shared with `model`."""
    if rank_and_world()[1] > 1:
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model)
    return model


def barrier() -> None:
    if rank_and_world()[1] > 1:
        dist.barrier()


def gather_objects(obj: Any) -> list[Any]:
    """Every rank's `obj`, in rank order (all ranks must call it)."""
    rank, world = rank_and_world()
    if world == 1:
        return [obj]
    out: list[Any] = [None] * world
    dist.all_gather_object(out, obj)
    return out


def parameter_digest(model: torch.nn.Module) -> str:
    """sha256 of the parameters' bytes: equal across ranks when DDP kept them in step."""
    import hashlib

    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
