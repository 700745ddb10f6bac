"""Batch augmentations keep shapes and are reproducible with a seeded generator."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from neuralforge_desktop.core.training.datasets.augment import (  # noqa: E402
    augment_batch,
    random_crop,
    random_horizontal_flip,
)


def batch() -> torch.Tensor:
    return torch.arange(8 * 3 * 6 * 5, dtype=torch.float32).reshape(8, 3, 6, 5)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_flip_mirrors_some_images_and_keeps_the_others():
    x = batch()
    out = random_horizontal_flip(x, gen(0))
    assert out.shape == x.shape
    flipped = [bool(torch.equal(out[i], x[i].flip(-1))) for i in range(8)]
    kept = [bool(torch.equal(out[i], x[i])) for i in range(8)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True)) and any(flipped) and any(kept)
    assert torch.equal(random_horizontal_flip(x, gen(0), p=0.0), x)
    assert torch.equal(random_horizontal_flip(x, gen(0), p=1.0), x.flip(-1))


def test_crop_keeps_shape_and_takes_windows_of_the_padded_image():
    x = batch()
    out = random_crop(x, gen(1), padding=2)
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(8):
        assert any(torch.equal(out[i], padded[i, :, t:t + 6, s:s + 5]) for t in range(5) for s in range(5))
    assert torch.equal(random_crop(x, gen(1), padding=0), x)
    assert random_crop(x, gen(1), padding=1, size=(4, 4)).shape == (8, 3, 4, 4)


def test_same_seed_same_augmentation_different_seed_differs():
    x = batch()
    a, b, c = (augment_batch(x, gen(s)) for s in (7, 7, 8))
    assert a.shape == x.shape
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_rejects_non_image_batches():
    with pytest.raises(ValueError, match="N×C×H×W"):
        random_crop(torch.zeros(3, 4), gen(0))
    with pytest.raises(ValueError, match="N×C×H×W"):
        random_horizontal_flip(torch.zeros(3, 4), gen(0))
