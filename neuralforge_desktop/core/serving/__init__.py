"""Serving models over HTTP on Ray Serve: one deployment per version running onnxruntime, a router with the
KServe V1 / TF-Serving routes and a canary or A/B traffic split, and the local Ray instance's lifecycle.

Modules: ``spec`` (what to serve), ``traffic`` (the split, promote, rollback), ``inputs`` (request checks),
``recording`` (the monitoring hook), ``replica`` and ``router`` (the deployments; they import Ray),
``application`` (binding them), ``lifecycle`` (starting and stopping Ray and Serve), ``resolve`` (from
registry references or ONNX files to a :class:`~.spec.ServeConfig`). Importing this package imports none of
Ray, FastAPI or onnxruntime.
"""
