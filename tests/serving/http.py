"""A small HTTP client for the serving tests (the standard library's, one connection per call)."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from typing import Any


def post(url: str, body: bytes | dict, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(url, data=data, method="POST", headers=headers or {})
    return _send(request)


def get(url: str) -> tuple[int, Any]:
    return _send(urllib.request.Request(url))


def _send(request: urllib.request.Request) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
