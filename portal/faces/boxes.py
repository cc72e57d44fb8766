"""dlib's box overlap test, as its detectors apply it to keep one detection of each face."""

from __future__ import annotations

from typing import Any


def boxes_overlap(first: Any, second: Any, *, iou: float, covered: float) -> bool:
    """dlib's test_box_overlap on two dlib rectangles: the shared area over the box bounding
    both above ``iou``, or over either box above ``covered``."""
    shared = first.intersect(second).area()
    if shared == 0:
        return False
    bounding = (min(first.left(), second.left()), min(first.top(), second.top()),
                max(first.right(), second.right()), max(first.bottom(), second.bottom()))
    bounding_area = (bounding[2] - bounding[0] + 1) * (bounding[3] - bounding[1] + 1)
    return shared / bounding_area > iou or shared / first.area() > covered or shared / second.area() > covered
