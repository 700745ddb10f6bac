"""Per-batch augmentations for image batches (torch tensors N×C×H×W), applied by the trainer.

Randomness comes only from the ``torch.Generator`` passed in, so a run seeded the same way sees the same
augmented batches. torch is imported inside each function: importing this module stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def _draw_device(generator: torch.Generator) -> torch.device:
    # Random numbers must be drawn on the generator's device; they are moved to the batch afterwards.
    return generator.device


def random_horizontal_flip(batch: torch.Tensor, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Mirror each image left–right with probability ``p``; returns a new tensor."""
    import torch

    if batch.ndim != 4:
        raise ValueError(f"expected an image batch N×C×H×W, got shape {tuple(batch.shape)}")
    flip = torch.rand(batch.shape[0], generator=generator, device=_draw_device(generator)) < p
    flip = flip.to(batch.device).view(-1, 1, 1, 1)
    return torch.where(flip, batch.flip(-1), batch)


def random_crop(batch: torch.Tensor, generator: torch.Generator, padding: int = 4,
                size: tuple[int, int] | None = None, fill: float = 0.0) -> torch.Tensor:
    """Pad each image by ``padding`` on every side with ``fill``, then cut a random window of ``size``
    (default: the original height and width) from it, a different offset per image.

    With normalised inputs, ``fill`` = 0 is the training mean, which keeps the padding neutral.
    """
    import torch

    if batch.ndim != 4:
        raise ValueError(f"expected an image batch N×C×H×W, got shape {tuple(batch.shape)}")
    if padding < 0:
        raise ValueError(f"padding must be ≥ 0, got {padding}")
    n, _, h, w = batch.shape
    out_h, out_w = size if size is not None else (h, w)
    padded = torch.nn.functional.pad(batch, (padding, padding, padding, padding), value=fill)
    ph, pw = padded.shape[-2:]
    if out_h > ph or out_w > pw:
        raise ValueError(f"crop {out_h}×{out_w} is larger than the padded image {ph}×{pw}")
    device = _draw_device(generator)
    top = torch.randint(0, ph - out_h + 1, (n,), generator=generator, device=device).to(batch.device)
    left = torch.randint(0, pw - out_w + 1, (n,), generator=generator, device=device).to(batch.device)
    rows = top[:, None] + torch.arange(out_h, device=batch.device)  # N×out_h
    cols = left[:, None] + torch.arange(out_w, device=batch.device)  # N×out_w
    index = torch.arange(n, device=batch.device)[:, None, None]
    # Advanced indexing on dims 0, 2, 3 puts them first: N×out_h×out_w×C, hence the permute.
    cropped = padded.permute(0, 2, 3, 1)[index, rows[:, :, None], cols[:, None, :]]
    return cropped.permute(0, 3, 1, 2).contiguous()


def augment_batch(batch: torch.Tensor, generator: torch.Generator, *, flip: bool = True,
                  crop_padding: int | None = 4) -> torch.Tensor:
    """The usual CIFAR-style pair: random crop with padding, then random horizontal flip."""
    if crop_padding:
        batch = random_crop(batch, generator, padding=crop_padding)
    if flip:
        batch = random_horizontal_flip(batch, generator)
    return batch
