"""Modules torch.fx cannot trace (their Python reads shapes) but torch.export can, read as a user's file."""

import torch
import torch.nn.functional as F
from torch import nn


class ShapeBranch(nn.Module):
    """Colour and grey images take different stems: a branch on a shape."""

    def __init__(self):
        super().__init__()
        self.rgb = nn.Conv2d(3, 8, 3, padding=1)
        self.grey = nn.Conv2d(1, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 4 * 4, 5)

    def forward(self, x):
        x = self.rgb(x) if x.shape[1] == 3 else self.grey(x)
        x = F.max_pool2d(F.relu(x), 2)
        x = F.adaptive_avg_pool2d(x, (4, 4))
        return self.fc(torch.flatten(x, 1))


class PerChannel(nn.Module):
    """One small convolution per input channel, in a loop over ``range(x.size(1))``."""

    def __init__(self, channels=3):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(1, 4, 3, padding=1) for _ in range(channels)])
        self.head = nn.Linear(4 * channels, 2)

    def forward(self, x):
        parts = [self.convs[i](x[:, i:i + 1]) for i in range(x.size(1))]
        y = torch.cat(parts, dim=1).relu()
        return F.softmax(self.head(y.mean(dim=(2, 3))), dim=-1)


class ViewArithmetic(nn.Module):
    """The flattened width computed in Python from the shape, then ``x.view(x.size(0), -1)``."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3)
        self.fc = nn.Linear(4 * 6 * 6, 3)

    def forward(self, x):
        x = torch.tanh(self.conv(x))
        width = 1
        for size in x.shape[1:]:
            width *= size
        h = x.view(x.size(0), width)
        return torch.sigmoid(self.fc(h)) * self.fc(torch.flatten(x.view(x.size(0), -1), 1))


def to_tokens(x):
    """(N, C, H, W) → (N, H·W, C); a sequence passes through."""
    if len(x.shape) == 4:
        x = torch.flatten(x, 2).transpose(1, 2)
    return x


class TokenMixer(nn.Module):
    """A helper of the user's that reads ``len(x.shape)``."""

    def __init__(self, dim=6):
        super().__init__()
        self.proj = nn.Linear(dim, dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        t = to_tokens(x)
        return self.norm(F.gelu(self.proj(t)) + t).mean(dim=1)


class Inner(nn.Module):
    """An untraceable level inside a traceable model."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        for _ in range(x.size(1) // 4):
            x = F.relu(self.fc(x))
        return x


class Outer(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(4, 8)
        self.inner = Inner()
        self.out = nn.Linear(8, 2)

    def forward(self, x):
        return self.out(self.inner(self.inp(x)))


class ValueBranch(nn.Module):
    """A branch on the values: neither tracer can follow it."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(5, 5)

    def forward(self, x):
        if x.shape[1] == 5 and x.sum() > 0:
            return self.fc(x)
        return x * 2


class FixedBatch(nn.Module):
    """Python that writes the example's batch size into the code."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(12, 2)

    def forward(self, x):
        if len(x.shape) == 3:
            x = x.reshape(2, -1)
        return self.fc(x)


class InplaceResidual(nn.Module):
    """In-place residual sums and activations, as ResNet-style code writes them."""

    def __init__(self, ch=4):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        out = self.conv(x)
        if x.dim() == 4:
            out += x
        return F.relu(out, inplace=True)


class ShapeAndValueBranch(nn.Module):
    """A branch on a shape here, one on values in a submodule: only the submodule stays code."""

    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(5, 5)
        self.gate = ValueBranch()
        self.out = nn.Linear(5, 2)

    def forward(self, x):
        if x.shape[-1] == 5:
            x = F.relu(self.inp(x))
        return self.out(self.gate(x) + x)
