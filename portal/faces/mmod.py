"""dlib's CNN face detector (MMOD), run with numpy's BLAS.

The engine's fallback when HOG finds no face is dlib's ``mmod_human_face_detector.dat``. The
pinned ``dlib-bin`` wheel runs its network on dlib's own matrix code, without a BLAS: about 2.5 s
for an 800-px picture on the 2-core machine. Here the same network, with the same weights read
from the same file, runs as im2col and matrix products on the OpenBLAS numpy ships, one thread:
about a tenth of that. The detections equal dlib's: the same boxes, scores within float rounding
(``tests/faces/test_mmod.py`` compares them on every real picture), so the fallback finds what it
found before.

What dlib does, reproduced step by step:

- the picture, less the channel means and over 256, is the top of a *tiled pyramid*: one image
  holding the picture and its copies each 5/6 the side of the one before, down to 5 rows, laid
  out in a column and then back up the right side (``_tiled_levels``); each copy is a bilinear
  resize, corner to corner, of the one before it;
- the network: three 5 x 5 convolutions of stride 2 (16, 32, 32 filters), three of stride 1
  (45 filters), each followed by an affine layer (a batch normalisation frozen at training, read
  as such from the file and folded into its convolution) and a ReLU, then one 9 x 9 convolution
  giving one score per position;
- every position scoring above 0 is mapped back through the convolutions to the tiled image,
  given the detector's window (80 x 80) there, and mapped from its pyramid level to the picture;
- best first, a detection overlapping one already kept (the file's overlap test) is dropped.

Read with ``portal/faces/dlib_files.py``: the loss layer's options (format 1: the window, the
overlap test's thresholds), the input layer's channel means, then each ``con_4`` (weights, then
one bias per filter; filter count, size, strides, paddings) and the ``bn_con2`` after it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from portal.faces.boxes import boxes_overlap
from portal.faces.convolution import Convolution, convolution_read, convolved
from portal.faces.dlib_files import DlibReader

# (filters, size, stride) of each convolution, from the input up.
NETWORK = ((16, 5, 2), (32, 5, 2), (32, 5, 2), (45, 5, 1), (45, 5, 1), (45, 5, 1), (1, 9, 1))
_OPTIONS_VERSION = 1
# dlib's tiled pyramid: 10 pixels between levels, 11 around them (the input layer's defaults,
# which the file's format version does not override), levels down to 5 rows, each 5/6 the last.
_PADDING, _OUTER_PADDING, _SMALLEST_LEVEL, _LEVEL_RATIO = 10, 11, 5, (5, 6)


@dataclass(frozen=True)
class MmodFace:
    """A detection as dlib's ``mmod_rectangle``: ``rect`` (a dlib rectangle) and ``confidence``."""
    rect: Any
    confidence: float


class MmodDetector:
    """Finds faces as ``dlib.cnn_face_detection_model_v1(path)(picture, 0)`` does."""

    def __init__(self, *, path: Path) -> None:
        import dlib

        reader = DlibReader(data=Path(path).read_bytes(), source=Path(path),
                            expected="dlib's MMOD face detector")
        if not reader.seek(b"loss_mmod_") or reader.integer() != _OPTIONS_VERSION:
            raise reader.fail("its options are not in the format read here")
        self.window = (reader.integer(), reader.integer())  # width, height
        for _skipped in ("loss per false alarm", "loss per missed target", "truth match"):
            reader.real()
        self.overlap_iou, self.overlap_covered = reader.real(), reader.real()
        if not reader.seek(b"input_rgb_image_pyramid"):
            raise reader.fail("no image pyramid input layer")
        self.channel_means = np.array([reader.real() for _ in range(3)], dtype=np.float32)
        self._convolutions, channels = [], 3
        for index, expected in enumerate(NETWORK):
            # Each convolution but the last is followed by a batch normalisation.
            last = index == len(NETWORK) - 1
            affine = None if last else partial(_batch_normalisation_read, reader=reader, index=index)
            self._convolutions.append(convolution_read(reader=reader, index=index, count=len(NETWORK),
                                                       channels=channels, expected=expected, affine=affine))
            channels = expected[0]
        if reader.seek(b"con_4"):
            raise reader.fail(f"more than {len(NETWORK)} convolutions")
        self._level_down = dlib.pyramid_down(_LEVEL_RATIO[1])
        self._rectangle = dlib.rectangle
        self._drectangle = dlib.drectangle
        self._threads = ThreadpoolController()

    def detect(self, picture: np.ndarray) -> list[MmodFace]:
        """The faces in ``picture`` (rows x columns x RGB, uint8), best first. A picture narrower
        than the window holds none (dlib's run finds none there from 10 pixels on, and fails below)."""
        if min(picture.shape[:2]) < min(self.window):
            return []
        levels, tiled_shape = _tiled_levels(rows=picture.shape[0], columns=picture.shape[1])
        with self._threads.limit(limits=1, user_api="blas"):
            scores = self._forward(self._tiled(picture=picture, levels=levels, shape=tiled_shape))
        found = [MmodFace(rect=self._picture_box(row=row, column=column, levels=levels),
                          confidence=float(scores[row, column]))
                 for row, column in zip(*np.nonzero(scores > 0))]
        found.sort(key=lambda face: -face.confidence)
        kept: list[MmodFace] = []
        for face in found:
            if not any(boxes_overlap(face.rect, other.rect, iou=self.overlap_iou, covered=self.overlap_covered)
                       for other in kept):
                kept.append(face)
        return kept

    def _tiled(self, *, picture: np.ndarray, levels: list[tuple[int, int, int, int]],
               shape: tuple[int, int]) -> np.ndarray:
        tiled = np.zeros((*shape, 3), dtype=np.float32)
        left, top, right, bottom = levels[0]
        tiled[top:bottom + 1, left:right + 1] = (picture.astype(np.float32) - self.channel_means) / np.float32(256)
        for above, (left, top, right, bottom) in zip(levels, levels[1:]):
            source = tiled[above[1]:above[3] + 1, above[0]:above[2] + 1]
            tiled[top:bottom + 1, left:right + 1] = _resized(source, rows=bottom - top + 1, columns=right - left + 1)
        return tiled

    def _forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self._convolutions[:-1]:
            x = convolved(x, layer)
            np.maximum(x, 0, out=x)
        return _scored(x, self._convolutions[-1])

    def _picture_box(self, *, row: int, column: int, levels: list[tuple[int, int, int, int]]) -> Any:
        # dlib's loss layer: the output position back through each convolution to the tiled
        # image, the detector's window centred there, then from the nearest level to the picture.
        x, y = float(column), float(row)
        for layer in reversed(self._convolutions):
            x = x * layer.stride - layer.padding + layer.size // 2
            y = y * layer.stride - layer.padding + layer.size // 2
        half_width, half_height = (self.window[0] - 1) / 2, (self.window[1] - 1) / 2
        level = _nearest_level(levels=levels, x=x, y=y)
        left, top = levels[level][0], levels[level][1]
        box = self._drectangle(x - half_width - left, y - half_height - top, x + half_width - left,
                               y + half_height - top)
        if level:
            box = self._level_down.rect_up(box, level)
        return self._rectangle(*(_rounded(side) for side in (box.left(), box.top(), box.right(), box.bottom())))


def _batch_normalisation_read(*, reader: DlibReader, index: int, filters: int) -> tuple[np.ndarray, np.ndarray]:
    """The affine layer dlib makes of a ``bn_con2``: gamma / sqrt(running variance + eps), and
    beta less that times the running mean."""
    if not reader.seek(b"bn_con2"):
        raise reader.fail(f"convolution {index} has no batch normalisation after it")
    parameters = reader.tensor()
    for _skipped in range(10):  # the gamma and beta views: a version and four dimensions each
        reader.integer()
    _means, _inverse_deviations, running_means, running_variances = (reader.tensor() for _ in range(4))
    for _skipped in range(2):  # updates counted, running window
        reader.integer()
    for _skipped in range(4):  # learning-rate and weight-decay multipliers
        reader.real()
    epsilon = reader.real()
    if parameters.size != 2 * filters or running_means.size != filters or running_variances.size != filters:
        raise reader.fail(f"batch normalisation {index} does not have {filters} channels")
    gamma = parameters[:filters] / np.sqrt(running_variances + np.float32(epsilon))
    return gamma, parameters[filters:] - gamma * running_means


def _tiled_levels(*, rows: int, columns: int) -> tuple[list[tuple[int, int, int, int]], tuple[int, int]]:
    """(left, top, right, bottom) of each pyramid level in dlib's tiled image, and its shape."""
    sizes = []
    while not sizes or (rows >= _SMALLEST_LEVEL and columns > 0):
        sizes.append((rows, columns))
        rows, columns = (_LEVEL_RATIO[0] * rows) // _LEVEL_RATIO[1], (_LEVEL_RATIO[0] * columns) // _LEVEL_RATIO[1]
    top_rows, width = sizes[0]
    total = sum(level_rows + _PADDING for level_rows, _ in sizes) - 2 * _PADDING
    # Down the first column until the next level fits beside the last one and at least half of
    # what is left of the pyramid would be beside the first level.
    height, previous_width = 0, 0
    for level_rows, level_columns in sizes:
        if level_columns <= width - previous_width - _PADDING and (height - top_rows) * 2 >= total - top_rows:
            break
        height, previous_width = height + level_rows + _PADDING, level_columns
    height -= _PADDING
    levels, y = [], _OUTER_PADDING
    for level_rows, level_columns in sizes:
        if y >= height + _OUTER_PADDING:
            break
        levels.append((_OUTER_PADDING, y, _OUTER_PADDING + level_columns - 1, y + level_rows - 1))
        y += level_rows + _PADDING
    # Then back up the right side, each level's bottom right corner one pixel above the last
    # one's top, until a level would overlap the picture itself.
    y -= _PADDING
    first = levels[0]
    for level_rows, level_columns in sizes[len(levels):]:
        right, bottom = _OUTER_PADDING + width - 1, y - 1
        level = (right - level_columns + 1, bottom - level_rows + 1, right, bottom)
        if level[0] <= first[2] and first[0] <= level[2] and level[1] <= first[3] and first[1] <= level[3]:
            break
        levels.append(level)
        y -= level_rows + _PADDING
    return levels, (height + 2 * _OUTER_PADDING, width + 2 * _OUTER_PADDING)


def _rounded(value: float) -> int:
    # As dlib turns a box of reals into pixels: halves away from zero (a box over the left edge
    # of a level has a side at -12.5, which is -13).
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def _nearest_level(*, levels: list[tuple[int, int, int, int]], x: float, y: float) -> int:
    # dlib's nearest_rect: the first level holding the point, else the closest one.
    column, row = _rounded(x), _rounded(y)
    best, best_distance = 0, math.inf
    for index, (left, top, right, bottom) in enumerate(levels):
        if left <= column <= right and top <= row <= bottom:
            return index
        distance = math.hypot(min(max(x, left), right) - x, min(max(y, top), bottom) - y)
        if distance < best_distance:
            best, best_distance = index, distance
    return best


def _resized(source: np.ndarray, *, rows: int, columns: int) -> np.ndarray:
    """Bilinear, corner to corner (dlib's resize_image): output (r, c) samples the source at
    (r x (source rows - 1) / (rows - 1), c x (source columns - 1) / (columns - 1))."""
    source_rows, source_columns = source.shape[:2]
    ys = np.arange(rows) * ((source_rows - 1) / max(rows - 1, 1))
    xs = np.arange(columns) * ((source_columns - 1) / max(columns - 1, 1))
    top, left = ys.astype(np.int64), xs.astype(np.int64)
    bottom, right = np.minimum(top + 1, source_rows - 1), np.minimum(left + 1, source_columns - 1)
    down = (ys - top).astype(np.float32)[:, None, None]
    across = (xs - left).astype(np.float32)[None, :, None]
    blended = source[top] * (1 - down) + source[bottom] * down
    return blended[:, left] * (1 - across) + blended[:, right] * across


def _scored(x: np.ndarray, layer: Convolution) -> np.ndarray:
    """The last convolution (one filter, stride 1): each position's products with the filter's
    taps in one matrix product, then the taps summed over their shifted positions."""
    if layer.padding:
        x = np.pad(x, ((layer.padding, layer.padding), (layer.padding, layer.padding), (0, 0)))
    size, (padded_rows, padded_columns, channels) = layer.size, x.shape
    rows, columns = padded_rows - size + 1, padded_columns - size + 1
    taps = layer.weights.reshape(size * size, channels).T  # (channels, taps)
    products = (x.reshape(-1, channels) @ taps).reshape(padded_rows, padded_columns, size * size)
    scores = np.full((rows, columns), layer.bias[0], dtype=np.float32)
    for tap in range(size * size):
        dy, dx = divmod(tap, size)
        scores += products[dy:dy + rows, dx:dx + columns, tap]
    return scores
