import io
import itertools
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from portal.faces import engine as engine_module
from portal.faces import weights as weights_module
from portal.faces.engine import DetectionResult, EngineConfig, FaceEngine, face_engine
from portal.faces.errors import (
    CorruptImage,
    EngineWeightsMissing,
    FaceEngineError,
    ImageTooLarge,
    NoFaceFound,
    UnsupportedImageType,
)
from portal.faces.weights import WEIGHT_FILES, weights_install

# Measured on the test pictures at the default settings: same person up to 0.086, different
# people from 0.112 (cosine distance).
MATCH_THRESHOLD = 0.10


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    home = tmp_path_factory.mktemp("deepface-home")
    # The engine points DEEPFACE_HOME at its home; put it back for whatever runs next.
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DEEPFACE_HOME", raising=False)
        yield FaceEngine(config=EngineConfig(deepface_home=str(home)))


@pytest.fixture(scope="module")
def detections(engine, faces_dir, faces_manifest) -> dict[str, DetectionResult]:
    return {
        row["file"]: engine.faces_detect(data=(faces_dir / row["file"]).read_bytes())
        for row in faces_manifest
    }


def _cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    return 1.0 - float(np.dot(a, b))


def test_every_picture_yields_its_real_faces(detections, faces_manifest):
    counts = {row["file"]: len(detections[row["file"]].faces) for row in faces_manifest}
    expected = {row["file"]: int(row["real_faces"]) for row in faces_manifest}
    assert counts == expected


def test_false_weak_detection_is_dropped_by_the_floor(engine, faces_dir):
    data = (faces_dir / "group_obama_biden_2.jpg").read_bytes()
    unfiltered = FaceEngine(config=EngineConfig(deepface_home=engine.config.deepface_home, min_confidence=0.0))

    everything = unfiltered.faces_detect(data=data)
    kept = engine.faces_detect(data=data)

    assert len(everything.faces) == 3
    assert len(kept.faces) == 2
    weak = min(everything.faces, key=lambda face: face.confidence)
    assert weak.confidence < engine.config.min_confidence
    assert all(face.confidence >= engine.config.min_confidence for face in kept.faces)


def test_embeddings_are_unit_length_128_float32(detections):
    for result in detections.values():
        for face in result.faces:
            assert face.embedding.shape == (128,)
            assert face.embedding.dtype == np.float32
            assert float(np.linalg.norm(face.embedding)) == pytest.approx(1.0, abs=1e-5)


def test_boxes_lie_inside_the_original_picture(detections):
    for name, result in detections.items():
        for face in result.faces:
            x, y, w, h = face.box
            assert all(isinstance(value, int) for value in face.box), name
            assert w > 0 and h > 0, name
            assert 0 <= x and x + w <= result.image.width, name
            assert 0 <= y and y + h <= result.image.height, name


def test_faces_come_largest_first_with_crops_and_engine_name(detections, engine):
    for result in detections.values():
        areas = [face.box[2] * face.box[3] for face in result.faces]
        assert areas == sorted(areas, reverse=True)
        assert result.engine == engine.engine
        for face in result.faces:
            thumbnail = Image.open(io.BytesIO(face.crop))
            assert thumbnail.format == "JPEG"
            assert thumbnail.size == (160, 160)
    assert engine.engine.startswith("deepface-")
    assert engine.engine.endswith("/Dlib/dlib")
    assert engine.name == "deepface"
    assert engine.version in engine.engine


def _identified_embeddings(detections, faces_manifest):
    # Group pictures list their people left to right, so faces are matched by box position.
    for row in faces_manifest:
        identities = row["identities_left_to_right"].split(";")
        faces = sorted(detections[row["file"]].faces, key=lambda face: face.box[0])
        for identity, face in zip(identities, faces):
            yield f"{row['file']}:{identity}", identity, face.embedding


def test_same_person_is_close_and_different_people_are_far(detections, faces_manifest):
    items = list(_identified_embeddings(detections, faces_manifest))
    same, different = [], []
    for (name_a, who_a, a), (name_b, who_b, b) in itertools.combinations(items, 2):
        pair = (_cosine_distance(a, b), name_a, name_b)
        (same if who_a == who_b else different).append(pair)

    assert max(same)[0] < MATCH_THRESHOLD, max(same)
    assert min(different)[0] > MATCH_THRESHOLD, min(different)


def test_the_person_with_one_picture_matches_nobody(detections, faces_manifest):
    lin = detections["lin_manuel_miranda_1.png"].largest().embedding
    others = [
        embedding
        for name, who, embedding in _identified_embeddings(detections, faces_manifest)
        if who != "lin_manuel_miranda"
    ]
    assert min(_cosine_distance(lin, other) for other in others) > MATCH_THRESHOLD


def test_rgba_png_and_jpeg_of_the_same_picture_agree(detections):
    jpeg = detections["obama_2.jpg"].largest()
    png = detections["obama_2_rgba.png"].largest()
    assert _cosine_distance(jpeg.embedding, png.embedding) < 0.02


@pytest.mark.parametrize("kind", ["gradient", "noise", "flat"])
def test_picture_without_a_face_yields_no_faces(engine, kind):
    rng = np.random.default_rng(7)
    if kind == "gradient":
        row = np.linspace(0, 255, 640, dtype=np.uint8)
        pixels = np.stack([np.tile(row, (480, 1))] * 3, axis=2)
    elif kind == "noise":
        pixels = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    else:
        pixels = np.full((480, 640, 3), 90, dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)

    result = engine.faces_detect(data=buffer.getvalue())

    assert result.faces == ()
    assert result.image.width == 640
    with pytest.raises(NoFaceFound) as raised:
        result.largest()
    assert raised.value.code == "no_face_found"
    assert raised.value.status == 422


def test_tiny_picture_yields_no_faces(engine):
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1), (10, 20, 30)).save(buffer, format="PNG")
    assert engine.faces_detect(data=buffer.getvalue()).faces == ()


def test_input_errors_come_through_as_engine_errors(engine):
    with pytest.raises(CorruptImage):
        engine.faces_detect(data=b"")
    with pytest.raises(UnsupportedImageType):
        engine.faces_detect(data=b"GIF89a" + b"\x00" * 20)
    small = FaceEngine(config=EngineConfig(deepface_home=engine.config.deepface_home, max_bytes=10))
    with pytest.raises(ImageTooLarge):
        small.faces_detect(data=b"\xff\xd8\xff" + b"\x00" * 20)


@pytest.mark.parametrize("half", ["_top", "_whole"])
def test_engine_failures_are_wrapped(engine, faces_dir, monkeypatch, half):
    # Either half of the HOG scan (the lower one runs in a thread of its own).
    class Broken:
        def run(self, _image, _upsample):
            raise RuntimeError("dlib exploded")

    monkeypatch.setattr(engine._hog, half, Broken())
    with pytest.raises(FaceEngineError) as raised:
        engine.faces_detect(data=(faces_dir / "obama_small.jpg").read_bytes())
    assert type(raised.value) is FaceEngineError
    assert "dlib exploded" in str(raised.value)
    assert isinstance(raised.value.__cause__, RuntimeError)


def test_models_are_built_once(engine, faces_dir, monkeypatch):
    from deepface.modules import modeling

    built = []
    original = modeling.get_model_class
    monkeypatch.setattr(
        modeling, "get_model_class", lambda **kwargs: built.append(kwargs) or original(**kwargs)
    )
    detector, recognizer = engine.detector, engine.recognizer
    data = (faces_dir / "obama_small.jpg").read_bytes()

    engine.faces_detect(data=data)
    engine.faces_detect(data=data)
    another = FaceEngine(config=engine.config)

    assert built == []
    assert engine.detector is detector and engine.recognizer is recognizer
    assert another.detector is detector and another.recognizer is recognizer


def test_face_engine_is_one_per_process(monkeypatch, tmp_path):
    monkeypatch.delenv("DEEPFACE_HOME", raising=False)
    monkeypatch.setattr(engine_module, "_engine", None)
    monkeypatch.setattr(
        EngineConfig, "from_settings", classmethod(lambda cls: cls(deepface_home=str(tmp_path)))
    )
    first = face_engine()
    assert face_engine() is first
    assert first.config.deepface_home == str(tmp_path)
    assert os.environ["DEEPFACE_HOME"] == str(tmp_path)


def test_config_defaults_without_django_settings(monkeypatch):
    django_conf = pytest.importorskip("django.conf")
    monkeypatch.setattr(django_conf, "settings", SimpleNamespace(configured=False))

    config = EngineConfig.from_settings()

    assert config == EngineConfig(deepface_home=config.deepface_home)
    assert config.model_name == "Dlib"
    assert config.detector == "dlib"
    assert config.max_bytes == 20 * 1024 * 1024
    assert config.max_pixels == 40_000_000
    assert 0 < config.min_confidence < 1


def test_config_reads_django_settings(monkeypatch):
    django_conf = pytest.importorskip("django.conf")
    fake = SimpleNamespace(
        configured=True, FACE_ENGINE={"detect_max_side": 800, "min_confidence": 0.6}
    )
    monkeypatch.setattr(django_conf, "settings", fake)

    config = EngineConfig.from_settings()
    assert config.detect_max_side == 800
    assert config.min_confidence == 0.6
    assert config.model_name == "Dlib"

    fake.FACE_ENGINE = {"detect_max_sid": 800}
    with pytest.raises(ValueError, match="detect_max_sid"):
        EngineConfig.from_settings()

    del fake.FACE_ENGINE
    assert EngineConfig.from_settings().detect_max_side == EngineConfig().detect_max_side


def test_weights_install_into_an_empty_home(tmp_path):
    target = weights_install(home=tmp_path)

    assert target == tmp_path / ".deepface" / "weights"
    for name in WEIGHT_FILES:
        assert (target / name).is_file()
        assert (target / name).stat().st_size > 1_000_000
    # Idempotent, and it repairs a broken link or a partial file.
    assert weights_install(home=tmp_path) == target
    (target / WEIGHT_FILES[0]).unlink()
    (target / WEIGHT_FILES[0]).write_bytes(b"partial")
    (target / WEIGHT_FILES[1]).unlink()
    os.symlink(tmp_path / "nowhere", target / WEIGHT_FILES[1])
    weights_install(home=tmp_path)
    for name in WEIGHT_FILES:
        assert (target / name).stat().st_size > 1_000_000
    assert sorted(path.name for path in target.iterdir()) == sorted(WEIGHT_FILES)


def test_weights_install_copies_when_links_are_impossible(tmp_path, monkeypatch):
    def no_symlinks(*args, **kwargs):
        raise OSError("symlinks not supported here")

    monkeypatch.setattr(weights_module.os, "symlink", no_symlinks)
    target = weights_install(home=tmp_path)
    for name in WEIGHT_FILES:
        assert (target / name).is_file() and not (target / name).is_symlink()


def test_weights_install_names_the_missing_file_and_package(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(weights_module, "weights_source_dir", lambda: empty)

    with pytest.raises(EngineWeightsMissing) as raised:
        weights_install(home=tmp_path / "home")

    assert WEIGHT_FILES[0] in str(raised.value)
    assert "face-recognition-models" in str(raised.value)
    assert raised.value.code == "engine_weights_missing"
    assert raised.value.status == 500


def test_weights_source_is_the_installed_package():
    source = weights_module.weights_source_dir()
    assert isinstance(source, Path)
    for name in WEIGHT_FILES:
        assert (source / name).is_file()
