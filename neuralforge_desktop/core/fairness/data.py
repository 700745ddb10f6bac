"""The evaluation set: a user's CSV/Parquet table (the model's feature columns, a label column, one or more
sensitive columns), or the bundled example's evaluation table (``example:credit``, or
``example:credit-unbiased`` without the planted disparity)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.fairness.example import DEFAULT_BIAS

EXAMPLES = {"example:credit": DEFAULT_BIAS, "example:credit-unbiased": 0.0}
MISSING_GROUP = "(missing)"


@dataclass(frozen=True)
class EvaluationData:
    source: str
    x: np.ndarray  # raw feature rows, columns in the model's order
    y: np.ndarray  # 1 = the positive class, 0 = the other
    sensitive: dict[str, np.ndarray]  # column → group name per row
    label: str
    positive: str  # what 1 means in the label column


def read_frame(spec: str | Path) -> tuple[Any, str]:
    """(DataFrame, description) of a table file or a bundled example name."""
    import pandas as pd

    text = str(spec)
    if text in EXAMPLES:
        from neuralforge_desktop.core.fairness.example import EVAL_ROWS, EVAL_SEED, generate_credit

        frame = generate_credit(EVAL_ROWS, EVAL_SEED, bias=EXAMPLES[text])
        return frame, f"{text} ({EVAL_ROWS} rows, seed {EVAL_SEED})"
    path = Path(text).expanduser()
    if not path.is_file():
        raise UserError(f"--data {text}: no such file (give a .csv/.tsv/.parquet table or one of "
                        f"{', '.join(EXAMPLES)})")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif suffix in (".csv", ".tsv", ".txt"):
            frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
        else:
            raise UserError(f"--data {path.name}: expected a .csv, .tsv or .parquet table")
    except ImportError as exc:
        raise UserError(f"--data {path.name}: reading it needs {exc.name or 'pyarrow'} (pip install pyarrow)") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise UserError(f"--data {path.name}: not a readable table ({exc})") from None
    frame.columns = [str(c) for c in frame.columns]
    return frame, f"{path} ({len(frame)} rows)"


def _require(frame: Any, columns: list[str], what: str, where: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise UserError(f"{where}: {what} {', '.join(repr(c) for c in missing)} not found; the columns are "
                        f"{', '.join(frame.columns)}")


def evaluation_data(spec: str | Path, *, features: list[str], sensitive: list[str], label: str,
                    class_names: list[str] | None = None) -> EvaluationData:
    """Read and check the evaluation set: every column must exist (the message lists the table's columns),
    features must be numbers without gaps, and the label must take two values."""
    frame, source = read_frame(spec)
    where = f"--data {Path(str(spec)).name}"
    if not sensitive:
        raise UserError("name at least one sensitive column (--sensitive COL)")
    _require(frame, sensitive, "sensitive column" + ("s" if len(sensitive) > 1 else ""), where)
    _require(frame, [label], "label column", where)
    _require(frame, features, "feature column" + ("s" if len(features) > 1 else "") + " the model reads", where)
    if len(frame) == 0:
        raise UserError(f"{where}: the table has no rows")
    block = frame[features]
    bad = [c for c in features if not np.issubdtype(block[c].dtype, np.number) and block[c].dtype != bool]
    if bad:
        raise UserError(f"{where}: feature columns must be numbers; {', '.join(bad)} are not")
    gaps = [c for c in features if block[c].isna().any()]
    if gaps:
        raise UserError(f"{where}: feature columns {', '.join(gaps)} have missing values; clean them first")
    y, positive = _binary_labels(frame[label], label, class_names, where)
    groups = {c: frame[c].astype(object).where(frame[c].notna(), MISSING_GROUP).astype(str).to_numpy()
              for c in sensitive}
    return EvaluationData(source, block.to_numpy(dtype=np.float32), y, groups, label, positive)


def _binary_labels(column: Any, label: str, class_names: list[str] | None, where: str) -> tuple[np.ndarray, str]:
    if column.isna().any():
        raise UserError(f"{where}: label column {label!r} has {int(column.isna().sum())} missing values")
    if class_names is not None:
        if len(class_names) != 2:
            raise UserError(f"the model has {len(class_names)} classes; fairness metrics here need a yes/no "
                            "(two-class) model")
        index = {name: i for i, name in enumerate(class_names)}
        values = column.astype(str).to_numpy()
        unknown = sorted(set(values) - set(index))
        if unknown:
            raise UserError(f"{where}: label column {label!r} has values {', '.join(unknown[:5])} the model "
                            f"does not know (its classes are {', '.join(class_names)})")
        return np.array([index[v] for v in values], dtype=np.int64), class_names[1]
    values = column.to_numpy()
    if not np.issubdtype(values.dtype, np.number) or not np.isin(values, (0, 1)).all():
        found = ", ".join(map(str, sorted(set(column.astype(str)))[:5]))
        raise UserError(f"{where}: label column {label!r} must hold 0 and 1 (1 = the positive outcome); "
                        f"found {found}")
    return values.astype(np.int64), "1"
