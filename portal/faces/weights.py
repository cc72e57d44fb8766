"""Putting the dlib model files where deepface looks for them.

deepface downloads a weight file unless ``<DEEPFACE_HOME>/.deepface/weights/<name>`` already
exists. The machines this runs on have no internet, so the files are taken from the pip package
``face-recognition-models``, which ships the very same dlib files.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from portal.faces.errors import EngineWeightsMissing

SOURCE_PACKAGE = "face_recognition_models"
SOURCE_DISTRIBUTION = "face-recognition-models"

# Names are the ones deepface's Dlib recogniser and dlib detector ask for.
WEIGHT_FILES = (
    "dlib_face_recognition_resnet_model_v1.dat",
    "shape_predictor_5_face_landmarks.dat",
)

# dlib's CNN (MMOD) face detector, the fallback when HOG finds no face; loaded by dlib directly
# from the package, so it is not placed under DEEPFACE_HOME.
CNN_DETECTOR_FILE = "mmod_human_face_detector.dat"


def weights_source_dir() -> Path:
    # Located without importing the package: its __init__ imports the deprecated pkg_resources.
    spec = importlib.util.find_spec(SOURCE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EngineWeightsMissing(
            f"The Python package {SOURCE_PACKAGE} is not installed; "
            f"install {SOURCE_DISTRIBUTION}==0.3.0, which ships {', '.join(WEIGHT_FILES)}."
        )
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def weights_install(*, home: str | Path) -> Path:
    source_dir = weights_source_dir()
    target_dir = Path(home) / ".deepface" / "weights"
    target_dir.mkdir(parents=True, exist_ok=True)

    for name in WEIGHT_FILES:
        source = source_dir / name
        if not source.is_file():
            raise EngineWeightsMissing(
                f"The model file {name} is missing (looked for {source}); it is shipped by the "
                f"pip package {SOURCE_DISTRIBUTION}==0.3.0."
            )
        target = target_dir / name
        if _weight_in_place(source=source, target=target):
            continue
        _weight_place(source=source, target=target)

    return target_dir


def _weight_in_place(*, source: Path, target: Path) -> bool:
    # A stale link or a half-finished download would make dlib fail much later and obscurely.
    try:
        return target.is_file() and target.stat().st_size == source.stat().st_size
    except OSError:
        return False


def _weight_place(*, source: Path, target: Path) -> None:
    # Written under a temporary name and renamed, so that several workers starting at once
    # never see a half-copied file.
    temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    try:
        os.symlink(source.resolve(), temporary)
    except OSError:
        shutil.copyfile(source, temporary)
    os.replace(temporary, target)
