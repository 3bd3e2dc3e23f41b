"""Which int8 network files suit this CPU.

onnxruntime multiplies uint8 activations by int8 weights on x86. With VNNI
(``vpdpbusd``) each product is summed straight into 32 bits; without it the AVX2
kernels pair products in 16 bits first (``vpmaddubsw``), which saturates when both
weights of a pair are large: 255 x 127 x 2 exceeds 32 767. The shipped int8 set was
calibrated with full 8-bit weights for VNNI CPUs; on x86 CPUs without VNNI (or whose
flags cannot be read) the recogniser loads a second int8 set with 7-bit weights
(onnxruntime's ``reduce_range``, weights within -64..64: 255 x 64 x 2 = 32 640 fits), so
no sum saturates and every CPU computes the same integers. Measured on the tuning set
(docs/models.md): the 8-bit pair on an AVX2-only CPU read 1 162 of 1 349 frames with
34 confident misreads, the 7-bit pair 1 230 with 22.
"""

from __future__ import annotations

import functools
import platform
from pathlib import Path

#: CPU flags (``/proc/cpuinfo``) of the x86 dot-product instructions that add uint8 x
#: int8 products into 32 bits without a saturating 16-bit step.
VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


def int8_saturation_risk(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True on an x86 CPU without VNNI, and on an x86 CPU whose flags cannot be read
    (the 7-bit files are safe on every CPU). Other architectures (ARM's dot products do
    not saturate) count as no risk."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True
    for line in text.splitlines():
        if line.startswith("flags"):
            return not VNNI_FLAGS & set(line.partition(":")[2].split())
    return True


@functools.cache
def seven_bit_weights() -> bool:
    """Whether this process loads the 7-bit int8 files (read once)."""
    return int8_saturation_risk()


def int8_file(files: tuple[Path, Path]) -> Path:
    """The int8 file of a network for this CPU, of its (8-bit, 7-bit) pair."""
    return files[1] if seven_bit_weights() else files[0]
