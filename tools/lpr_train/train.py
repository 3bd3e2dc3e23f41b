"""Train the plate reader on rendered crops and export it to ONNX.

    nice -n 10 /work/venv-train/bin/python -m tools.lpr_train.train \
        --out streaming_service/infrastructure/models/plate_reader_cnn.onnx

Needs the training venv (tools/lpr_train/requirements.txt: torch, onnx), never the
service's. Deterministic data (crop ``i`` of seed ``s`` is always the same image) and
initialisation for a seed; the defaults are the run that produced the shipped model
(docs/models.md). Validation crops come from the same renderer with another seed and
serve for the temperature fit and early reporting only: the independent evaluation set
(tools/lpr_eval) is never read here.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from tools.lpr_train.crops import ALPHABET, INPUT_H, INPUT_W, make_crops
from tools.lpr_train.model import Exported, PlateNet

CHUNK = 2000


def _chunk(args: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, seed, start = args
    return make_crops(n, seed, start)


def dataset(n: int, seed: int, cache: Path, workers: int) -> tuple[np.ndarray, ...]:
    path = cache / f"crops-{seed}-{n}.npz"
    if path.exists():
        data = np.load(path)
        return data["images"], data["labels"], data["kinds"]
    jobs = [(min(CHUNK, n - s), seed, s) for s in range(0, n, CHUNK)]
    with Pool(workers) as pool:
        parts = pool.map(_chunk, jobs)
    images, labels, kinds = (np.concatenate([p[i] for p in parts]) for i in range(3))
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, images=images, labels=labels, kinds=kinds)
    return images, labels, kinds


def to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0


@torch.no_grad()
def logits_of(net: PlateNet, images: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    net.eval()
    outs = [net(to_tensor(images[i : i + 512])) for i in range(0, len(images), 512)]
    return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])


def ctc(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """CTC loss of ``N x T x classes`` logits for 7-character labels (blank is class 0)."""
    n, steps, _ = logits.shape
    return F.ctc_loss(
        logits.log_softmax(-1).permute(1, 0, 2),
        labels + 1,
        torch.full((n,), steps, dtype=torch.long),
        torch.full((n,), labels.shape[1], dtype=torch.long),
        zero_infinity=True,
    )


def greedy(logits: torch.Tensor) -> list[str]:
    out = []
    for row in logits.argmax(-1).tolist():
        chars, last = [], 0
        for c in row:
            if c and c != last:
                chars.append(ALPHABET[c - 1])
            last = c
        out.append("".join(chars))
    return out


def fit_temperature(loss: Callable[[float], float]) -> float:
    return min((loss(float(t)), float(t)) for t in np.arange(0.5, 3.01, 0.1))[1]


def export_onnx(
    net: PlateNet, x_val: np.ndarray, yv: torch.Tensor, kv: torch.Tensor, out: Path
) -> tuple[float, float]:
    """Fit the temperatures on the validation crops and write the ONNX file (opset 17,
    dynamic batch) that the service's ``CnnPlateReader`` loads."""
    chars, kind = logits_of(net, x_val)
    t_chars = fit_temperature(lambda t: ctc(chars / t, yv).item())
    t_kind = fit_temperature(lambda t: F.cross_entropy(kind / t, kv).item())
    exported = Exported(net, t_chars, t_kind).eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        exported,
        torch.zeros(1, 3, INPUT_H, INPUT_W),
        str(out),
        opset_version=17,
        input_names=["crops"],
        output_names=["chars", "plate_type"],
        dynamic_axes={"crops": {0: "n"}, "chars": {0: "n"}, "plate_type": {0: "n"}},
        dynamo=False,
    )
    return t_chars, t_kind


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--cache", type=Path, default=Path("/work/lpr_train_cache"))
    p.add_argument("--n-train", type=int, default=100_000)
    p.add_argument("--n-val", type=int, default=4_000)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=15)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--init", type=Path, help="start from these weights (a second stage)")
    p.add_argument("--tag", default="", help="suffix of the checkpoint and summary names")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t0 = time.time()
    x_train, y_train, k_train = dataset(args.n_train, args.seed, args.cache, args.threads)
    x_val, y_val, k_val = dataset(args.n_val, args.seed + 1000, args.cache, args.threads)
    print(
        f"data: {len(x_train)} train, {len(x_val)} val crops in {time.time() - t0:.0f} s",
        flush=True,
    )
    net = PlateNet()
    if args.init:
        net.load_state_dict(torch.load(args.init))
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=args.steps, pct_start=0.1)
    rng = np.random.default_rng(args.seed)
    yv, kv = torch.from_numpy(y_val), torch.from_numpy(k_val)
    order = rng.permutation(len(x_train))
    position, running = 0, 0.0
    exact = kind_acc = 0.0
    for step in range(args.steps):
        net.train()
        if position + args.batch > len(order):  # next pass over the crops
            order, position = rng.permutation(len(x_train)), 0
        idx = order[position : position + args.batch]
        position += args.batch
        x = to_tensor(x_train[idx])
        y, k = torch.from_numpy(y_train[idx]), torch.from_numpy(k_train[idx])
        chars, kind = net(x)
        loss = ctc(chars, y) + 0.3 * F.cross_entropy(kind, k)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        running += loss.item()
        if step % 100 == 99:
            print(
                f"step {step + 1}/{args.steps} loss {running / 100:.3f} {time.time() - t0:.0f} s",
                flush=True,
            )
            running = 0.0
        if step % 500 == 499 or step == args.steps - 1:
            chars, kind = logits_of(net, x_val)
            truth = ["".join(ALPHABET[i] for i in row) for row in y_val.tolist()]
            exact = float(np.mean([a == b for a, b in zip(greedy(chars), truth, strict=True)]))
            kind_acc = (kind.argmax(-1) == kv).float().mean().item()
            print(f"step {step + 1}: val exact {exact:.4f}, plate type {kind_acc:.4f}", flush=True)
            torch.save(net.state_dict(), args.cache / f"plate_net-{args.seed}{args.tag}.pt")
    t_chars, t_kind = export_onnx(net, x_val, yv, kv, args.out)
    summary = {
        "seed": args.seed,
        "n_train": args.n_train,
        "steps": args.steps,
        "val_exact": exact,
        "val_plate_type": kind_acc,
        "t_chars": t_chars,
        "t_kind": t_kind,
        "seconds": round(time.time() - t0),
    }
    (args.cache / f"summary-{args.seed}{args.tag}.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
