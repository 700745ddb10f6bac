"""What an explanation is computed on: a run's model (its best checkpoint loaded into the model built from the
run's graph, in eval mode) and the run's validation split, loaded with the run's own settings.

The kind of model decides which methods fit: an image model (one float input of rank 4, N×C×H×W), a tabular
model (one float input N×F), a transformer over tokens (int64 token ids, with attention modules inside).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neuralforge_desktop.core.errors import UserError

IMAGE, TABULAR, TEXT = "image", "tabular", "text"


@dataclass
class Subject:
    """A model with the examples it is explained on (numpy, one array per model input, in input order)."""

    run_id: str
    model: Any
    inputs: list[Any]
    labels: Any | None
    kind: str
    class_names: list[str] | None = None
    feature_names: list[str] | None = None
    vocab: list[str] | None = None
    background: Any | None = None  # training examples (tabular): what SHAP's expected value is taken over
    description: str = ""

    def __len__(self) -> int:
        return int(len(self.inputs[0]))

    def example(self, index: int) -> list[Any]:
        """The inputs of one validation example (batch of one); an index out of range names the range."""
        if not 0 <= index < len(self):
            raise UserError(f"--sample {index}: the validation split has {len(self)} examples (0 … {len(self) - 1})")
        return [a[index:index + 1] for a in self.inputs]

    def class_name(self, index: int) -> str:
        if self.class_names and 0 <= index < len(self.class_names):
            return self.class_names[index]
        return str(index)


def model_kind(inputs: list[Any], model: Any) -> str:
    """image, tabular or text, from the inputs' shapes and types and the model's modules."""
    import numpy as np
    import torch

    first = np.asarray(inputs[0])
    if first.dtype.kind in "iu":
        has_attention = any(isinstance(m, torch.nn.MultiheadAttention) for m in model.modules())
        return TEXT if has_attention else "tokens"
    if len(inputs) == 1 and first.ndim == 4:
        return IMAGE
    if len(inputs) == 1 and first.ndim == 2:
        return TABULAR
    return "other"


def logits_of(output: Any, output_names: list[str]) -> Any:
    """The class scores among a model's outputs: the one named ``logits`` when there is one, else the last."""
    if not isinstance(output, tuple | list):
        return output
    if "logits" in output_names:
        return output[output_names.index("logits")]
    return output[-1]


def _feature_names(bundle: Any) -> list[str] | None:
    """The scikit-learn tables note their column names ("features: a, b, …"); other tables have none."""
    width = int(bundle.input_shape[0]) if len(bundle.input_shape) == 1 else 0
    for note in bundle.notes:
        if note.startswith("features: "):
            names = [n.strip() for n in note[len("features: "):].split(",")]
            if len(names) == width:
                return names
    return [f"feature {i}" for i in range(width)] if width else None


def _vocabulary(bundle: Any) -> list[str] | None:
    """Each token id's text: the word vocabulary, else each id decoded by the run's tokenizer (BPE, bytes)."""
    if bundle.vocab:
        return list(bundle.vocab)
    if not bundle.tokenizer:
        return None
    from neuralforge_desktop.core.training.datasets.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(bundle.tokenizer)
    return [tokenizer.decode([i]) for i in range(tokenizer.vocab_size)]


def load_subject(store: Any, run_id: str) -> Subject:
    """The run's model and its validation split (its test split when it has no validation split)."""
    import numpy as np

    from neuralforge_desktop.core.exporters.source import load_model
    from neuralforge_desktop.core.optimize.lineage import load_parent
    from neuralforge_desktop.core.optimize.measure import run_dataset

    parent = load_parent(store, run_id)
    bundle, fields = run_dataset(parent.graph, parent.config)
    model = load_model(parent.graph.copy(), parent.weights)
    split, which = bundle.val, "validation"
    if split is None or not len(split):
        split, which = bundle.test, "test"
    if split is None or not len(split):
        raise UserError(f"dataset {bundle.name} of run {parent.run.id} has no validation or test examples to "
                        "explain; train the run with a validation fraction above 0")
    inputs = [np.asarray(split.x if f == bundle.input_name else split.extra[f]) for f in fields]
    labels = np.asarray(split.y) if bundle.task == "classification" else None
    kind = model_kind(inputs, model)
    background = None
    if kind == TABULAR:
        background = np.asarray(bundle.train.x if fields[0] == bundle.input_name else bundle.train.extra[fields[0]])
    return Subject(parent.run.id, model, inputs, labels, kind, bundle.class_names,
                   _feature_names(bundle) if kind == TABULAR else None, _vocabulary(bundle), background,
                   f"{len(split)} {which} examples of {bundle.name}")
