"""dlib's HOG face detector, its scale pyramid scanned in two halves at once.

dlib's frontal face detector (five HOG filters over an 80 × 80 window) scans a pyramid: the
picture upsampled ``upsample`` times, then levels each 5/6 the side of the one above, down to
64 pixels. Computing each level's HOG features is most of the cost (about 160 of 225 ms on a
1,024-pixel picture, measured; the five filters take the rest), and the dlib-bin wheel does it
in one thread. Its Python interface cannot split one scan, but the detector's own serialised
form says how many levels a scan computes (``max_pyramid_levels``), so the scan is cut in two:

- the top half is the same detector limited to the pyramid's first two levels: the upsampled
  picture and 5/6 of it (1.69 units of area, the upsampled picture being one);
- the lower half is the whole detector, not upsampled, on the picture resized to the third
  level's size (bilinear, as dlib upsamples): its own pyramid is the third level and every one
  below it (1.57 units).

The lower half runs in a thread of its own while the top half runs in the caller's (dlib
releases the GIL while it scans), and their detections are merged as dlib merges one scan's:
best score first, dropping a box that overlaps one already kept by dlib's rule, with the
thresholds read from the detector. The scales are the same as one scan's; the third level is
resampled in one step rather than by dlib's chain (doubling, then 5/6 twice), so a box moves by
a pixel at most and a score by up to 0.14 of scores reaching 3.1 (tests/faces/test_hog.py, the 22
test pictures). With one thread both halves run in turn, with the same result. Asked for no
halves, it runs dlib's one scan: the previous way, which the benchmark compares against.
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from portal.faces.boxes import boxes_overlap
from portal.faces.dlib_files import DlibReader

# Two levels in the top half balances the halves: 1.69 against 1.57 units of area.
TOP_LEVELS = 2
_OBJECT_DETECTOR_VERSION, _SCANNER_VERSION = 2, 1
_CELL_SIZE, _WINDOW = 8, 80
_LEVEL_RATIO = 5 / 6  # dlib's pyramid_down<6>, which its HOG scanner uses


@dataclass(frozen=True)
class _Layout:
    """Where a serialised detector keeps its level count, and its box overlap thresholds."""

    levels_span: tuple[int, int]
    overlap_iou: float
    overlap_covered: float


def detector_layout(*, data: bytes) -> _Layout:
    """Reads what dlib's object detector serialisation puts before its filters: its format
    version, then the scanner's (version, feature extractor, an empty feature pyramid, cell size,
    padding, window width and height, maximum and minimum levels, regularisation strength,
    dimensions), then the box overlap test (the two thresholds), then the filter count."""
    reader = DlibReader(data=data, source="dlib's frontal face detector", expected="a HOG detector")
    if (reader.integer(), reader.integer()) != (_OBJECT_DETECTOR_VERSION, _SCANNER_VERSION):
        raise reader.fail("its format version is not the one read here")
    for _skipped in ("feature extractor", "feature pyramid (empty)"):
        reader.integer()
    cell, _padding, width, height = (reader.integer() for _ in range(4))
    if (cell, width, height) != (_CELL_SIZE, _WINDOW, _WINDOW):
        raise reader.fail(f"its cells are {cell} pixels and its window {width} × {height}")
    start = reader.position
    levels = reader.integer()
    span = (start, reader.position)
    if levels <= TOP_LEVELS:
        raise reader.fail(f"it scans {levels} levels")
    _smallest_width, _smallest_height, _strength, _dimensions = (
        reader.integer(), reader.integer(), reader.real(), reader.integer())
    overlap_iou, overlap_covered = reader.real(), reader.real()
    if not (0 < overlap_iou < 1 and 0 < overlap_covered <= 1) or reader.integer() < 1:
        raise reader.fail("its overlap thresholds or filter count are out of range")
    return _Layout(levels_span=span, overlap_iou=overlap_iou, overlap_covered=overlap_covered)


class PyramidHog:
    """Finds faces with ``detector`` (dlib's frontal face detector) in two halves at once, or in
    dlib's one scan when ``halves`` is false."""

    def __init__(self, *, detector: Any, upsample: int, threads: int, halves: bool = True) -> None:
        import dlib

        self._whole, self._upsample, self._threads, self._halves = detector, upsample, threads, halves
        with tempfile.TemporaryDirectory() as folder:
            whole, top = Path(folder) / "whole.svm", Path(folder) / "top.svm"
            detector.save(str(whole))
            data = whole.read_bytes()
            self.layout = detector_layout(data=data)
            start, end = self.layout.levels_span
            top.write_bytes(data[:start] + bytes([1, TOP_LEVELS]) + data[end:])
            self._top = dlib.fhog_object_detector(str(top))
        self._level_down, self._upsampling = dlib.pyramid_down(6), dlib.pyramid_down(2)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0

    def detect(self, *, picture: np.ndarray) -> list[tuple[Any, float]]:
        """dlib rectangles in ``picture``'s coordinates, with their scores, best first."""
        if not self._halves:
            rects, scores, _ = self._whole.run(picture, self._upsample)
            return list(zip(rects, scores))
        if self._threads > 1:
            lower = self._executor().submit(self._lower_half, picture=picture)
            found = self._top_half(picture=picture) + lower.result()
        else:
            found = self._top_half(picture=picture) + self._lower_half(picture=picture)
        return self._merged(found=found)

    def _top_half(self, *, picture: np.ndarray) -> list[tuple[Any, float]]:
        rects, scores, _ = self._top.run(picture, self._upsample)
        return list(zip(rects, scores))

    def _lower_half(self, *, picture: np.ndarray) -> list[tuple[Any, float]]:
        # The third level's side: the picture's, doubled per upsampling, then 5/6 of it twice.
        height, width = picture.shape[:2]
        side = 2 ** self._upsample * _LEVEL_RATIO ** TOP_LEVELS
        size = (round(width * side), round(height * side))
        if min(size) < _WINDOW:
            return []  # no face fits the window at this level or below
        rects, scores, _ = self._whole.run(cv2.resize(picture, size, interpolation=cv2.INTER_LINEAR), 0)
        found = []
        for rect, score in zip(rects, scores):
            rect = self._level_down.rect_up(rect, TOP_LEVELS)
            if self._upsample:
                rect = self._upsampling.rect_down(rect, self._upsample)
            found.append((rect, score))
        return found

    def _merged(self, *, found: list[tuple[Any, float]]) -> list[tuple[Any, float]]:
        kept: list[tuple[Any, float]] = []
        ordered = sorted(found, key=lambda item: (-item[1], item[0].left(), item[0].top()))
        for rect, score in ordered:
            if not any(boxes_overlap(rect, other, iou=self.layout.overlap_iou, covered=self.layout.overlap_covered)
                       for other, _score in kept):
                kept.append((rect, score))
        return kept

    def _executor(self) -> ThreadPoolExecutor:
        # A forked process (a preloading web server's workers) inherits no thread: it makes its own.
        if self._pool is None or self._pool_pid != os.getpid():
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hog-lower-half")
            self._pool_pid = os.getpid()
        return self._pool
