"""The face alignment against deepface's extract_face, on the real faces, as they are and enlarged."""

import dataclasses

import numpy as np
import pytest

from portal.faces.alignment import face_aligned
from portal.faces.engine import EngineConfig, FaceEngine, _point_to_original
from tests.faces.pictures import enlarged_jpeg


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    home = tmp_path_factory.mktemp("deepface-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DEEPFACE_HOME", raising=False)
        yield FaceEngine(config=dataclasses.replace(EngineConfig(), deepface_home=str(home)))


def _faces(engine, data: bytes):
    """Each face the engine finds: the picture's pixels, its box and its eyes in them."""
    from portal.faces.imaging import image_decode

    image = image_decode(data=data, max_bytes=engine.config.max_bytes, max_pixels=engine.config.max_pixels)
    kept, scale = engine._regions_hog(image=image)
    for region, box, _confidence in kept:
        yield (image.rgb, box, _point_to_original(point=region.left_eye, scale=scale),
               _point_to_original(point=region.right_eye, scale=scale))


def test_the_aligned_faces_are_deepfaces_to_the_rotations_rounding(engine, faces_dir, faces_manifest):
    from deepface.models.Detector import FacialAreaRegion
    from deepface.modules.detection import extract_face

    pictures = [(faces_dir / row["file"]).read_bytes() for row in faces_manifest]
    # Two large uploads too (4,000 px): the faces whose rotation the change saves most on.
    pictures += [enlarged_jpeg(pictures[0], long_side=4000), enlarged_jpeg(pictures[-1], long_side=4000)]
    compared, differing = 0, 0.0
    for data in pictures:
        for rgb, box, left_eye, right_eye in _faces(engine, data):
            area = FacialAreaRegion(x=box[0], y=box[1], w=box[2], h=box[3], left_eye=left_eye, right_eye=right_eye)
            theirs = extract_face(facial_area=area, img=rgb, align=True, expand_percentage=0, width_border=0,
                                  height_border=0, detector_backend="dlib").img
            mine = face_aligned(rgb=rgb, box=box, left_eye=left_eye, right_eye=right_eye)
            assert mine.shape == theirs.shape and mine.dtype == theirs.dtype
            # Measured: at most 1 level in 0.03 % of the values (fixed-point rounding of the rotation).
            assert np.abs(mine.astype(int) - theirs.astype(int)).max() <= 1
            differing = max(differing, float((mine != theirs).mean()))
            compared += 1
    assert compared >= 27 and differing < 0.005


def test_a_face_over_the_edge_is_padded_black_and_one_without_eyes_is_not_turned(engine):
    from deepface.models.Detector import FacialAreaRegion
    from deepface.modules.detection import extract_face

    rgb = np.full((100, 120, 3), 200, dtype=np.uint8)
    rgb.flags.writeable = False
    # The box reaches past the left edge: what lies beyond the picture comes out black, as deepface's.
    turned = face_aligned(rgb=rgb, box=(-20, 30, 60, 40), left_eye=(40, 45), right_eye=(10, 50))
    area = FacialAreaRegion(x=-20, y=30, w=60, h=40, left_eye=(40, 45), right_eye=(10, 50))
    theirs = extract_face(facial_area=area, img=rgb, align=True, expand_percentage=0, width_border=0,
                          height_border=0, detector_backend="dlib").img
    assert turned.shape == theirs.shape == (40, 40, 3)
    assert np.abs(turned.astype(int) - theirs.astype(int)).max() <= 1
    assert turned.min() == 0 and (turned == 200).any()
    # Without eyes the box is cut out as it is.
    assert np.array_equal(face_aligned(rgb=rgb, box=(10, 20, 30, 40), left_eye=None, right_eye=None),
                          rgb[20:60, 10:40])
