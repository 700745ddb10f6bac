"""Real-world-style modules the import tests read as a user's file (``models.py:Name``)."""

import torch
import torch.nn.functional as F
from torch import nn

SCALE = 0.5


class NestedSequential(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
            nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(16 * 4 * 4, 10))

    def forward(self, x):
        return self.head(self.features(x))


class Residual(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.ch = ch
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(ch)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(ch)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + x)


class ResidualNet(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.blocks = nn.ModuleList([Residual(width) for _ in range(3)])
        self.fc = nn.Linear(width, 5)

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.fc(x.mean(dim=(2, 3)))


class CatSkip(nn.Module):
    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(4, 8, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.out = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        y = self.up(F.relu(self.down(x)))
        return self.out(torch.cat([x, y], dim=1))


class LstmClassifier(nn.Module):
    def __init__(self, vocab=100, dim=16, hidden=24):
        super().__init__()
        self.vocab, self.dim, self.hidden = vocab, dim, hidden
        self.embed = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, 3)

    def forward(self, tokens):
        out, _ = self.lstm(self.embed(tokens))
        return self.fc(out[:, -1])


class TinyEncoder(nn.Module):
    def __init__(self, dim=32, heads=4, depth=2):
        super().__init__()
        self.proj = nn.Linear(8, dim)
        self.layers = nn.ModuleList(
            [nn.TransformerEncoderLayer(dim, heads, 64, dropout=0.0, batch_first=True) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        x = self.proj(x)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


class DepthwiseSeparable(nn.Module):
    def __init__(self):
        super().__init__()
        self.depthwise = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.pointwise = nn.Conv2d(8, 16, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.act = nn.ReLU6()

    def forward(self, x):
        return self.act(self.bn(self.pointwise(self.depthwise(x))))


class Gate(nn.Module):
    def __init__(self, dim=6):
        super().__init__()
        self.dim = dim
        self.fc = nn.Linear(dim, dim)

    def forward(self, x):
        if x.sum() > 0:  # data-dependent control flow: torch.fx cannot trace it
            return self.fc(x)
        return x * SCALE


class DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(4, 6)
        self.gate = Gate(6)
        self.out = nn.Linear(6, 2)

    def forward(self, x):
        return self.out(self.gate(self.inp(x)))


class Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 12)
        self.fc2 = nn.Linear(12, 4)

    def forward(self, x):
        h = F.gelu(self.fc1(x))
        h = torch.flatten(h.transpose(1, 2), 1).view(x.size(0), 3, -1).mean(dim=1)
        return F.log_softmax(self.fc2(h) * SCALE + torch.sin(h[:, :4]), dim=-1)


class Tied(nn.Module):
    def __init__(self, vocab=50, dim=16):
        super().__init__()
        self.vocab, self.dim = vocab, dim
        self.embed = nn.Embedding(vocab, dim)
        self.mix = nn.Linear(dim, dim)
        self.head = nn.Linear(dim, vocab, bias=False)
        self.head.weight = self.embed.weight  # tied, as language models do

    def forward(self, tokens):
        h = self.embed(tokens)
        h = self.mix(torch.tanh(self.mix(h)))  # the same layer applied twice
        return self.head(h)


class WithLoss(nn.Module):
    """A model that returns its own loss (regression)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(5, 1)
        self.loss = nn.MSELoss()

    def forward(self, x, target):
        return self.loss(self.fc(x), target)


def make_mlp(hidden=32):
    """A function returning a module, as ``--kwargs`` sees it."""
    return nn.Sequential(nn.Linear(7, hidden), nn.Tanh(), nn.Linear(hidden, 1))


def example_input():
    return torch.randn(2, 3, 16, 16)


class ClassicLeNet(nn.Module):
    """The tutorial idioms: functional pooling and dropout, ``x.view(-1, n)``."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 4 * 4, 120)
        self.fc2 = nn.Linear(120, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, 16 * 4 * 4)
        x = F.dropout(F.relu(self.fc1(x)), 0.25, training=self.training)
        return F.log_softmax(self.fc2(x), dim=1)
