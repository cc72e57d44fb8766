"""dlib's convolution layers, read from its files and run as im2col and matrix products on numpy's
BLAS, for the two networks the engine runs itself (portal/faces/descriptor.py, portal/faces/mmod.py).

Activations are (rows, columns, channels). Each output position's window is read as (row,
column, channel), channels innermost, so the im2col matrix is copied from runs of contiguous
channels, and built a block of output rows at a time, small enough to stay in the cache: for the
descriptor 7.4 of a face's 18.4 ms went to the copy with the channels outermost (measured), and
for the CNN detector's first layer 128 rows a block took 1.5 times as long as 8.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from portal.faces.dlib_files import DlibReader

# Output positions per matrix product.
BLOCK_POSITIONS = 4096
_CONVOLUTION = b"con_4"


@dataclass(frozen=True)
class Convolution:
    weights: np.ndarray  # (size x size x channels in, filters): rows in window order, channels last
    bias: np.ndarray  # (filters,)
    size: int
    stride: int
    padding: int


def convolution_read(*, reader: DlibReader, index: int, count: int, channels: int, expected: tuple[int, int, int],
                     affine: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None) -> Convolution:
    """The next ``con_4`` layer in ``reader``, convolution ``index`` of the network's ``count``:
    its tensor (weights in (filter, channel, row, column) order, then one bias per filter), then
    its filter count, size, strides and paddings, which must be ``expected`` (filters, size,
    stride) over ``channels``, square. ``affine(filters=...)`` reads the affine layer that
    follows (gamma, beta), folded in here."""
    if not reader.seek(_CONVOLUTION):
        raise reader.fail(f"{index} convolutions, not {count}")
    values = reader.tensor()
    filters, size, size_x, stride, stride_x, padding, padding_x = (reader.integer() for _ in range(7))
    if (filters, size, stride) != expected or (size_x, stride_x, padding_x) != (size, stride, padding):
        raise reader.fail(f"convolution {index} is {filters} x {size} x {size_x} / {stride}, not "
                          f"{expected[0]} x {expected[1]} / {expected[2]}")
    weight_count = filters * channels * size * size
    if values.size != weight_count + filters:
        raise reader.fail(f"convolution {index} has {values.size} values, not {weight_count + filters}")
    weights = values[:weight_count].reshape(filters, channels, size, size).transpose(2, 3, 1, 0).reshape(-1, filters)
    bias = values[weight_count:]
    if affine is not None:
        gamma, beta = affine(filters=filters)
        weights, bias = weights * gamma, bias * gamma + beta
    return Convolution(weights=np.ascontiguousarray(weights, dtype=np.float32), bias=bias.astype(np.float32),
                       size=size, stride=stride, padding=padding)


def convolved(x: np.ndarray, layer: Convolution) -> np.ndarray:
    """The convolution of ``x`` (rows, columns, channels), bias added, before any activation."""
    if layer.padding:
        x = np.pad(x, ((layer.padding, layer.padding), (layer.padding, layer.padding), (0, 0)))
    x = np.ascontiguousarray(x)
    size, stride, filters = layer.size, layer.stride, layer.weights.shape[1]
    rows, columns = (x.shape[0] - size) // stride + 1, (x.shape[1] - size) // stride + 1
    row_step, column_step, channel_step = x.strides
    windows = as_strided(x, (rows, columns, size, size, x.shape[2]),
                         (row_step * stride, column_step * stride, row_step, column_step, channel_step),
                         writeable=False)
    out = np.empty((rows, columns, filters), dtype=np.float32)
    block = max(1, BLOCK_POSITIONS // columns)
    for start in range(0, rows, block):
        end = min(rows, start + block)
        np.matmul(windows[start:end].reshape((end - start) * columns, -1), layer.weights,
                  out=out[start:end].reshape(-1, filters))
    out += layer.bias
    return out
