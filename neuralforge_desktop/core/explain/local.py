"""One example explained: the attribution (or SHAP values, or attention maps), the model's prediction, and a
picture of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.explain import attention as attention_maps
from neuralforge_desktop.core.explain import image, render, tabular
from neuralforge_desktop.core.explain.subject import IMAGE, TABULAR, Subject


@dataclass
class Explanation:
    """What an explanation found: ``values`` holds the raw numbers (numpy) for callers that look closer;
    ``to_json`` gives the rest."""

    run_id: str
    method: str
    kind: str
    sample: int | None
    examples: int = 1
    prediction: dict[str, Any] | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    images: list[str] = field(default_factory=list)
    values: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "method": self.method, "kind": self.kind, "sample": self.sample,
                "examples": self.examples, "prediction": self.prediction, "figures": self.figures,
                "images": self.images}


def prediction(subject: Subject, index: int, probs: Any) -> dict[str, Any]:
    import numpy as np

    predicted = int(np.argmax(probs))
    found: dict[str, Any] = {"class": predicted, "name": subject.class_name(predicted),
                             "probability": round(float(probs[predicted]), 4)}
    if subject.labels is not None:
        label = int(subject.labels[index])
        found.update(label=label, label_name=subject.class_name(label), correct=label == predicted)
    return found


def caption(found: dict[str, Any]) -> str:
    text = f"predicted {found['name']} ({found['probability']:.0%})"
    return text + (f", true {found['label_name']}" if "label_name" in found else "")


def explain_image(subject: Subject, method: str, index: int, out: Path) -> Explanation:
    example = subject.example(index)[0]
    probs, classes = image.predicted(subject, example)
    found = prediction(subject, index, probs[0])
    result = image.attribute(subject, method, example, [int(classes[0])])
    heat = image.heat_map(result.attributions)[0]
    figures: dict[str, Any] = {"target_class": found["class"], "attribution_sum": float(result.attributions.sum())}
    if result.deltas is not None:
        figures["convergence_delta"] = result.deltas[0]
    signed = method in ("ig", "occlusion")
    path = render.overlay(example[0], heat, signed=signed, title=f"{method} for class {found['name']}",
                          caption=caption(found), path=out / f"{method}-sample{index}.png")
    return Explanation(subject.run_id, method, IMAGE, index, 1, found, figures, [str(path)], result.attributions)


def explain_shap(subject: Subject, index: int, out: Path) -> Explanation:
    row = subject.example(index)[0]
    found = prediction(subject, index, tabular.probabilities(subject)(row)[0])
    result = tabular.shap_values(subject, row)
    names = subject.feature_names or [f"feature {i}" for i in range(row.shape[1])]
    values = result.values[0]
    figures = {"target_class": found["class"], "expected_value": float(result.expected[0]),
               "predicted_probability": float(result.predicted[0]), "shap_sum": float(values.sum()),
               "explainer": "shap.KernelExplainer",
               "features": {n: {"value": float(v), "shap": float(s)} for n, v, s in zip(names, row[0], values,
                                                                                         strict=True)}}
    path = render.bars(names, values, signed=True, path=out / f"shap-sample{index}.png",
                       title=f"SHAP for P({found['name']}): {result.expected[0]:.3f} expected → "
                             f"{result.predicted[0]:.3f} here ({caption(found)})")
    return Explanation(subject.run_id, "shap", TABULAR, index, 1, found, figures, [str(path)], result)


def explain_attention(subject: Subject, index: int, out: Path) -> Explanation:
    import numpy as np

    inputs = subject.example(index)
    maps, logits = attention_maps.attention_maps(subject, inputs)
    real = attention_maps.real_tokens(subject, inputs)
    words = attention_maps.token_words(subject, np.asarray(inputs[0][0])[real])
    scores = logits[0]
    if scores.ndim == 2:  # a language model scores every position: its guess after the last real token
        scores = scores[int(np.flatnonzero(real)[-1])]
    probs = np.exp(scores - scores.max())
    found = prediction(subject, index, probs / probs.sum())
    if logits.ndim == 3:
        found["name"] = attention_maps.token_words(subject, [found["class"]])[0]
    grids = maps[:, 0].mean(axis=1)[:, real][:, :, real]  # heads averaged, real tokens only
    figures = {"layers": int(maps.shape[0]), "heads": int(maps.shape[2]), "tokens": words,
               "last_layer_attention_received": [[w, round(float(v), 4)] for w, v in
                                                 zip(words, grids[-1].mean(axis=0), strict=True)]}
    path = render.attention(words, grids, title=f"attention ({caption(found)})",
                            path=out / f"attention-sample{index}.png")
    return Explanation(subject.run_id, "attention", subject.kind, index, 1, found, figures, [str(path)], maps)
