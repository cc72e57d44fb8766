"""dlib's convolutions as im2col and one matrix product on numpy's BLAS, for the two networks the
engine runs itself (portal/faces/descriptor.py, portal/faces/mmod.py).

Activations are (rows, columns, channels). Each output position's window is read as (row,
column, channel), channels innermost, so the im2col matrix is copied from runs of contiguous
channels, and built a block of output rows at a time, small enough to stay in the cache: for the
descriptor 7.4 of a face's 18.4 ms went to the copy with the channels outermost (measured), and
for the CNN detector's first layer 128 rows a block took 1.5 times as long as 8.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

# Output positions per matrix product.
BLOCK_POSITIONS = 4096


@dataclass(frozen=True)
class Convolution:
    weights: np.ndarray  # (size x size x channels in, filters): rows in window order, channels last
    bias: np.ndarray  # (filters,)
    size: int
    stride: int
    padding: int


def convolution_from_dlib(*, values: np.ndarray, channels: int, filters: int, size: int, stride: int,
                          padding: int, gamma: np.ndarray | None = None, beta: np.ndarray | None = None
                          ) -> Convolution:
    """A ``con_`` layer from its dlib tensor (weights in (filter, channel, row, column) order,
    then one bias per filter), with the affine layer after it (gamma, beta) folded in."""
    count = filters * channels * size * size
    weights = values[:count].reshape(filters, channels, size, size).transpose(2, 3, 1, 0).reshape(-1, filters)
    bias = values[count:count + filters]
    if gamma is not None:
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
