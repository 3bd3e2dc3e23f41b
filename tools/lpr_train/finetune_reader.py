"""Fine-tune PP-OCRv4 recognition on rendered plates, as the service feeds it its lines.

    PYTHONPATH=$PWD /work/venv-train/bin/python -m tools.lpr_train.finetune_reader \
        --out streaming_service/infrastructure/models/ppocrv4_rec_plates.onnx

The general-purpose network confuses single glyphs on plates (``I``/``T``, ``Q``/``O``,
``M``/``N``, ``1``/``I``: docs/models.md). This script takes the network from the
``rapidocr-onnxruntime`` package (converted to torch with ``onnx2torch``), freezes its
backbone up to ``--train-from`` and trains the rest (the last backbone stage, the SVTR
neck, the classifier) with CTC on plates drawn by ``tools/lpr_train/crops.py`` (DejaVu
and Noto faces, never the evaluation set's), each cut into the text line exactly as
``RapidOcrPlateReader`` cuts it, either view. Labels are what the line shows: Mercosul
``ABC1D23``; an old one-row plate with its hyphen, ``ABC-1234``; two-row plates without
one. The written file is a drop-in replacement: same input and output (softmax over the
same 6 625 characters), same ``character`` metadata. The defaults are the shipped run's
(docs/models.md); the lines are the same for a seed, the weights depend on torch's CPU
kernels and thread count. Measured and decided on the tuning set
(``two_view_calibration collect``) and on unseen faces (``face_check``), never on
``tools/lpr_eval``.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Iterator
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

#: First ONNX node (by its index in the converted graph) whose weights are trained: the
#: last backbone stage (``p2o.Conv.28`` onwards). Earlier layers keep PP-OCR's features.
TRAIN_FROM_NODE = 221
#: The generator seed of the training lines; validation lines use ``seed + 1``.
SEED = 1517
LINE_HEIGHT = 48
MAX_WIDTH = 640

Line = tuple[npt.NDArray[np.uint8], str]


def source_model() -> Path:
    from streaming_service.infrastructure.ocr import rapidocr_model_path

    return rapidocr_model_path()


def to_initializers(source: Path) -> Any:
    """The reader as an opset-17 graph whose weights are initializers (``onnx2torch``
    needs them there; the package keeps them in ``Constant`` nodes)."""
    import onnx
    from onnx import numpy_helper, version_converter

    model = version_converter.convert_version(onnx.load(str(source)), 17)
    graph = model.graph
    nodes = []
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute[0].name == "value":
            array = numpy_helper.to_array(node.attribute[0].t)
            graph.initializer.append(numpy_helper.from_array(array, node.output[0]))
        else:
            nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    return model


def to_trainable_onnx(source: Path) -> Any:
    """:func:`to_initializers` with the classifier's logits as output (the final softmax
    removed)."""
    model = to_initializers(source)
    graph = model.graph
    nodes = list(graph.node)
    softmax = max(i for i, n in enumerate(nodes) if n.op_type == "Softmax")
    producer = {out: i for i, n in enumerate(nodes) for out in n.output}
    logits = nodes[softmax].input[0]
    while nodes[producer[logits]].op_type in ("Flatten", "Reshape"):
        logits = nodes[producer[logits]].input[0]  # the opset conversion's 2-D softmax
    del nodes[producer[logits] + 1 :]
    del graph.node[:]
    graph.node.extend(nodes)
    output = graph.output[0]
    output.name = logits
    return model


def network(model: Any, train_from: int) -> Any:
    """The torch module, with every weight of nodes from ``train_from`` on trainable
    (``onnx2torch`` keeps matrix-product weights as buffers: they become parameters)."""
    import torch
    from onnx2torch import convert

    module = convert(model, attach_onnx_mapping=True)
    trained = {n.name.replace(".", "/") for n in list(model.graph.node)[train_from:]}
    for p in module.parameters():
        p.requires_grad_(False)
    for name, sub in module.named_children():
        if name in trained:
            for p in sub.parameters():
                p.requires_grad_(True)
    initializers = module.initializers
    for node in module.graph.nodes:
        if node.op != "get_attr" or not str(node.target).startswith("initializers."):
            continue
        if not any(u.op == "call_module" and u.target in trained for u in node.users):
            continue
        key = str(node.target).split(".", 1)[1]
        tensor = getattr(initializers, key)
        if tensor.dtype == torch.float32 and tensor.numel() > 1:
            delattr(initializers, key)
            initializers.register_parameter(key, torch.nn.Parameter(tensor.clone()))
    return module


def label(text: str, style: str, two_rows: bool) -> str:
    return text[:3] + "-" + text[3:] if style == "old" and not two_rows else text


def _lines(args: tuple[int, int, int]) -> list[Line]:
    """Lines ``start .. start + n`` of a seed: a crop's line as the service cuts it
    (either view, at random), when it is cut as the plate's kind (one or two rows)."""
    import cv2

    from streaming_service.infrastructure.ocr import RapidOcrPlateReader, second_view
    from tools.lpr_train.crops import make_crop

    seed, start, n = args
    cv2.setNumThreads(1)
    reader = RapidOcrPlateReader(source_model(), precision="fp32")  # its line cutting
    out = []
    for i in range(start, start + n):
        rng = np.random.default_rng([seed, i])
        crop = make_crop(rng)
        view = second_view(crop.crop) if rng.random() < 0.5 else crop.crop
        line, two_rows = reader.line(view)
        if line is None or two_rows != crop.two_rows:
            continue
        grey = cv2.cvtColor(line, cv2.COLOR_BGR2GRAY)
        h, w = grey.shape
        width = max(LINE_HEIGHT, min(MAX_WIDTH, round(w * LINE_HEIGHT / h)))
        grey = cv2.resize(grey, (width, LINE_HEIGHT), interpolation=cv2.INTER_AREA)
        out.append((np.asarray(grey, np.uint8), label(crop.text, crop.style, crop.two_rows)))
    return out


def make_lines(n: int, seed: int, workers: int) -> list[Line]:
    chunk = 500
    jobs = [(seed, s, min(chunk, n - s)) for s in range(0, n, chunk)]
    with Pool(workers) as pool:
        return [line for part in pool.map(_lines, jobs) for line in part]


def batches(lines: list[Line], size: int, rng: np.random.Generator) -> Iterator[list[Line]]:
    """Batches of lines of similar width (little padding), in random order."""
    order = sorted(range(len(lines)), key=lambda i: lines[i][0].shape[1] + rng.uniform(0, 24))
    groups = [order[i : i + size] for i in range(0, len(order) - size + 1, size)]
    for g in rng.permutation(len(groups)):
        yield [lines[i] for i in groups[g]]


def tensor(batch: list[Line]) -> Any:
    """Network input ``Bx3x48xW``, -1..1, padded on the right with 0 (PP-OCR's padding)."""
    import torch

    width = max(img.shape[1] for img, _ in batch)
    x = np.zeros((len(batch), 3, LINE_HEIGHT, width), np.float32)
    for i, (img, _) in enumerate(batch):
        x[i, :, :, : img.shape[1]] = (img.astype(np.float32) / 255.0 - 0.5) / 0.5
    return torch.from_numpy(x)


def targets(batch: list[Line], columns: dict[str, int]) -> tuple[Any, Any]:
    import torch

    flat = [columns[ch] for _, text in batch for ch in text]
    return torch.tensor(flat), torch.tensor([len(text) for _, text in batch])


def character_columns(model: Any) -> dict[str, int]:
    meta = {p.key: p.value for p in model.metadata_props}
    return {ch: i + 1 for i, ch in enumerate(meta["character"].splitlines())}


def greedy_exact(module: Any, lines: list[Line], columns: dict[str, int]) -> float:
    """Share of lines whose greedy CTC decoding restricted to the plate alphabet is the
    label: a quick check during training (the service decodes with the grammar)."""
    import torch

    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
    index = torch.tensor([0] + [columns[c] for c in alphabet])
    right = 0
    with torch.no_grad():
        for batch in (lines[i : i + 64] for i in range(0, len(lines), 64)):
            logits = module(tensor(batch))[:, :, index]
            for row, (_, text) in zip(logits.argmax(-1).numpy(), batch, strict=True):
                chars, prev = [], 0
                for k in row:
                    if k != prev and k != 0:
                        chars.append(alphabet[k - 1])
                    prev = k
                right += "".join(chars) == text
    return right / max(len(lines), 1)


def trained_weights(module: Any, model: Any) -> dict[str, npt.NDArray[np.float32]]:
    """The trained weights by the name of the ``model`` initializer each came from."""
    import torch

    weights: dict[str, npt.NDArray[np.float32]] = {}
    parameters = dict(module.named_parameters())
    onnx_nodes = {n.name.replace(".", "/"): n for n in model.graph.node}

    def keep(name: str, tensor: Any) -> None:
        if name and isinstance(tensor, torch.nn.Parameter) and tensor.requires_grad:
            weights[name] = tensor.detach().numpy().astype(np.float32)

    for node in module.graph.nodes:
        if node.op != "call_module":
            continue
        sub = module.get_submodule(node.target)
        if isinstance(sub, torch.nn.modules.conv._ConvNd | torch.nn.modules.batchnorm._BatchNorm):
            inputs = list(onnx_nodes[node.target].input)
            keep(inputs[1], sub.weight)
            if len(inputs) > 2:
                keep(inputs[2], sub.bias)
        for arg, name in zip(node.args, sub.onnx_mapping.inputs, strict=False):
            if getattr(arg, "op", None) == "get_attr":
                keep(name, parameters.get(arg.target))
    trainable = {id(p) for p in module.parameters() if p.requires_grad}
    if len(weights) != len(trainable):
        raise RuntimeError(f"{len(trainable)} trained tensors but {len(weights)} initializers "
                           "to write them to: a weight would be lost or shared")
    return weights


def export(weights: dict[str, npt.NDArray[np.float32]], source: Path, out: Path) -> None:
    """The package's network (at opset 17, weights as initializers) with the trained
    weights written in: the same graph, node names, input, softmax output and
    ``character`` metadata, so it drops in for the package's file."""
    import onnx
    from onnx import numpy_helper

    model = to_initializers(source)
    missing = set(weights)
    for init in model.graph.initializer:
        if init.name in weights:
            old = numpy_helper.to_array(init)
            if old.shape != weights[init.name].shape:
                raise ValueError(f"{init.name}: {old.shape} vs {weights[init.name].shape}")
            init.CopyFrom(numpy_helper.from_array(weights[init.name], init.name))
            missing.discard(init.name)
    if missing:
        raise ValueError(f"trained weights with no initializer: {sorted(missing)[:5]}")
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.checker.check_model(model)
    onnx.save(model, str(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--n-train", type=int, default=30000)
    parser.add_argument("--n-val", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--train-from", type=int, default=TRAIN_FROM_NODE)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.workers)
    t0 = time.monotonic()
    train = make_lines(args.n_train, args.seed, args.workers)
    val = make_lines(args.n_val, args.seed + 1, args.workers)
    print(f"{len(train)} training / {len(val)} validation lines in {time.monotonic() - t0:.0f} s")

    model = to_trainable_onnx(source_model())
    columns = character_columns(model)
    module = network(model, args.train_from)
    module.eval()  # batch norm keeps PP-OCR's statistics; there is no dropout
    print(f"before: greedy exact {greedy_exact(module, val, columns):.3f}")
    params = [p for p in module.parameters() if p.requires_grad]
    print(f"{sum(p.numel() for p in params)} trained weights")
    optimiser = torch.optim.AdamW(params, lr=args.lr, weight_decay=1e-4)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    rng = np.random.default_rng(args.seed)
    step, warmup = 0, max(1, args.steps // 20)
    while step < args.steps:
        for batch in batches(train, args.batch, rng):
            if step >= args.steps:
                break
            lr = args.lr * min(1.0, (step + 1) / warmup)
            lr *= 0.5 * (1 + math.cos(math.pi * step / args.steps))
            for group in optimiser.param_groups:
                group["lr"] = lr
            logits = module(tensor(batch))
            log_probs = logits.log_softmax(-1).permute(1, 0, 2)
            flat, lengths = targets(batch, columns)
            steps_in = torch.full((len(batch),), log_probs.shape[0], dtype=torch.long)
            loss = ctc(log_probs, flat, steps_in, lengths)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            optimiser.step()
            step += 1
            if step % 50 == 0:
                print(f"step {step} loss {loss.item():.3f} lr {lr:.2e} "
                      f"{time.monotonic() - t0:.0f} s", flush=True)
            if step % 500 == 0 or step == args.steps:
                print(f"step {step}: greedy exact {greedy_exact(module, val, columns):.3f}",
                      flush=True)
    export(trained_weights(module, model), source_model(), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
