"""The plate reader network: a small CNN over the plate line, read with CTC.

Input ``N x 3 x 32 x 128`` BGR scaled to 0..1: the line ``plate_line`` makes of a crop
(two-row plates: rows side by side). Convolutions shrink the height to one and keep 32
columns; a 1-D convolution over the columns adds context, and each column gives a
probability over the CTC blank and ``A-Z0-9``. Sharing one classifier over every column
learns each glyph once, wherever it stands, which is what lets it train in minutes on a
CPU. A second head, on the pooled features, gives the plate type (Mercosul/old x
one/two rows), the layout prior of the decoder.
"""

from __future__ import annotations

import torch
from torch import nn

from tools.lpr_train.crops import ALPHABET

PLATE_TYPES = 4  # mercosul/old x one/two rows
CLASSES = 1 + len(ALPHABET)  # blank first


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class PlateNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _block(3, 32),
            nn.MaxPool2d(2),  # 16 x 64
            _block(32, 64),
            nn.MaxPool2d(2),  # 8 x 32
            _block(64, 96),
            nn.MaxPool2d((2, 1)),  # 4 x 32
            _block(96, 128),
            nn.MaxPool2d((2, 1)),  # 2 x 32
        )
        self.context = nn.Sequential(
            nn.Conv1d(256, 192, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Dropout(0.1),
            nn.Conv1d(192, 192, 3, padding=1),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Conv1d(192, CLASSES, 1)
        self.kind = nn.Linear(128, PLATE_TYPES)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.features(x)  # N x 128 x 2 x 32
        n, c, h, w = f.shape
        seq = self.context(f.reshape(n, c * h, w))
        logits = self.classifier(seq).permute(0, 2, 1)  # N x T x classes
        return logits, self.kind(f.mean(dim=(2, 3)))


class Exported(nn.Module):
    """What ships: uint8-range BGR in; per-column and plate-type probabilities out, the
    logits divided by the temperatures fitted on the validation lines."""

    def __init__(self, net: PlateNet, t_chars: float, t_kind: float) -> None:
        super().__init__()
        self.net = net
        self.t_chars = t_chars
        self.t_kind = t_kind

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        chars, kind = self.net(x / 255.0)
        return torch.softmax(chars / self.t_chars, -1), torch.softmax(kind / self.t_kind, -1)
