"""Errors the face engine raises.

Each carries a machine-readable ``code`` and the HTTP status an API view should answer with,
so views can turn any of them into a response without knowing the individual classes.
"""


class FaceEngineError(Exception):
    code: str = "face_engine_error"
    http_status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ImageTooLarge(FaceEngineError):
    code = "image_too_large"
    http_status = 413


class UnsupportedImageType(FaceEngineError):
    code = "unsupported_image_type"
    http_status = 415


class CorruptImage(FaceEngineError):
    code = "corrupt_image"
    http_status = 400


class NoFaceFound(FaceEngineError):
    code = "no_face_found"
    http_status = 422


class EngineWeightsMissing(FaceEngineError):
    code = "engine_weights_missing"
    http_status = 500
