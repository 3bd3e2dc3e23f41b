"""The plate reader network: a small CNN with one classifier head per plate position.

A plate always has seven characters, so instead of CTC the network predicts each
position directly (``7 x 36`` logits) plus the plate type (Mercosul/old x one/two rows).
Two-row motorcycle plates need no special case: the heads learn where each position
is. Input ``N x 3 x 32 x 96`` BGR scaled to 0..1 (crops are rendered at 40 x 128 and
resized to it, as the service resizes a detector crop).
"""

from __future__ import annotations

import torch
from torch import nn

from tools.lpr_train.crops import ALPHABET

PLATE_TYPES = 4  # mercosul/old x one/two rows
NET_H, NET_W = 32, 96


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class PlateNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _block(3, 32),
            nn.MaxPool2d(2),  # 16 x 48
            _block(32, 64),
            nn.MaxPool2d(2),  # 8 x 24
            _block(64, 96),
            nn.MaxPool2d(2),  # 4 x 12
            _block(96, 128),
            _block(128, 128),
            nn.MaxPool2d((1, 2)),  # 4 x 6
        )
        flat = 128 * (NET_H // 8) * (NET_W // 16)
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
