"""Face detection and embedding with deepface (model Dlib, detector dlib).

One ``FaceEngine`` per process, obtained through ``face_engine()``: the dlib models are built
once (about 0.4 s, measured) and reused by every call. The Dlib model's network itself runs
on numpy's BLAS (``portal/faces/descriptor.py``), about 4.5 times faster than in dlib-bin.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from portal.faces.alignment import face_aligned
from portal.faces.descriptor import FaceDescriptor
from portal.faces.errors import FaceEngineError, NoFaceFound
from portal.faces.hog import PyramidHog
from portal.faces.imaging import DecodedImage, crop_jpeg, image_decode, image_scaled
from portal.faces.mmod import MmodDetector
from portal.faces.weights import CNN_DETECTOR_FILE, weights_install, weights_source_dir
from django.utils.translation import gettext as _

ENGINE_NAME = "deepface"
DESCRIPTORS = ("numpy", "dlib")
CNN_NETWORKS = ("numpy", "dlib")
HOG_SCANS = ("halves", "whole")
RECOGNITION_WEIGHTS = "dlib_face_recognition_resnet_model_v1.dat"


def _default_deepface_home() -> str:
    cache_root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(cache_root) / "portal-faces")


@dataclass(frozen=True)
class EngineConfig:
    model_name: str = "Dlib"
    detector: str = "dlib"
    # Measured on the 2-core machine over the 22 test pictures: 1024 gives a mean of 0.20 s
    # (max 0.39 s) per picture and the widest same/different-person gap; 800 is faster but
    # scores the known false detection 0.60, within reach of real faces.
    detect_max_side: int = 1024
    # dlib HOG scores as deepface reports them (clamped to 0..1). At detect_max_side 1024 the
    # weakest real face scores 0.73 and the known false detection 0.27; the score of a
    # detection moves with the scale, so re-measure both if detect_max_side changes.
    min_confidence: float = 0.5
    # HOG upsamples the scaled copy once (as deepface does), finding faces from about 40 px at
    # detect_max_side; it is 184 of the 300 ms of CPU a picture takes. Without upsampling it
    # takes 45 ms and still finds every test face, but the landmarks of the coarser boxes moved
    # the embeddings enough for two different people to score 0.91 (test_engine.py), a lead.
    hog_upsample: int = 1
    # "halves": HOG's scale pyramid scanned in two halves (portal/faces/hog.py); "whole": dlib's
    # one scan, as before, the reference the benchmark compares against. With hog_threads 2 the
    # lower half runs in a thread of its own, 0.53 to 0.55 times the wall time of one scan on the
    # 22 test pictures (measured); 1 runs them in turn, for processes as many as there are cores.
    hog_scan: str = "halves"
    hog_threads: int = 2
    # When HOG finds no face, dlib's CNN (MMOD) detector runs once more: it finds tilted and
    # turned faces HOG misses, at about ten times HOG's cost, so only on misses. Measured on the
    # 2-core machine: 800 px without upsampling takes about 2 s a picture (1024 px: 4-5 s;
    # upsampling once: 11 s), and finds faces from about 80 px wide at that scale.
    cnn_fallback: bool = True
    cnn_max_side: int = 800
    cnn_upsample: int = 0
    # The CNN's scores are not HOG's: real faces score about 1.0-1.1, clamped to 1 here.
    cnn_min_confidence: float = 0.5
    # What runs the CNN: "numpy", its network on numpy's BLAS (portal/faces/mmod.py: about 0.3 s
    # for 800 px instead of 2.5), or "dlib", dlib-bin's own, the reference; the same detections.
    # Upsampling (cnn_upsample above 0) always runs dlib's, which upsamples the picture itself.
    cnn_network: str = "numpy"
    # What computes the 128 numbers of a face from its aligned chip: "numpy", dlib's network run
    # on numpy's BLAS (portal/faces/descriptor.py: about 12 ms a face on the 2-core machine), or
    # "dlib", the same network in the dlib-bin wheel, which has no BLAS (about 80 ms). They
    # give the same vectors to within float rounding; "dlib" is the reference the benchmark
    # and the tests compare against.
    descriptor: str = "numpy"
    deepface_home: str = field(default_factory=_default_deepface_home)
    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000

    def __post_init__(self) -> None:
        if self.hog_scan not in HOG_SCANS:
            raise ValueError(f"hog_scan must be one of {HOG_SCANS}, not {self.hog_scan!r}.")
        if self.hog_threads not in (1, 2):
            raise ValueError(f"hog_threads must be 1 or 2, not {self.hog_threads!r}.")
        if self.descriptor not in DESCRIPTORS:
            raise ValueError(f"descriptor must be one of {DESCRIPTORS}, not {self.descriptor!r}.")
        if self.cnn_network not in CNN_NETWORKS:
            raise ValueError(f"cnn_network must be one of {CNN_NETWORKS}, not {self.cnn_network!r}.")

    @classmethod
    def from_settings(cls) -> EngineConfig:
        overrides: dict[str, Any] = {}
        try:
            from django.conf import settings
        except ImportError:
            settings = None
        if settings is not None and settings.configured:
            overrides = dict(getattr(settings, "FACE_ENGINE", None) or {})
        known = {config_field.name for config_field in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(
                f"FACE_ENGINE has unknown keys {unknown}; known keys are {sorted(known)}."
            )
        return cls(**overrides)


# dlib's MMOD model scans an 80 × 80 window: without upsampling it finds no smaller face.
_CNN_SMALLEST_FACE = 80

DETECTOR_HOG = "hog"
DETECTOR_CNN = "cnn"


@dataclass(frozen=True)
class DetectedFace:
    embedding: np.ndarray
    box: tuple[int, int, int, int]
    confidence: float
    crop: bytes
    # Which dlib detector found it: "hog", or "cnn" when HOG found no face in the picture.
    detector: str = DETECTOR_HOG


@dataclass(frozen=True)
class DetectionResult:
    image: DecodedImage
    faces: tuple[DetectedFace, ...]
    engine: str

    def largest(self) -> DetectedFace:
        if not self.faces:
            raise NoFaceFound(
                _("No face was found in the picture. Use a photo where the face is clearly "
                "visible, facing the camera and at least about 80 pixels wide.")
            )
        return self.faces[0]


class FaceEngine:
    name = ENGINE_NAME

    def __init__(self, *, config: EngineConfig) -> None:
        self.config = config
        self.version = metadata.version("deepface")
        self.engine = f"{self.name}-{self.version}/{config.model_name}/{config.detector}"

        weights_dir = weights_install(home=config.deepface_home)
        # deepface reads DEEPFACE_HOME whenever it looks for a weight file, and creates the
        # folder at import time, so this must be set before it is imported.
        os.environ["DEEPFACE_HOME"] = str(config.deepface_home)

        from deepface.models.Detector import FacialAreaRegion
        from deepface.modules import modeling, preprocessing

        self._facial_area_region = FacialAreaRegion
        self._face_resize = preprocessing.resize_image
        started = time.perf_counter()
        # The vectors are deepface's Dlib model's either way, so the engine's name stays.
        self.recognizer: Any = None
        self._descriptor: FaceDescriptor | None = None
        if config.descriptor == "dlib":
            self.recognizer = modeling.build_model(
                task="facial_recognition", model_name=config.model_name
            )
            self._chip_size = self.recognizer.input_shape
        else:
            self._descriptor = FaceDescriptor(path=weights_dir / RECOGNITION_WEIGHTS)
            self._chip_size = (self._descriptor.chip_size, self._descriptor.chip_size)
        self.detector = modeling.build_model(task="face_detector", model_name=config.detector)
        self._hog = PyramidHog(detector=self.detector.model["face_detector"], upsample=config.hog_upsample,
                               threads=config.hog_threads, halves=config.hog_scan == "halves")
        self.load_seconds = time.perf_counter() - started
        # dlib's detector is not documented as safe to share between threads, so calls are
        # serialised per process; throughput comes from running more worker processes.
        self._lock = threading.Lock()
        self._cnn: Any = None

    def faces_detect(self, *, data: bytes) -> DetectionResult:
        image = image_decode(
            data=data, max_bytes=self.config.max_bytes, max_pixels=self.config.max_pixels
        )
        try:
            with self._lock:
                found = self._faces_find(image=image)
        except (FaceEngineError, MemoryError):
            raise
        except Exception as err:
            raise FaceEngineError(
                _("The face engine (%(engine)s) failed on this picture: %(kind)s: %(err)s") % {"engine": self.engine, "kind": type(err).__name__, "err": err}
            ) from err

        faces = [
            DetectedFace(
                embedding=embedding,
                box=box,
                confidence=confidence,
                crop=crop_jpeg(rgb=image.rgb, box=box),
                detector=detector,
            )
            for box, confidence, embedding, detector in found
        ]
        faces.sort(key=lambda face: face.box[2] * face.box[3], reverse=True)
        return DetectionResult(image=image, faces=tuple(faces), engine=self.engine)

    def _faces_find(
        self, *, image: DecodedImage
    ) -> list[tuple[tuple[int, int, int, int], float, np.ndarray, str]]:
        # This is what DeepFace.represent(align=True) does, with two changes that keep the
        # timing targets: the detector runs on a scaled-down copy and without the black border
        # deepface adds around the whole picture (dlib upsamples twice more on top of that, so
        # the border quadruples the work; the alignment pads around each face by itself), and
        # the alignment rotates only the pixels it keeps (portal/faces/alignment.py). Faces are
        # aligned and embedded from the full-resolution picture, so embeddings do not depend on
        # detect_max_side.
        detector = DETECTOR_HOG
        kept, scale = self._regions_hog(image=image)
        if not kept and self.config.cnn_fallback:
            detector = DETECTOR_CNN
            kept, scale = self._regions_cnn(image=image)
        if not kept:
            return []

        batch = []
        for region, box, _confidence in kept:
            # The eyes always come from the landmark model here, so deepface's fall-back eye finder
            # is never needed. RGB as is: the rotation moves the channels together.
            aligned = face_aligned(rgb=image.rgb, box=box,
                                   left_eye=_point_to_original(point=region.left_eye, scale=scale),
                                   right_eye=_point_to_original(point=region.right_eye, scale=scale))
            face_bgr = np.ascontiguousarray(aligned[:, :, ::-1], dtype=np.float32) / 255.0
            target_height, target_width = self._chip_size
            batch.append(self._face_resize(img=face_bgr, target_size=(target_width, target_height)))

        vectors = self._descriptors(batch=np.concatenate(batch, axis=0))

        found = []
        for (_region, box, confidence), vector in zip(kept, vectors):
            embedding = _embedding_normalised(values=vector)
            if embedding is not None:
                found.append((box, confidence, embedding, detector))
        return found

    def _descriptors(self, *, batch: np.ndarray) -> Any:
        if self._descriptor is None:
            vectors = self.recognizer.forward(batch)
            return [vectors] if len(batch) == 1 else vectors
        # What deepface's Dlib model does to the batch before dlib sees it: BGR floats in
        # [0, 1] to RGB bytes, truncated.
        chips = batch[:, :, :, ::-1]
        if chips.max() <= 1:
            chips = chips * 255
        return self._descriptor.descriptors(chips=chips.astype(np.uint8))

    def _regions_hog(self, *, image: DecodedImage) -> tuple[list[tuple[Any, tuple, float]], float]:
        scaled, scale = image_scaled(image=image, max_side=self.config.detect_max_side)
        bgr = np.ascontiguousarray(scaled[:, :, ::-1])
        del scaled
        regions = [self._region_from_rect(picture=bgr, rect=rect, confidence=score)
                   for rect, score in self._hog.detect(picture=bgr)]
        return self._regions_kept(
            regions=regions, scale=scale, image=image, floor=self.config.min_confidence
        ), scale

    def _region_from_rect(self, *, picture: np.ndarray, rect: Any, confidence: float) -> Any:
        # What deepface's dlib detector returns, so both detectors share alignment and embedding:
        # the eyes come from the same 5-point landmark model, run on the detector's box.
        shape = self.detector.model["sp"](picture, rect)
        left, top = max(0, rect.left()), max(0, rect.top())
        return self._facial_area_region(
            x=left,
            y=top,
            w=min(rect.right(), picture.shape[1]) - left,
            h=min(rect.bottom(), picture.shape[0]) - top,
            left_eye=((shape.part(0).x + shape.part(1).x) // 2, (shape.part(0).y + shape.part(1).y) // 2),
            right_eye=((shape.part(2).x + shape.part(3).x) // 2, (shape.part(2).y + shape.part(3).y) // 2),
            confidence=min(max(0.0, float(confidence)), 1.0),
        )

    def _regions_cnn(self, *, image: DecodedImage) -> tuple[list[tuple[Any, tuple, float]], float]:
        scaled, scale = image_scaled(image=image, max_side=self.config.cnn_max_side)
        if min(scaled.shape[:2]) * 2 ** self.config.cnn_upsample < _CNN_SMALLEST_FACE:
            return [], scale  # smaller than any face the CNN finds (and than its layers accept)
        scaled = np.ascontiguousarray(scaled)
        regions = [self._region_from_rect(picture=scaled, rect=found.rect, confidence=found.confidence)
                   for found in self._cnn_detector()(scaled)]
        del scaled
        return self._regions_kept(
            regions=regions, scale=scale, image=image, floor=self.config.cnn_min_confidence
        ), scale

    def _regions_kept(
        self, *, regions: list, scale: float, image: DecodedImage, floor: float
    ) -> list[tuple[Any, tuple[int, int, int, int], float]]:
        kept = []
        for region in regions:
            confidence = float(region.confidence or 0.0)
            if confidence < floor:
                continue
            box = _box_to_original(
                area=region, scale=scale, width=image.width, height=image.height
            )
            if box is None:
                continue
            kept.append((region, box, confidence))
        return kept

    def _cnn_detector(self) -> Any:
        # Loaded on the first miss only (called under self._lock): most processes never need it.
        # What it returns finds the faces of a picture, each with its dlib rectangle and score.
        if self._cnn is None:
            path = weights_source_dir() / CNN_DETECTOR_FILE
            if self.config.cnn_network == "numpy" and self.config.cnn_upsample == 0:
                self._cnn = MmodDetector(path=path).detect
            else:
                import dlib

                network, upsample = dlib.cnn_face_detection_model_v1(str(path)), self.config.cnn_upsample
                self._cnn = lambda picture: network(picture, upsample)
        return self._cnn


def _box_to_original(
    *, area: Any, scale: float, width: int, height: int
) -> tuple[int, int, int, int] | None:
    left = max(0, int(round(area.x / scale)))
    top = max(0, int(round(area.y / scale)))
    right = min(width, int(round((area.x + area.w) / scale)))
    bottom = min(height, int(round((area.y + area.h) / scale)))
    if right - left < 1 or bottom - top < 1:
        return None
    return (left, top, right - left, bottom - top)


def _point_to_original(*, point: Any, scale: float) -> tuple[int, int] | None:
    if point is None:
        return None
    return (int(round(point[0] / scale)), int(round(point[1] / scale)))


def _embedding_normalised(*, values: Any) -> np.ndarray | None:
    embedding = np.asarray(values, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(embedding))
    if not np.isfinite(norm) or norm == 0.0:
        return None
    embedding = embedding / np.float32(norm)
    embedding.flags.writeable = False
    return embedding


_engine: FaceEngine | None = None
_engine_lock = threading.Lock()


def face_engine_forget() -> None:
    """The next face_engine() builds a new engine from the settings (benchmarks that compare them)."""
    global _engine
    with _engine_lock:
        _engine = None


def face_engine() -> FaceEngine:
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = FaceEngine(config=EngineConfig.from_settings())
    return _engine
