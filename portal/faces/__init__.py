"""Face detection, embedding and picture decoding for the portal."""
