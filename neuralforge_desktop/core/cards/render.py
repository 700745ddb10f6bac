"""A card's facts and human sections as a Hugging Face model card (Markdown with YAML metadata, made with
huggingface_hub's ``ModelCard``), and that Markdown as HTML (markdown-it-py, raw HTML escaped)."""

from __future__ import annotations

import html
import json
from typing import Any

from neuralforge_desktop.core.cards.fields import HUMAN_FIELDS

_MISSING = "_Not written yet._"


def render_markdown(facts: dict[str, Any], fields: dict[str, str]) -> str:
    from huggingface_hub import ModelCard, ModelCardData

    dataset = facts.get("dataset") or {}
    data = ModelCardData(
        eval_results=_eval_results(facts) or None,
        model_name=facts["ref"], library_name="neuralforge", tags=["neuralforge", f"stage:{facts['stage']}"],
        datasets=[dataset["name"]] if dataset.get("name") else None,
        metrics=[m["name"] for m in facts.get("metrics", [])] or None,
        neuralforge={"model": facts["model"], "version": facts["version"], "run_id": facts["run_id"],
                     "dataset_fingerprint": dataset.get("fingerprint"),
                     "graph_sha256": (facts.get("lineage") or {}).get("graph_sha256"),
                     "params": (facts.get("cost") or {}).get("params")})
    intro = [facts["description"], ""] if facts.get("description") else []
    generated = ([*_details(facts), *_data(facts), *_metrics(facts), *_fairness(facts), *_explanations(facts),
                  *_exports(facts), *_lineage(facts)] if "architecture" in facts else
                 ["## Model details", "", "_The generated sections are being gathered._", ""])
    body = "\n".join([f"# Model card for {facts['ref']}", "", *intro, *_human(fields), *generated])
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body.strip()}\n"))


def _eval_results(facts: dict[str, Any]) -> list[Any]:
    """The validation metrics as the Hub's model-index entries (task, dataset, metric, value)."""
    from huggingface_hub import EvalResult

    dataset = facts.get("dataset") or {}
    if not dataset.get("name"):
        return []
    task = str(dataset.get("task") or "other")
    if task == "classification" and len(dataset.get("input_shape") or []) == 3:
        task = "image-classification"
    return [EvalResult(task_type=task, dataset_type=dataset["name"], dataset_name=dataset["name"],
                       dataset_split="validation", metric_type=row["name"].split("/")[-1], metric_name=row["name"],
                       metric_value=row["value"])
            for row in facts.get("metrics", []) if row["name"].startswith("val/")]


def _human(fields: dict[str, str]) -> list[str]:
    lines = []
    for human in HUMAN_FIELDS:
        lines += [f"## {human.title}", "", fields.get(human.key, "").strip() or _MISSING, ""]
    return lines


def _details(facts: dict[str, Any]) -> list[str]:
    arch, cost = facts.get("architecture") or {}, facts.get("cost") or {}
    lines = ["## Model details", ""]
    if "error" in arch:
        return [*lines, arch["error"], ""]
    lines += [f"- Graph: `{arch['graph']}`, {arch['nodes']} nodes",
              "- Layers by type: " + ", ".join(f"{t} × {n}" for t, n in arch["by_type"].items())]
    if "params" in cost:
        lines += [f"- Parameters: {cost['params']:,} ({cost['trainable_params']:,} trainable)",
                  f"- MACs per example: {cost['macs']:,} (FLOPs {cost['flops']:,}; NeuralForge cost analysis, "
                  "batch 1)"]
    elif cost.get("error"):
        lines.append(f"- Cost: {cost['error']}")
    lines += [f"- Registered: {_when(facts['registered'])} by {facts['registered_by']}", ""]
    return lines


def _data(facts: dict[str, Any]) -> list[str]:
    data, settings = facts.get("dataset") or {}, facts.get("training") or {}
    lines = ["## Training data", ""]
    if data.get("name"):
        lines.append(f"- Dataset: `{data['name']}`" + (f" ({data['source']})" if data.get("source") else ""))
    if data.get("train") is not None:
        lines.append(f"- Examples: {data['train']} training, {data.get('val')} validation"
                     + (f"; {data['classes']} classes" if data.get("classes") else ""))
    if data.get("fingerprint"):
        lines.append(f"- Fingerprint (sha256): `{data['fingerprint']}` ({data.get('fingerprint_source', '')})")
    lines += [f"- {data[k]}" for k in ("warning", "error") if data.get(k)]
    lines += ["", "## Training procedure", ""]
    lines += [f"- {k}: `{json.dumps(v) if not isinstance(v, str) else v}`" for k, v in settings.items()] or \
        ["- The run's settings are not available."]
    return [*lines, ""]


def _metrics(facts: dict[str, Any]) -> list[str]:
    rows = facts.get("metrics") or []
    lines = ["## Evaluation", ""]
    if not rows:
        return [*lines, "No metrics were recorded.", ""]
    lines += ["| Metric | Value | 95% interval | Method |", "|---|---|---|---|"]
    for row in rows:
        interval = (f"[{row['low']:.4f}, {row['high']:.4f}]", f"{row['interval']} on n = {row['n']}") \
            if "low" in row else ("", "")
        lines.append(f"| {row['name']} | {row['value']:.4g} | {interval[0]} | {interval[1]} |")
    lines += ["", "Values are the run's at its best checkpoint, as registered.", ""]
    return lines


def _fairness(facts: dict[str, Any]) -> list[str]:
    return _json_section("Fairness", facts.get("fairness"), "No fairness evaluation is attached to the run "
                         "(`neuralforge fairness` stores one as `fairness.json`).")


def _explanations(facts: dict[str, Any]) -> list[str]:
    return _json_section("Explanations", facts.get("explanations"), "No explanation summary is attached to "
                         "the run (`neuralforge explain` stores one as `explanations.json`).")


def _json_section(title: str, value: Any, absent: str) -> list[str]:
    lines = [f"## {title}", ""]
    if value is None:
        return [*lines, absent, ""]
    if isinstance(value, dict) and isinstance(value.get("summary"), str):
        lines += [value["summary"], ""]
    return [*lines, "```json", json.dumps(value, indent=2, sort_keys=True)[:6000], "```", ""]


def _exports(facts: dict[str, Any]) -> list[str]:
    exports = facts.get("exports") or {}
    lines = ["## Export targets", ""]
    onnx = exports.get("onnx") or {}
    if onnx:
        lines.append(f"- Registered ONNX file: verified {onnx.get('verified')}" +
                     (f" ({onnx['verification']})" if onnx.get("verification") else ""))
    lines += [f"- {target}: {state}" for target, state in (exports.get("targets") or {}).items()]
    if exports.get("targets_error"):
        lines.append(f"- Targets: {exports['targets_error']}")
    lines += ["", "Files of the version:", ""]
    lines += [f"- `{f['name']}` sha256 `{f['sha256']}` ({f['size']:,} bytes)" for f in exports.get("files", [])]
    return [*lines, ""]


def _lineage(facts: dict[str, Any]) -> list[str]:
    lineage = facts.get("lineage") or {}
    lines = ["## Lineage", "", f"- Registry version: {lineage.get('registry_version')}",
             f"- Run: `{lineage.get('run')}`" + (f" ({lineage['run_name']}, experiment {lineage['experiment']})"
                                                  if lineage.get("run_name") else "")]
    if lineage.get("graph_sha256"):
        lines.append(f"- Graph sha256: `{lineage['graph_sha256']}`")
    if lineage.get("checksum"):
        lines.append(f"- Reproducibility checksum: `{lineage['checksum']}`")
    if lineage.get("onnx_sha256"):
        lines.append(f"- ONNX file sha256: `{lineage['onnx_sha256']}`")
    if lineage.get("software"):
        lines.append("- Software: " + ", ".join(f"{k} {v}" for k, v in lineage["software"].items()))
    if lineage.get("source"):
        lines.append("- Source: " + ", ".join(f"{k} `{v}`" for k, v in sorted(lineage["source"].items())
                                              if k != "path" and not isinstance(v, dict | list)))
    for parent in lineage.get("parents", []):
        lines.append(f"- Parent run: `{parent['run']}` ({parent['how']}"
                     + ("" if parent["found"] else ", no longer in the store") + ")")
    if lineage.get("error"):
        lines.append(f"- {lineage['error']}")
    return [*lines, ""]


def _when(timestamp: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


_STYLE = """body{font-family:sans-serif;max-width:52em;margin:1em auto;line-height:1.4;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:2px 6px}code{font-size:90%}
pre{background:#f4f4f4;padding:6px;font-size:80%;white-space:pre-wrap}.meta{color:#666;font-size:85%}"""


def render_html(markdown: str, title: str = "Model card") -> str:
    """A standalone HTML page of the card: the body rendered with
    raw HTML escaped (the human sections are free text and must stay text), then the YAML metadata."""
    from neuralforge_desktop.core.reports.markdown_html import markdown_to_html

    meta, body = split_front_matter(markdown)
    rendered = markdown_to_html(body)
    # The metadata is for machines (the Hub, search): it follows the card rather than opening it.
    back = f'<h2>Metadata</h2>\n<pre class="meta">{html.escape(meta)}</pre>\n' if meta else ""
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head>\n<body>\n{rendered}{back}</body></html>\n")


def split_front_matter(markdown: str) -> tuple[str, str]:
    if markdown.startswith("---\n"):
        end = markdown.find("\n---", 4)
        if end != -1:
            return markdown[4:end].strip(), markdown[end + 4:].lstrip("\n")
    return "", markdown
