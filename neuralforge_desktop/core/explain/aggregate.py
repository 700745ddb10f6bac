"""Global explanations: attributions aggregated over the first N validation examples.

* images: the mean |attribution| map of each class (examples grouped by their true label);
* tabular SHAP: the mean |SHAP value| of each feature (for each example's predicted class);
* permutation importance: the accuracy lost per shuffled feature (mean and spread over repeats);
* attention: the mean attention each word receives in the last layer, over its occurrences.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.explain import attention as attention_maps
from neuralforge_desktop.core.explain import image, render, tabular
from neuralforge_desktop.core.explain.local import Explanation
from neuralforge_desktop.core.explain.subject import IMAGE, TABULAR, Subject

IMAGE_BATCH = 32  # examples per Captum call: bounded memory for integrated gradients' 64 steps


def _count(subject: Subject, count: int) -> int:
    return max(1, min(count, len(subject)))


def global_image(subject: Subject, method: str, count: int, out: Path) -> Explanation:
    import numpy as np

    count = _count(subject, count)
    images = np.asarray(subject.inputs[0][:count])
    sums: dict[int, Any] = {}
    seen: dict[int, int] = defaultdict(int)
    correct = 0
    deltas: list[float] = []
    for start in range(0, count, IMAGE_BATCH):
        batch = images[start:start + IMAGE_BATCH]
        _, classes = image.predicted(subject, batch)
        labels = subject.labels[start:start + len(batch)] if subject.labels is not None else classes
        correct += int((classes == labels).sum())
        result = image.attribute(subject, method, batch, [int(c) for c in classes])
        deltas += result.deltas or []
        for label, heat in zip(labels, np.abs(image.heat_map(result.attributions)), strict=True):
            key = int(label)
            sums[key] = heat if key not in sums else sums[key] + heat
            seen[key] += 1
    maps = {subject.class_name(k): sums[k] / seen[k] for k in sorted(sums)}
    path = render.class_maps(maps, title=f"mean |{method}| per class over {count} validation examples",
                             path=out / f"{method}-global.png")
    figures: dict[str, Any] = {"accuracy": correct / count,
                               "classes": {name: {"examples": seen[k], "mean_abs_attribution": float(maps[name].mean())}
                                           for k, name in zip(sorted(sums), maps, strict=True)}}
    if deltas:
        figures["max_abs_convergence_delta"] = float(np.max(np.abs(deltas)))
    return Explanation(subject.run_id, method, IMAGE, None, count, None, figures, [str(path)], maps)


def global_shap(subject: Subject, count: int, out: Path) -> Explanation:
    import numpy as np

    count = _count(subject, count)
    result = tabular.shap_values(subject, np.asarray(subject.inputs[0][:count]))
    names = subject.feature_names or [f"feature {i}" for i in range(result.values.shape[1])]
    mean_abs = np.abs(result.values).mean(axis=0)
    path = render.bars(names, mean_abs, path=out / "shap-global.png",
                       title=f"mean |SHAP| per feature over {count} validation examples")
    ranking = sorted(zip(names, mean_abs.tolist(), strict=True), key=lambda pair: -pair[1])
    figures = {"explainer": "shap.KernelExplainer", "mean_abs_shap": dict(ranking)}
    return Explanation(subject.run_id, "shap", TABULAR, None, count, None, figures, [str(path)], result)


def global_permutation(subject: Subject, count: int, out: Path) -> Explanation:
    count = _count(subject, count)
    found = tabular.permutation(subject, count)
    names = subject.feature_names or [f"feature {i}" for i in range(len(found["mean"]))]
    path = render.bars(names, found["mean"], errors=found["std"], path=out / "permutation-global.png",
                       title=f"accuracy lost when a feature is shuffled ({count} validation examples, "
                             f"{tabular.PERMUTATION_REPEATS} repeats)")
    ranking = sorted(zip(names, found["mean"].tolist(), found["std"].tolist(), strict=True), key=lambda t: -t[1])
    figures = {"baseline_accuracy": found["baseline_accuracy"], "repeats": tabular.PERMUTATION_REPEATS,
               "importance": {n: {"mean": m, "std": s} for n, m, s in ranking}}
    return Explanation(subject.run_id, "permutation", TABULAR, None, count, None, figures, [str(path)], found)


def global_attention(subject: Subject, count: int, out: Path) -> Explanation:
    import numpy as np

    count = _count(subject, count)
    received: dict[str, list[float]] = defaultdict(list)
    for index in range(count):
        inputs = subject.example(index)
        maps, _ = attention_maps.attention_maps(subject, inputs)
        real = attention_maps.real_tokens(subject, inputs)
        grid = maps[-1, 0].mean(axis=0)[real][:, real]
        words = attention_maps.token_words(subject, np.asarray(inputs[0][0])[real])
        for word, value in zip(words, grid.mean(axis=0), strict=True):
            received[word].append(float(value))
    means = {w: float(np.mean(v)) for w, v in received.items()}
    top = sorted(means, key=lambda w: -means[w])[:20]
    path = render.bars(top, [means[w] for w in top], path=out / "attention-global.png",
                       title=f"mean attention received in the last layer over {count} validation examples")
    figures = {"mean_attention_received": {w: round(means[w], 4) for w in top}}
    return Explanation(subject.run_id, "attention", subject.kind, None, count, None, figures, [str(path)], means)
