"""dlib's face descriptor network, run with numpy's BLAS.

The embedding is dlib's ResNet (``dlib_face_recognition_resnet_model_v1.dat``, the network
deepface's Dlib model runs). The pinned ``dlib-bin`` wheel runs it on dlib's own matrix code,
without a BLAS: about 80 ms a face on the 2-core machine. Here the same network, with the same
weights read from the same file, runs as im2col and matrix products on the OpenBLAS that numpy
ships (portal/faces/convolution.py): about 12 ms a face, one thread. The vectors equal dlib's to
within float rounding (``tests/faces/test_descriptor.py`` compares them on real faces), so the
gallery's embeddings stay valid and the engine keeps its name.

The weights are read with ``portal/faces/dlib_files.py`` (dlib's serialisation).

The layers appear from the input up: the input layer's channel means and chip size, then for
each convolution ``con_4`` its tensor (filters, then one bias per filter) and its filter count,
size, strides and paddings, then the ``affine_`` layer that follows it (gammas, then betas, a
batch normalisation frozen at training), and last ``fc_2``, the 256 × 128 projection without a
bias. Each affine layer is folded into its convolution once, at load time.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from threadpoolctl import ThreadpoolController

from portal.faces.convolution import Convolution, convolution_read, convolved
from portal.faces.dlib_files import DlibReader

# The network as dlib's face recognition example defines it, from the input up: a 7 × 7 / 2
# convolution and a 3 × 3 / 2 max pool, then residual stages of (channels, blocks). A stage's
# first block halves the size (its first convolution has stride 2, its shortcut is a 2 × 2
# average pool) except in the first stage. A block is conv, affine, relu, conv, affine, then
# the shortcut added and a relu. Then the mean over the positions and the projection.
STAGES = ((32, 3), (64, 4), (128, 3), (256, 3), (256, 1))

_AFFINE, _PROJECTION, _INPUT = b"affine_", b"fc_2", b"input_rgb_image_sized"


class FaceDescriptor:
    """128 numbers for an aligned 150 × 150 face chip, as dlib's ``compute_face_descriptor``."""

    def __init__(self, *, path: Path) -> None:
        reader = DlibReader(data=Path(path).read_bytes(), source=Path(path),
                            expected="dlib's face recognition network")
        if not reader.seek(_INPUT):
            raise reader.fail("no input layer")
        self.channel_means = np.array([reader.real() for _ in range(3)], dtype=np.float32)
        self.chip_size = reader.integer()
        if reader.integer() != self.chip_size:
            raise reader.fail("its input is not square")
        plan = _layer_plan()
        self._convolutions = [self._convolution_read(reader=reader, index=index, plan=plan)
                              for index in range(len(plan))]
        if not reader.seek(_PROJECTION):
            raise reader.fail("no projection layer")
        outputs, inputs = reader.integer(), reader.integer()
        self._projection = reader.tensor().reshape(inputs, outputs)
        if inputs != STAGES[-1][0]:
            raise reader.fail(f"the projection takes {inputs} inputs, not {STAGES[-1][0]}")
        self.size = outputs
        # numpy's OpenBLAS would use every core for each product: one thread per process, as
        # the engine's throughput comes from processes (a second thread saved 20 % of a face's
        # time for 60 % more CPU, measured).
        self._threads = ThreadpoolController()

    def _convolution_read(self, *, reader: DlibReader, index: int, plan: list) -> Convolution:
        channels, filters, size, stride = plan[index]
        return convolution_read(reader=reader, index=index, count=len(plan), channels=channels,
                                expected=(filters, size, stride),
                                affine=partial(_affine_read, reader=reader, index=index))

    def descriptors(self, *, chips: np.ndarray) -> np.ndarray:
        """(n, 150, 150, 3) RGB uint8 chips to (n, 128) float32 descriptors, not normalised."""
        if chips.ndim != 4 or chips.shape[1:] != (self.chip_size, self.chip_size, 3):
            raise ValueError(f"chips must be (n, {self.chip_size}, {self.chip_size}, 3), "
                             f"not {chips.shape}")
        if not len(chips):
            return np.zeros((0, self.size), dtype=np.float32)
        with self._threads.limit(limits=1, user_api="blas"):
            # One chip at a time: its activations stay in the cache (a batch of 25 took 1.5 ×
            # as long a face, measured).
            return np.stack([self._forward(chip=chip) for chip in chips])

    def _forward(self, *, chip: np.ndarray) -> np.ndarray:
        layers = iter(self._convolutions)
        x = (chip.astype(np.float32) - self.channel_means) / np.float32(256)
        x = _max_pool(np.maximum(convolved(x, next(layers)), 0), size=3, stride=2)
        for stage, (_, blocks) in enumerate(STAGES):
            for block in range(blocks):
                halves = stage > 0 and block == 0
                y = convolved(np.maximum(convolved(x, next(layers)), 0), next(layers))
                x = np.maximum(_sum_padded(y, _average_pool(x) if halves else x), 0)
        return x.mean(axis=(0, 1)) @ self._projection


def _affine_read(*, reader: DlibReader, index: int, filters: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``affine_`` layer after convolution ``index``: its gammas, then its betas."""
    if not reader.seek(_AFFINE):
        raise reader.fail(f"convolution {index} has no affine layer after it")
    affine = reader.tensor()
    if affine.size != 2 * filters:
        raise reader.fail(f"affine layer {index} has {affine.size} values, not {2 * filters}")
    return affine[:filters], affine[filters:]


def _layer_plan() -> list[tuple[int, int, int, int]]:
    """(channels in, channels out, size, stride) of each convolution, from the input up."""
    plan, channels = [(3, 32, 7, 2)], 32
    for stage, (width, blocks) in enumerate(STAGES):
        for block in range(blocks):
            plan += [(channels, width, 3, 2 if stage > 0 and block == 0 else 1), (width, width, 3, 1)]
            channels = width
    return plan


def _max_pool(x: np.ndarray, *, size: int, stride: int) -> np.ndarray:
    return sliding_window_view(x, (size, size), axis=(0, 1))[::stride, ::stride].max(axis=(-2, -1))


def _average_pool(x: np.ndarray) -> np.ndarray:
    return sliding_window_view(x, (2, 2), axis=(0, 1))[::2, ::2].mean(axis=(-2, -1))


def _sum_padded(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # dlib adds a block's output to its shortcut over the larger of the two shapes, as if the
    # smaller were padded with zeros: more channels after a stage's first block, and one more
    # row and column where an odd size is halved (8 × 8 gives 3 × 3 by convolution, 4 × 4 by
    # pooling).
    total = np.zeros(tuple(max(i, j) for i, j in zip(a.shape, b.shape)), dtype=np.float32)
    total[:a.shape[0], :a.shape[1], :a.shape[2]] += a
    total[:b.shape[0], :b.shape[1], :b.shape[2]] += b
    return total
