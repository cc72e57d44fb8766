"""A face turned upright on the line of its eyes, as deepface's ``extract_face`` turns it.

deepface takes the face's box with half its size again on every side (black beyond the picture),
rotates that whole square about its centre so the eyes lie level (bicubic), and keeps the box's
size around the box's rotated centre: a quarter of the pixels it rotated. Here only those are
computed, by the same rotation moved by the kept region's corner, from the same square and with
deepface's own helpers for the square and the region. For a face 940 pixels wide in a picture of
16 million pixels that is 25 ms instead of 90 (measured); the pixels equal deepface's to within
the rounding of the rotation's fixed-point coordinates (tests/faces/test_alignment.py).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np


def face_aligned(*, rgb: np.ndarray, box: tuple[int, int, int, int], left_eye: Any, right_eye: Any) -> np.ndarray:
    """The face in ``box`` (x, y, w, h in ``rgb``'s pixels), rotated so the eyes are level."""
    from deepface.modules.detection import extract_sub_image, project_facial_area

    x, y, w, h = box
    # The box clipped to the picture, as extract_face clips it.
    w = max(0, min(rgb.shape[1], x + w) - max(0, x))
    h = max(0, min(rgb.shape[0], y + h) - max(0, y))
    x, y = max(0, x), max(0, y)
    square, inner_x, inner_y = extract_sub_image(img=rgb, facial_area=(x, y, w, h))
    if left_eye is None or right_eye is None or 0 in square.shape[:2]:
        return square[inner_y:inner_y + h, inner_x:inner_x + w]

    angle = float(np.degrees(np.arctan2(left_eye[1] - right_eye[1], left_eye[0] - right_eye[0])))
    height, width = square.shape[:2]
    rotation = cv2.getRotationMatrix2D((width // 2, height // 2), angle, 1.0)
    left, top, right, bottom = project_facial_area(
        facial_area=(inner_x, inner_y, inner_x + w, inner_y + h), angle=angle, size=(height, width))
    if right <= left or bottom <= top:
        return square[0:0, 0:0]
    rotation[:, 2] -= (left, top)
    return cv2.warpAffine(square, rotation, (right - left, bottom - top), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
