"""Reading dlib's serialisation: the descriptor network's weights and the HOG detector's layout.

No library reads dlib's format, so the little of it the engine needs is read here:

- an integer is one byte giving the count of bytes that follow (bit 7 set for a negative
  number), then those bytes, little-endian; a string is an integer length, then its bytes;
- a float outside a tensor is two integers, mantissa and exponent base 2;
- a tensor is the integer 2 (its format version), its four dimensions, then its values as
  little-endian 4-byte floats.
"""

from __future__ import annotations

import numpy as np

from portal.faces.errors import EngineWeightsMissing

_TENSOR_VERSION = 2


class DlibReader:
    """Reads ``data`` from the start; ``source`` and ``expected`` name the file and what it must be
    in the error every misreading raises (an installation fault, as a missing weight file is)."""

    def __init__(self, *, data: bytes, source: object, expected: str) -> None:
        self.data, self.source, self.expected, self.position = data, source, expected, 0

    def fail(self, reason: str) -> EngineWeightsMissing:
        return EngineWeightsMissing(f"{self.source} is not {self.expected} as the engine expects: {reason}.")

    def integer(self) -> int:
        if self.position >= len(self.data):
            raise self.fail("the file ends early")
        head = self.data[self.position]
        count = head & 0x0F
        start, self.position = self.position + 1, self.position + 1 + count
        if self.position > len(self.data):
            raise self.fail("the file ends early")
        value = int.from_bytes(self.data[start:self.position], "little")
        return -value if head & 0x80 else value

    def real(self) -> float:
        mantissa = self.integer()
        return float(mantissa) * 2.0 ** self.integer()

    def tensor(self) -> np.ndarray:
        if self.integer() != _TENSOR_VERSION:
            raise self.fail("a tensor has an unknown format version")
        dimensions = [self.integer() for _ in range(4)]
        count = int(np.prod(dimensions))
        end = self.position + 4 * count
        if count <= 0 or end > len(self.data):
            raise self.fail("a tensor is empty or longer than the file")
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.position)
        self.position = end
        return values.astype(np.float32)

    def seek(self, name: bytes) -> bool:
        # Names are looked for after the previous values read, so a layer's name is never
        # looked for inside a tensor's floats.
        found = self.data.find(bytes([len(name)]) + name, self.position)
        if found < 0:
            return False
        self.position = found + 1 + len(name)
        return True
