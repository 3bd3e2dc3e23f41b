"""The plate reader network: a small CNN with one classifier head per plate position.

A plate always has seven characters, so instead of CTC the network predicts each
position directly (``7 x 36`` logits) plus the plate type (Mercosul/old x one/two rows).
Two-row motorcycle plates need no special case: the heads learn where each position
is. Input ``N x 3 x 40 x 128`` BGR scaled to 0..1.
"""

from __future__ import annotations

import torch
from torch import nn

from tools.lpr_train.crops import ALPHABET, INPUT_H, INPUT_W

PLATE_TYPES = 4  # mercosul/old x one/two rows


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class PlateNet(nn.Module):
    def __init__(self, width: int = 1) -> None:
        super().__init__()
        c = [32 * width, 64 * width, 96 * width, 128 * width]
        self.features = nn.Sequential(
            _block(3, c[0]),
            nn.MaxPool2d(2),  # 20 x 64
            _block(c[0], c[1]),
            nn.MaxPool2d(2),  # 10 x 32
            _block(c[1], c[2]),
            _block(c[2], c[2]),
            nn.MaxPool2d(2),  # 5 x 16
            _block(c[2], c[3]),
            _block(c[3], c[3]),
            nn.MaxPool2d((1, 2)),  # 5 x 8
        )
        flat = c[3] * (INPUT_H // 8) * (INPUT_W // 16)
        self.neck = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(0.2),
            nn.Linear(flat, 384),
            nn.ReLU(inplace=True),
            nn.Dropout(0.1),
        )
        self.chars = nn.Linear(384, 7 * len(ALPHABET))
        self.kind = nn.Linear(384, PLATE_TYPES)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.neck(self.features(x))
        return self.chars(z).view(-1, 7, len(ALPHABET)), self.kind(z)


class Exported(nn.Module):
    """What ships: uint8-range BGR in, per-position and plate-type probabilities out,
    logits divided by the temperatures fitted on the validation crops."""

    def __init__(self, net: PlateNet, t_chars: float, t_kind: float) -> None:
        super().__init__()
        self.net = net
        self.t_chars = t_chars
        self.t_kind = t_kind

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        chars, kind = self.net(x / 255.0)
        return torch.softmax(chars / self.t_chars, -1), torch.softmax(kind / self.t_kind, -1)
