"""Detection for `import_images`: in this process, or in worker processes that each load the model once.

Workers only decode, detect and embed (the slow, CPU-bound part); the parent writes every picture
through `image_ingest`, so the gates, provenance checks, dedup and audit are the single-process
ones. This module imports no model at load time: a spawned worker imports it before Django is set
up, and sets Django up in `_worker_start`.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
from concurrent.futures import Future, ProcessPoolExecutor


from portal.faces.engine import DetectionResult, face_engine
from portal.faces.errors import FaceEngineError
from portal.faces.imaging import thumbnail_rgb

NO_FACE = "No face was found in the picture, so there is nothing to add to the gallery."


@dataclasses.dataclass(frozen=True)
class Detected:
    """A picture's lean detection, or why there is none (a message for the report)."""

    detection: DetectionResult | None
    problem: str = ""


def cores_available() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not every platform has affinity
        return os.cpu_count() or 1


def picture_detect(data: bytes) -> Detected:
    """Never raises for a bad picture: one picture's failure must not stop the others."""
    try:
        detection = face_engine().faces_detect(data=data)
    except FaceEngineError as error:
        return Detected(detection=None, problem=error.message)
    except MemoryError:
        return Detected(detection=None, problem="The picture needs more memory than this process has.")
    if not detection.faces:
        return Detected(detection=None, problem=NO_FACE)
    return Detected(detection=detection_lean(detection))


def detection_lean(detection: DetectionResult) -> DetectionResult:
    # Ingest needs only the faces, the picture's size, format and GPS, and pixels enough for its
    # thumbnail: keeping only those keeps a batch from holding N full-size pictures in memory (or
    # in a worker's pipe).
    image = dataclasses.replace(detection.image, rgb=thumbnail_rgb(rgb=detection.image.rgb))
    return dataclasses.replace(detection, image=image)


class DetectionPool:
    """`workers` processes (spawned: no copy of the parent's connections or threads), each with
    its own engine, loaded once when it starts. They start with the first picture to detect, so
    a re-run that finds everything already there starts none."""

    def __init__(self, *, workers: int) -> None:
        self._workers = workers
        self._executor: ProcessPoolExecutor | None = None

    def submit(self, data: bytes) -> Future:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self._workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_start,
            )
        return self._executor.submit(picture_detect, data)

    def close(self, *, cancel: bool = False) -> None:
        # Waits for the pictures being detected (a few seconds at most): no worker outlives the command.
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=cancel)


def _worker_start() -> None:
    # Ctrl-C reaches every process of the terminal's group; the parent alone decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The workers are as many processes as cores: a second HOG thread in each would only contend.
    os.environ["FACE_HOG_THREADS"] = "1"
    import django

    django.setup()
    face_engine()
