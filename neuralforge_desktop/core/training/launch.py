"""The training worker's command line: one process, or a data-parallel job of several under ``torchrun``
(``torch.distributed.run``), on this machine or on a host over SSH.

Every form keeps the working directory off ``sys.path`` (see ``child_python.py``): the interpreter runs with
``-P``. Locally (``main_code`` given) torchrun starts each rank as ``python -P -c main_code`` (``--no-python``),
so a rank loads NeuralForge from exactly where this process did, like a single worker; on a host, each rank runs
``python -m neuralforge_desktop.core.training.worker`` from the NeuralForge environment there, with
``PYTHONSAFEPATH=1`` in its environment."""

from __future__ import annotations

WORKER_MODULE = "neuralforge_desktop.core.training.worker"


def worker_flags(run_dir: str, *, resume: bool = False, trust_code: bool = False) -> list[str]:
    return [run_dir, *(["--resume"] if resume else []), *(["--trust-code"] if trust_code else [])]


def worker_argv(python: str, run_dir: str, *, resume: bool = False, trust_code: bool = False, procs: int = 1,
                nnodes: int = 1, node_rank: int = 0, rdzv_endpoint: str | None = None,
                run_id: str = "neuralforge", main_code: str | None = None) -> list[str]:
    """argv of the worker for ``run_dir``: ``python -P -c main_code`` (or ``-m`` the worker module) for one
    process; ``python -P -m torch.distributed.run …`` for ``procs`` per node on ``nnodes`` nodes. One node
    rendezvous on its own (``--standalone``); several meet at ``rdzv_endpoint`` (``host:port`` of the first),
    with a static rendezvous so that node 0, the one whose run folder the user's machine follows, holds rank 0
    (its checkpoints and events are the job's)."""
    flags = worker_flags(run_dir, resume=resume, trust_code=trust_code)
    if procs < 1 or nnodes < 1 or not 0 <= node_rank < nnodes:
        raise ValueError(f"procs {procs}, nnodes {nnodes}, node_rank {node_rank}: not a valid job")
    if procs == 1 and nnodes == 1:
        start = ["-c", main_code] if main_code is not None else ["-m", WORKER_MODULE]
        return [python, "-P", *start, *flags]
    job = [python, "-P", "-m", "torch.distributed.run", f"--nproc-per-node={procs}", f"--nnodes={nnodes}"]
    if nnodes == 1:
        job.append("--standalone")
    else:
        if not rdzv_endpoint:
            raise ValueError("a job on several nodes needs the rendezvous endpoint of the first")
        address, _, port = rdzv_endpoint.rpartition(":")
        job += ["--rdzv-backend=static", f"--node-rank={node_rank}", f"--master-addr={address}",
                f"--master-port={port}", f"--rdzv-id={run_id}"]
    if main_code is not None:
        # Each rank then loads NeuralForge exactly as a single worker does (from where this process did, -P).
        return [*job, "--no-python", python, "-P", "-c", main_code, *flags]
    return [*job, "-m", WORKER_MODULE, *flags]
