"""Data-parallel training on torch.distributed, for a worker started by ``torchrun`` (see ``launch.py``).

Each of the ``size`` processes holds the whole model (wrapped in ``DistributedDataParallel``, which averages the
gradients) and takes its share of every batch: the epoch's order is the same seeded permutation a single
process uses, and rank ``r`` takes the examples ``r, r + size, …`` of each global batch. With equal shares the
averaged gradient is the gradient of the whole batch's mean loss, so a job of N processes follows the same
path as one process with the same ``batch_size`` (to float rounding), and resume stays exact: the order is
still a function of (seed, epoch).

Rank 0 speaks for the job: it alone writes events, store rows and checkpoints; the others load its checkpoint
on resume (the run folder is shared by the processes of one host). Stop and pause requests are agreed on every
step (the strongest request of any rank wins), so no rank leaves the others waiting in a collective. Gloo on
CPU, NCCL on CUDA (each process its own GPU, ``LOCAL_RANK``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from neuralforge_desktop.core.errors import UserError

COMMANDS = ("run", "pause", "stop")  # in order of strength: any rank's stop stops the job


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    backend: str = ""

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        return self.size > 1

    def shard(self, index: Any) -> Any:
        """This process's share of a global batch (the whole batch when alone)."""
        return index[self.rank::self.size] if self.parallel else index

    def wrap(self, model: Any, device: Any) -> Any:
        """The model as the training steps call it: DDP-wrapped when there are several processes."""
        if not self.parallel:
            return None
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.local_rank] if device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids, broadcast_buffers=True)

    def agree(self, command: str) -> str:
        """The command every process follows this step: the strongest any of them read."""
        if not self.parallel:
            return command
        import torch
        import torch.distributed as dist

        level = torch.tensor([COMMANDS.index(command) if command in COMMANDS else 0], dtype=torch.int64,
                             device=self._device())
        dist.all_reduce(level, op=dist.ReduceOp.MAX)
        return COMMANDS[int(level.item())]

    def sum(self, *values: float) -> list[float]:
        """Each value summed over the processes (epoch tallies: loss sums, correct counts, examples seen)."""
        if not self.parallel:
            return list(values)
        import torch
        import torch.distributed as dist

        total = torch.tensor(values, dtype=torch.float64, device=self._device())
        dist.all_reduce(total)
        return [float(v) for v in total.tolist()]

    def weight_digests(self, model: Any) -> list[str]:
        """The sha256 of every process's weights, rank by rank (gathered to all): DDP keeps them equal, and a
        job reports that they were."""
        import hashlib

        digest = hashlib.sha256()
        for name, tensor in sorted(model.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        mine = digest.hexdigest()
        if not self.parallel:
            return [mine]
        import torch.distributed as dist

        gathered: list[Any] = [None] * self.size
        dist.all_gather_object(gathered, mine)
        return [str(d) for d in gathered]

    def barrier(self) -> None:
        if self.parallel:
            import torch.distributed as dist

            dist.barrier()

    def _device(self) -> Any:
        import torch

        return torch.device("cuda", self.local_rank) if self.backend == "nccl" else torch.device("cpu")

    def close(self) -> None:
        if self.parallel:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()


def world_from_environment(device: str = "auto", env: dict[str, str] | None = None) -> World:
    """The job this process belongs to, from torchrun's variables (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``);
    the process group is initialised here. Alone (no torchrun), a world of one and nothing initialised."""
    env = dict(os.environ if env is None else env)
    size = int(env.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    import torch
    import torch.distributed as dist

    rank, local_rank = int(env["RANK"]), int(env.get("LOCAL_RANK", "0"))
    cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    backend = "nccl" if cuda else "gloo"
    if cuda:
        if local_rank >= torch.cuda.device_count():
            # NCCL refuses two ranks on one device, so each process needs a GPU of its own; the user asked for
            # more processes than this host has GPUs (--procs N with --device cuda), which is theirs to fix.
            raise UserError(f"process {rank} needs GPU {local_rank}, but this host has "
                            f"{torch.cuda.device_count()} CUDA GPU(s): use --gpus up to that number, or --procs N "
                            f"with --device cpu")
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend)
    return World(rank, size, local_rank, backend)
