"""Export a saved training checkpoint to ONNX (temperatures fitted on the validation
crops), e.g. to ship the last completed epoch of an interrupted run:

    /work/venv-train/bin/python -m tools.lpr_train.export --checkpoint \
        /work/lpr_train_cache/plate_net-15.pt --out /tmp/plate_reader_cnn.onnx
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from tools.lpr_train.model import PlateNet
from tools.lpr_train.train import dataset, export_onnx


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--cache", type=Path, default=Path("/work/lpr_train_cache"))
    p.add_argument("--val-seed", type=int, default=1015)
    p.add_argument("--n-val", type=int, default=4000)
    args = p.parse_args()
    torch.set_num_threads(2)
    net = PlateNet()
    net.load_state_dict(torch.load(args.checkpoint))
    x_val, y_val, k_val = dataset(args.n_val, args.val_seed, args.cache, 2)
    temps = export_onnx(net, x_val, torch.from_numpy(y_val), torch.from_numpy(k_val), args.out)
    print(f"wrote {args.out}, temperatures {temps}")


if __name__ == "__main__":
    main()
