"""Errors the face engine raises: domain errors (portal.errors) with the code and HTTP status an
answer should carry, so every caller turns them into a response the same way."""

from portal.errors import DomainError


class FaceEngineError(DomainError):
    code = "face_engine_error"
    status = 500


class ImageTooLarge(FaceEngineError):
    code = "image_too_large"
    status = 413


class UnsupportedImageType(FaceEngineError):
    code = "unsupported_image_type"
    status = 415


class CorruptImage(FaceEngineError):
    code = "corrupt_image"
    status = 400


class NoFaceFound(FaceEngineError):
    code = "no_face_found"
    status = 422


class EngineWeightsMissing(FaceEngineError):
    code = "engine_weights_missing"
    status = 500
