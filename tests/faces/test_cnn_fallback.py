"""The CNN detector runs when HOG finds no face, and each face says which detector found it."""

import numpy as np
import pytest

from portal.faces.engine import DETECTOR_CNN, DETECTOR_HOG, EngineConfig, FaceEngine
from portal.faces.errors import NoFaceFound
from tests.faces.pictures import BEARDED_SIZE, bearded_tilted_jpeg, scene_without_people_jpeg

# Lead threshold of the search (portal/settings.py SEARCH_MATCH_THRESHOLD), as a similarity.
MATCH_SIMILARITY = 0.90


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DEEPFACE_HOME", raising=False)
        yield str(tmp_path_factory.mktemp("deepface-home"))


@pytest.fixture
def engine(home):
    # A fresh engine per test, so each sees whether the CNN gets loaded.
    return FaceEngine(config=EngineConfig(deepface_home=home))


@pytest.fixture
def cnn_runs(engine):
    """Counts the CNN detector's runs on this engine (the real detector still runs)."""
    runs = []
    original = engine._regions_cnn

    def counted(*, image):
        runs.append((image.width, image.height))
        return original(image=image)

    engine._regions_cnn = counted
    return runs


def test_the_tilted_bearded_face_is_missed_by_hog_and_found_by_the_cnn(engine, home, faces_dir, cnn_runs):
    data = bearded_tilted_jpeg(faces_dir=faces_dir)
    hog_only = FaceEngine(config=EngineConfig(deepface_home=home, cnn_fallback=False))

    assert hog_only.faces_detect(data=data).faces == ()
    result = engine.faces_detect(data=data)

    assert (result.image.width, result.image.height) == BEARDED_SIZE
    assert [face.detector for face in result.faces] == [DETECTOR_CNN]
    assert cnn_runs == [BEARDED_SIZE]
    face = result.faces[0]
    x, y, w, h = face.box
    assert w >= 100 and h >= 100 and x + w <= BEARDED_SIZE[0] and y + h <= BEARDED_SIZE[1]
    assert face.embedding.shape == (128,) and abs(float(np.linalg.norm(face.embedding)) - 1) < 1e-4
    # The CNN's face is embedded like HOG's: it matches the same man in another picture only.
    same = engine.faces_detect(data=(faces_dir / "kit_harington_1.jpg").read_bytes()).largest()
    other = engine.faces_detect(data=(faces_dir / "obama_1.jpg").read_bytes()).largest()
    assert float(face.embedding @ same.embedding) >= MATCH_SIMILARITY
    assert float(face.embedding @ other.embedding) < MATCH_SIMILARITY


def test_a_normal_picture_is_hogs_and_never_loads_the_cnn(engine, faces_dir, cnn_runs):
    result = engine.faces_detect(data=(faces_dir / "group_kit_rose.jpg").read_bytes())

    assert [face.detector for face in result.faces] == [DETECTOR_HOG, DETECTOR_HOG]
    assert cnn_runs == []
    assert engine._cnn is None


def test_a_picture_without_a_face_is_no_face_after_both_detectors(engine, cnn_runs):
    result = engine.faces_detect(data=scene_without_people_jpeg())

    assert result.faces == ()
    assert cnn_runs == [BEARDED_SIZE]
    with pytest.raises(NoFaceFound) as raised:
        result.largest()
    assert raised.value.code == "no_face_found"


def test_the_cnn_is_loaded_once_per_engine_and_only_on_a_miss(engine):
    assert engine._cnn is None
    engine.faces_detect(data=scene_without_people_jpeg(size=(400, 300)))
    loaded = engine._cnn
    engine.faces_detect(data=scene_without_people_jpeg(size=(500, 300)))

    assert loaded is not None and engine._cnn is loaded


def test_the_fallback_can_be_switched_off(home):
    engine = FaceEngine(config=EngineConfig(deepface_home=home, cnn_fallback=False))
    assert engine.faces_detect(data=scene_without_people_jpeg(size=(400, 300))).faces == ()
    assert engine._cnn is None
