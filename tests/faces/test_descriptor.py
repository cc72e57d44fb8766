"""The descriptor network on numpy's BLAS against dlib's own, on the real faces.

The gallery's embeddings were made by dlib-bin; the numpy run must give the same vectors, or a
search would compare faces embedded two ways.
"""

import dataclasses
import shutil

import dlib
import numpy as np
import pytest

from portal.faces import descriptor as descriptor_module
from portal.faces.descriptor import FaceDescriptor
from portal.faces.engine import RECOGNITION_WEIGHTS, EngineConfig, FaceEngine
from portal.faces.errors import EngineWeightsMissing
from portal.faces.weights import weights_source_dir
from tests.faces.blas import all_on_one_thread, blas_threads_recorded

WEIGHTS = weights_source_dir() / RECOGNITION_WEIGHTS


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    home = tmp_path_factory.mktemp("deepface-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DEEPFACE_HOME", raising=False)
        config = EngineConfig(deepface_home=str(home))
        yield {name: FaceEngine(config=dataclasses.replace(config, descriptor=name)) for name in ("numpy", "dlib")}


@pytest.fixture(scope="module")
def pictures(faces_dir, faces_manifest):
    return [(faces_dir / row["file"]).read_bytes() for row in faces_manifest]


def test_the_chips_of_every_real_face_get_dlibs_vectors(engines, pictures):
    # The engine's own chips (aligned 150 x 150 faces), captured on their way to the network.
    seen = []
    network = engines["numpy"]._descriptor
    original = network.descriptors

    def kept(*, chips: np.ndarray) -> np.ndarray:
        seen.append(chips.copy())
        return original(chips=chips)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(network, "descriptors", kept)
        for data in pictures:
            engines["numpy"].faces_detect(data=data)
    chips = np.concatenate(seen)
    assert chips.shape[1:] == (150, 150, 3) and chips.dtype == np.uint8 and len(chips) >= 25

    mine = network.descriptors(chips=chips)
    theirs = np.array(dlib.face_recognition_model_v1(str(WEIGHTS)).compute_face_descriptor(list(chips)))
    assert mine.shape == theirs.shape == (len(chips), 128)
    # Measured: 3.3e-7 at most, on values up to 0.52; a layer read wrongly moves them by 0.01 or more.
    assert np.abs(mine - theirs).max() < 1e-5
    assert np.abs(theirs).max() > 0.1


def test_the_engine_finds_the_same_faces_with_the_same_embeddings_either_way(engines, pictures):
    for data in pictures:
        fast, reference = (engines[name].faces_detect(data=data) for name in ("numpy", "dlib"))
        assert [face.box for face in fast.faces] == [face.box for face in reference.faces]
        assert fast.engine == reference.engine
        for mine, theirs in zip(fast.faces, reference.faces):
            assert float(np.dot(mine.embedding, theirs.embedding)) > 1 - 1e-6
            assert np.abs(mine.embedding - theirs.embedding).max() < 1e-5


def test_it_runs_on_one_blas_thread(engines, pictures):
    # Throughput comes from processes: a second BLAS thread a face would compete with them.
    with blas_threads_recorded(engines["numpy"]._descriptor, "_forward") as seen:
        engines["numpy"].faces_detect(data=pictures[0])
    assert all_on_one_thread(seen)


def test_a_file_that_is_not_the_network_is_refused_by_name(tmp_path):
    landmarks = weights_source_dir() / "shape_predictor_5_face_landmarks.dat"
    with pytest.raises(EngineWeightsMissing, match="no input layer"):
        FaceDescriptor(path=landmarks)

    truncated = tmp_path / "truncated.dat"
    truncated.write_bytes(WEIGHTS.read_bytes()[:3_000_000])
    with pytest.raises(EngineWeightsMissing, match="convolutions, not 29|ends inside a layer|longer than the file"):
        FaceDescriptor(path=truncated)


def test_a_network_of_another_shape_is_refused(tmp_path, monkeypatch):
    # The file read against a plan with one block fewer in the last stage: the count is checked.
    copy = tmp_path / "network.dat"
    shutil.copyfile(WEIGHTS, copy)
    monkeypatch.setattr(descriptor_module, "STAGES", descriptor_module.STAGES[:-1] + ((256, 2),))
    with pytest.raises(EngineWeightsMissing, match="convolutions, not 31"):
        FaceDescriptor(path=copy)


def test_chips_of_the_wrong_shape_are_refused(engines):
    with pytest.raises(ValueError, match=r"\(n, 150, 150, 3\)"):
        engines["numpy"]._descriptor.descriptors(chips=np.zeros((1, 100, 100, 3), dtype=np.uint8))
    assert engines["numpy"]._descriptor.descriptors(chips=np.zeros((0, 150, 150, 3), dtype=np.uint8)).shape == (0, 128)


def test_an_unknown_descriptor_is_a_configuration_error():
    with pytest.raises(ValueError, match="descriptor must be one of"):
        EngineConfig(descriptor="onnx")
