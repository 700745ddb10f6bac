"""The router: the HTTP ingress of a served model (KServe V1 / TF-Serving convention) and its traffic split.

Routes:
    POST /v1/models/NAME:predict   {"instances": [...], "key": "..."} → {"predictions", "model_version",
                                   "prediction_id"}; the key (or the ``X-Request-Key`` header) makes routing sticky
    POST /v1/models/NAME:feedback  {"prediction_id": "...", "label": ...}: the true answer, learnt later, for the
                                   monitoring's accuracy (→ {"prediction_id", "matched"})
    GET  /v1/models/NAME           readiness and metadata: versions, traffic split, input shape
    GET  /healthz                  the router is up
    POST /admin/models/NAME:promote   {"version": "V"} optional: all traffic to the canary (or to V)
    POST /admin/models/NAME:rollback  back to the version before
Admin routes answer loopback clients only (403 otherwise). The traffic state lives in this one replica and
changes in place, between two requests of its event loop, while every version's replicas keep running: a
promote or rollback drops nothing.

Imported only when an application is built (it needs Ray and FastAPI).
"""

# No `from __future__ import annotations` here: FastAPI reads the route methods' annotations (Request) at
# run time, through Serve's ingress wrapper, where string annotations do not resolve.

import asyncio
import contextlib
import ipaddress
import json
import logging
import random
import time
import uuid
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from ray import serve

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.serving.inputs import BadRequest, instances_to_array, parse_predict_body
from neuralforge_desktop.core.serving.recording import Recorder, RecorderFactory
from neuralforge_desktop.core.serving.spec import InputSpec
from neuralforge_desktop.core.serving.traffic import TrafficError, TrafficState

READY_TIMEOUT_S = 5.0
KEY_HEADER = "x-request-key"

logger = logging.getLogger("ray.serve")


def _is_loopback(host: str) -> bool:
    """Defined above the class on purpose: Serve's ingress copies the class when it is decorated, with the
    module globals that exist at that moment."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


app = FastAPI(title="NeuralForge model server", docs_url=None, redoc_url=None, openapi_url=None)


@serve.ingress(app)
class Router:
    def __init__(self, model_name: str, handles: dict[str, Any], inputs: dict[str, InputSpec],
                 outputs: dict[str, tuple[str, ...]], traffic: TrafficState,
                 recorder_factory: RecorderFactory | None = None, seed: int | None = None) -> None:
        self._model = model_name
        self._handles = handles
        self._inputs = inputs
        self._outputs = outputs
        self._traffic = traffic
        self._rng = random.Random(seed)
        self._recorder: Recorder | None = recorder_factory() if recorder_factory is not None else None

    @app.get("/healthz")
    async def healthz(self) -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models/{name}")
    async def model_status(self, name: str) -> JSONResponse:
        if name != self._model:
            return self._unknown_model(name)
        states = await asyncio.gather(*(self._version_state(v) for v in self._handles))
        ready = all(state == "AVAILABLE" for state in states)
        versions = [{"version": label, "state": state, "traffic_percent": self._traffic.weights[label],
                     "input": {"name": self._inputs[label].name, "shape": list(self._inputs[label].shape),
                               "dtype": self._inputs[label].dtype},
                     "outputs": list(self._outputs[label])}
                    for label, state in zip(self._handles, states, strict=True)]
        primary_input = self._inputs[self._traffic.primary]
        body = {"name": self._model, "ready": ready, "input_shape": list(primary_input.shape),
                "traffic": self._traffic.to_json(), "model_version_status": versions}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.post("/v1/models/{name}:predict")
    async def predict(self, name: str, request: Request) -> JSONResponse:
        started = time.perf_counter()
        if name != self._model:
            return self._unknown_model(name)
        key = request.headers.get(KEY_HEADER)
        try:
            parsed = parse_predict_body(await request.body())
        except BadRequest as exc:
            version = self._traffic.pick(key, self._rng)  # where it would have gone: the failure counts there
            return self._answer_error(version, key, started, 400, str(exc))
        key = key if key is not None else parsed.key
        version = self._traffic.pick(key, self._rng)
        try:
            batch = instances_to_array(parsed.instances, self._inputs[version])
        except BadRequest as exc:
            return self._answer_error(version, key, started, 400, str(exc))
        try:
            outputs = await self._handles[version].predict.remote(batch)
        except Exception as exc:  # a replica failed (onnxruntime error, replica died): the server's fault
            logger.exception("version %s failed a prediction", version)
            return self._answer_error(version, key, started, 500, f"version {version} failed: {exc}")
        predictions = self._predictions(version, outputs)
        prediction_id = self._record(version=version, started=started, ok=True, status=200, key=key,
                                     inputs=parsed.instances, predictions=predictions)
        return JSONResponse({"predictions": predictions, "model_version": version, "prediction_id": prediction_id})

    @app.post("/v1/models/{name}:feedback")
    async def feedback(self, name: str, request: Request) -> JSONResponse:
        if name != self._model:
            return self._unknown_model(name)
        if self._recorder is None:
            return JSONResponse({"error": "this server does not record its requests (it was started with "
                                          "--no-record), so it cannot take feedback"}, status_code=409)
        try:
            body = json.loads(await request.body() or b"null")
            if not isinstance(body, dict):
                raise BadRequest('request body must be a JSON object with "prediction_id" and "label"')
            for field in ("prediction_id", "label"):
                if field not in body:
                    raise BadRequest(f'"{field}" is missing')
            matched = await asyncio.to_thread(self._recorder.feedback, body["prediction_id"], body["label"])
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return JSONResponse({"error": f"request body is not valid JSON: {exc}"}, status_code=400)
        except (BadRequest, UserError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"prediction_id": body["prediction_id"], "matched": matched})

    @app.post("/admin/models/{name}:promote")
    async def promote(self, name: str, request: Request) -> JSONResponse:
        refusal = self._admin_refusal(name, request)
        if refusal is not None:
            return refusal
        try:
            body = json.loads(await request.body() or b"{}")
            version = body.get("version") if isinstance(body, dict) else None
            if version is not None and not isinstance(version, str):
                raise BadRequest(f'field "version" must be a string, got {version!r}')
            self._traffic.promote(version)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return JSONResponse({"error": f"request body is not valid JSON: {exc}"}, status_code=400)
        except BadRequest as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except TrafficError as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        logger.info("promoted: traffic %s", self._traffic.weights)
        return JSONResponse({"model": self._model, "traffic": self._traffic.to_json()})

    @app.post("/admin/models/{name}:rollback")
    async def rollback(self, name: str, request: Request) -> JSONResponse:
        refusal = self._admin_refusal(name, request)
        if refusal is not None:
            return refusal
        try:
            self._traffic.rollback()
        except TrafficError as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        logger.info("rolled back: traffic %s", self._traffic.weights)
        return JSONResponse({"model": self._model, "traffic": self._traffic.to_json()})

    async def _version_state(self, label: str) -> str:
        try:
            await asyncio.wait_for(self._handles[label].describe.remote(), READY_TIMEOUT_S)
        except Exception:  # not answering in time, or failed: not ready, whatever the cause
            return "UNAVAILABLE"
        return "AVAILABLE"

    def _predictions(self, version: str, outputs: list[np.ndarray]) -> list[Any]:
        if len(outputs) == 1:
            result: list[Any] = outputs[0].tolist()
            return result
        names = self._outputs[version]  # several outputs: one object per instance, TF-Serving's row format
        return [{n: out[i].tolist() for n, out in zip(names, outputs, strict=True)} for i in range(len(outputs[0]))]

    def _answer_error(self, version: str, key: str | None, started: float, status: int, message: str) -> JSONResponse:
        prediction_id = self._record(version=version, started=started, ok=False, status=status, key=key,
                                     inputs=None, predictions=None)
        return JSONResponse({"error": message, "prediction_id": prediction_id}, status_code=status)

    def _record(self, *, version: str, started: float, ok: bool, status: int, key: str | None,
                inputs: list[Any] | None, predictions: list[Any] | None) -> str:
        latency_ms = (time.perf_counter() - started) * 1000.0
        if self._recorder is not None:
            try:
                return self._recorder.record(version=version, latency_ms=latency_ms, ok=ok, status=status,
                                             request_key=key, inputs=inputs, predictions=predictions)
            except Exception:  # monitoring must never fail a prediction that succeeded
                logger.exception("recording a request failed")
        return uuid.uuid4().hex

    def _unknown_model(self, name: str) -> JSONResponse:
        return JSONResponse({"error": f"no model {name!r} here; this server serves {self._model!r}"},
                            status_code=404)

    def _admin_refusal(self, name: str, request: Request) -> JSONResponse | None:
        client = request.client.host if request.client else ""
        if not _is_loopback(client):
            return JSONResponse({"error": "admin endpoints answer requests from this machine only"}, status_code=403)
        if name != self._model:
            return self._unknown_model(name)
        return None

    def __del__(self) -> None:
        recorder = getattr(self, "_recorder", None)
        if recorder is not None:
            # the replica is shutting down: a failed flush has nowhere to be reported
            with contextlib.suppress(Exception):
                recorder.flush()
