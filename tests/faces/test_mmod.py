"""dlib's CNN face detector on numpy's BLAS against dlib's own run of it, on real pictures.

The fallback's detections decide which faces a picture HOG misses yields; the numpy run must
find the same boxes with the same scores, or the fallback would find other faces than before.
"""

import dataclasses
import shutil

import dlib
import numpy as np
import pytest

from portal.faces import mmod as mmod_module
from portal.faces.engine import DETECTOR_CNN, EngineConfig, FaceEngine
from portal.faces.errors import EngineWeightsMissing
from portal.faces.imaging import image_decode, image_scaled
from portal.faces.mmod import MmodDetector
from portal.faces.weights import CNN_DETECTOR_FILE, weights_source_dir
from tests.faces.blas import all_on_one_thread, blas_threads_recorded
from tests.faces.pictures import bearded_tilted_jpeg, enlarged_jpeg, scene_without_people_jpeg

WEIGHTS = weights_source_dir() / CNN_DETECTOR_FILE


@pytest.fixture(scope="module")
def detectors():
    return MmodDetector(path=WEIGHTS), dlib.cnn_face_detection_model_v1(str(WEIGHTS))


def _scaled(data: bytes, *, side: int) -> np.ndarray:
    image = image_decode(data=data, max_bytes=50_000_000, max_pixels=100_000_000)
    return np.ascontiguousarray(image_scaled(image=image, max_side=side)[0])


def _found(detections) -> list[tuple[tuple[int, int, int, int], float]]:
    ordered = sorted(detections, key=lambda found: -found.confidence)
    return [((found.rect.left(), found.rect.top(), found.rect.right(), found.rect.bottom()), found.confidence)
            for found in ordered]


def _assert_same(ours, dlibs) -> None:
    assert [box for box, _ in ours] == [box for box, _ in dlibs]
    assert all(abs(a - b) < 1e-4 for (_, a), (_, b) in zip(ours, dlibs))


def test_every_real_picture_gets_dlibs_detections(detectors, faces_dir, faces_manifest):
    # At 400 px (dlib's own run takes about 0.6 s a picture there; the engine's 800 px, 2.5 s, is
    # covered below): the pictures whose faces shrink below the 80-px window find none, both ways.
    ours_detector, dlib_detector = detectors
    faces_seen = 0
    for row in faces_manifest:
        picture = _scaled((faces_dir / row["file"]).read_bytes(), side=400)
        ours, dlibs = _found(ours_detector.detect(picture)), _found(dlib_detector(picture, 0))
        _assert_same(ours, dlibs)
        faces_seen += len(ours)
    assert faces_seen >= 10


@pytest.mark.parametrize("picture", ["bearded", "scene", "enlarged"])
def test_the_engines_own_scale_gets_dlibs_detections(detectors, faces_dir, picture):
    makers = {"bearded": lambda: bearded_tilted_jpeg(faces_dir=faces_dir), "scene": scene_without_people_jpeg,
              "enlarged": lambda: enlarged_jpeg((faces_dir / "alex_lacamoire_3.png").read_bytes(), long_side=2500)}
    data = makers[picture]()
    scaled = _scaled(data, side=EngineConfig().cnn_max_side)
    ours_detector, dlib_detector = detectors
    ours = _found(ours_detector.detect(scaled))
    _assert_same(ours, _found(dlib_detector(scaled, 0)))
    assert len(ours) == (0 if picture == "scene" else 1)


@pytest.mark.parametrize("shape", [(80, 80), (85, 300), (300, 85), (97, 131), (2000, 80)])
def test_small_and_narrow_pictures_tile_as_dlib_does(detectors, faces_dir, shape):
    # Pyramids of few levels, and levels that wrap back up the right side or do not fit there.
    rows, columns = shape
    face = _scaled((faces_dir / "obama_small.jpg").read_bytes(), side=max(shape))
    picture = np.full((rows, columns, 3), 120, dtype=np.uint8)
    picture[:min(rows, face.shape[0]), :min(columns, face.shape[1])] = face[:rows, :columns]
    ours_detector, dlib_detector = detectors
    _assert_same(_found(ours_detector.detect(picture)), _found(dlib_detector(picture, 0)))


@pytest.mark.parametrize("side", [1, 5, 60, 79])
def test_a_picture_narrower_than_the_window_holds_no_face(detectors, side):
    assert detectors[0].detect(np.full((side, 300, 3), 100, dtype=np.uint8)) == []
    assert detectors[0].detect(np.full((300, side, 3), 100, dtype=np.uint8)) == []


def test_the_engine_finds_the_same_face_with_the_same_embedding_either_way(tmp_path, faces_dir, monkeypatch):
    monkeypatch.delenv("DEEPFACE_HOME", raising=False)
    config = EngineConfig(deepface_home=str(tmp_path))
    data = bearded_tilted_jpeg(faces_dir=faces_dir)
    found = {}
    for network in ("numpy", "dlib"):
        engine = FaceEngine(config=dataclasses.replace(config, cnn_network=network))
        found[network] = engine.faces_detect(data=data).faces
        assert isinstance(getattr(engine._cnn, "__self__", None), MmodDetector) == (network == "numpy")
    (ours,), (dlibs,) = found["numpy"], found["dlib"]
    assert ours.detector == dlibs.detector == DETECTOR_CNN
    assert ours.box == dlibs.box and ours.confidence == pytest.approx(dlibs.confidence, abs=1e-4)
    assert float(ours.embedding @ dlibs.embedding) > 0.99999


def test_upsampling_runs_dlibs_network(tmp_path, monkeypatch):
    monkeypatch.delenv("DEEPFACE_HOME", raising=False)
    engine = FaceEngine(config=EngineConfig(deepface_home=str(tmp_path), cnn_upsample=1, cnn_max_side=200))
    assert engine.faces_detect(data=scene_without_people_jpeg(size=(200, 150))).faces == ()
    assert engine._cnn is not None and not isinstance(getattr(engine._cnn, "__self__", None), MmodDetector)


def test_it_runs_on_one_blas_thread(detectors):
    ours_detector, _ = detectors
    with blas_threads_recorded(ours_detector, "_forward") as seen:
        ours_detector.detect(np.full((120, 160, 3), 90, dtype=np.uint8))
    assert all_on_one_thread(seen)


def test_a_file_that_is_not_the_detector_is_refused_by_name(tmp_path):
    with pytest.raises(EngineWeightsMissing, match="MMOD face detector.*options"):
        MmodDetector(path=weights_source_dir() / "shape_predictor_5_face_landmarks.dat")
    truncated = tmp_path / "truncated.dat"
    truncated.write_bytes(WEIGHTS.read_bytes()[:400_000])
    with pytest.raises(EngineWeightsMissing, match="convolutions, not 7|longer than the file|ends early"):
        MmodDetector(path=truncated)


def test_a_network_of_another_shape_is_refused(tmp_path, monkeypatch):
    copy = tmp_path / "detector.dat"
    shutil.copyfile(WEIGHTS, copy)
    monkeypatch.setattr(mmod_module, "NETWORK", mmod_module.NETWORK[:-1])
    with pytest.raises(EngineWeightsMissing, match="more than 6 convolutions"):
        MmodDetector(path=copy)
    monkeypatch.setattr(mmod_module, "NETWORK", ((16, 5, 2), (32, 3, 2)) + mmod_module.NETWORK[2:])
    with pytest.raises(EngineWeightsMissing, match="convolution 1 is 32 x 5 x 5 / 2, not 32 x 3 / 2"):
        MmodDetector(path=copy)


def test_an_unknown_cnn_network_is_a_configuration_error():
    with pytest.raises(ValueError, match="cnn_network must be one of"):
        EngineConfig(cnn_network="onnx")
