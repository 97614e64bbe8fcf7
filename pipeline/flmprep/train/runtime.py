"""Process runtime: device selection and the torch.distributed group (nccl on CUDA, gloo on CPU)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    """Where this process runs: its rank among ``world`` and its device."""

    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise ValueError(f"environment variable {name}: expected an integer, found {value!r}") from None


def start() -> Runtime:
    """Read torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK), pick the device, join the group."""
    world, rank, local = _env_int("WORLD_SIZE", 1), _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    if torch.cuda.is_available():
        device = torch.device("cuda", local % torch.cuda.device_count())
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, device_id=device if device.type == "cuda" else None)
        log.info("rank %d/%d joined the %s group on %s", rank, world, backend, device)
    return Runtime(rank, world, local, device)


def stop(runtime: Runtime) -> None:
    """Leave the process group (if this process joined one)."""
    if runtime.distributed and dist.is_initialized():
        dist.destroy_process_group()


def gather(runtime: Runtime, obj: Any) -> list[Any]:
    """``obj`` from every rank, in rank order (a one-item list without a group)."""
    if not runtime.distributed:
        return [obj]
    out: list[Any] = [None] * runtime.world
    dist.all_gather_object(out, obj)
    return out


def barrier(runtime: Runtime) -> None:
    if runtime.distributed:
        dist.barrier()


@contextmanager
def autocast(runtime: Runtime, enabled: bool) -> Iterator[None]:
    """bf16 autocast on the runtime's device when ``enabled`` (CUDA and CPU both support bf16)."""
    with torch.autocast(device_type=runtime.device.type, dtype=torch.bfloat16, enabled=enabled):
        yield
