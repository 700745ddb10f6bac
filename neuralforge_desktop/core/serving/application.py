"""The Ray Serve application of one model: a deployment per version (onnxruntime, batching, autoscaling by
ongoing requests) behind one router deployment (the HTTP ingress and the traffic split)."""

from __future__ import annotations

import re
from typing import Any

from neuralforge_desktop.core.serving.recording import RecorderFactory
from neuralforge_desktop.core.serving.spec import Replicas, ServeConfig

ROUTER_MAX_ONGOING_REQUESTS = 1000  # the router only forwards: it waits on replicas, it does not compute
UPSCALE_DELAY_S = 2.0  # react to a burst within seconds; Serve's default (30 s) is for large clusters
DOWNSCALE_DELAY_S = 60.0


def deployment_name(model_name: str, version: str) -> str:
    """A deployment name Ray accepts and a person can read in ``ray status``."""
    return _safe_name(f"{model_name}-v{version}")


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


def scaling_options(replicas: Replicas) -> dict[str, Any]:
    """A fixed number of replicas, or Serve's autoscaling by ongoing requests between MIN and MAX."""
    if replicas.minimum == replicas.maximum:
        return {"num_replicas": replicas.minimum}
    return {"autoscaling_config": {
        "min_replicas": replicas.minimum, "initial_replicas": replicas.minimum,
        "max_replicas": replicas.maximum, "target_ongoing_requests": replicas.target_ongoing_requests,
        "upscale_delay_s": UPSCALE_DELAY_S, "downscale_delay_s": DOWNSCALE_DELAY_S}}


def build_application(config: ServeConfig, recorder_factory: RecorderFactory | None = None) -> Any:
    """The bound application (``serve.run`` takes it). Each version deployment receives its ONNX file as
    bytes, so the application deploys unchanged to a cluster whose nodes do not share the driver's disk."""
    from ray import serve

    from neuralforge_desktop.core.serving.replica import ModelReplica
    from neuralforge_desktop.core.serving.router import Router

    scaling = scaling_options(config.replicas)
    # Enough requests in flight per replica to fill a batch, with room for the next one queuing behind it.
    max_ongoing = max(2 * config.max_batch_size, int(2 * config.replicas.target_ongoing_requests))
    handles = {}
    for version in config.versions:
        deployment = serve.deployment(
            name=deployment_name(config.model_name, version.label), max_ongoing_requests=max_ongoing,
            ray_actor_options={"num_cpus": 1}, **scaling)(ModelReplica)
        handles[version.label] = deployment.bind(
            version.label, version.onnx_path.read_bytes(), version.input, version.output_names,
            config.max_batch_size, config.batch_wait_s)
    router = serve.deployment(
        name=_safe_name(f"{config.model_name}-router"), num_replicas=1,
        max_ongoing_requests=ROUTER_MAX_ONGOING_REQUESTS, ray_actor_options={"num_cpus": 0})(Router)
    return router.bind(config.model_name, handles, {v.label: v.input for v in config.versions},
                       {v.label: v.output_names for v in config.versions}, config.traffic(),
                       recorder_factory, config.seed)
