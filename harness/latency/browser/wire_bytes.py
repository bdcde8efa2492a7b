"""What a file costs over the wire: raw, gzip and brotli bytes, as a CDN would serve it precompressed.

gzip at level 9 (Python's gzip, no timestamp, so the figure is repeatable). Brotli at quality 11,
the level for static files, when a brotli module is installed; otherwise its figure is None and
the note says it was not measured. Quality 11 takes about 25 s on the 14 MB WASM runtime, so the
runtime is measured with gzip only (once, at install) and the note says so.
"""

from __future__ import annotations

import gzip

GZIP_LEVEL = 9
BROTLI_QUALITY = 11


def _brotli_compress():
    try:
        import brotli
    except ImportError:
        return None
    return brotli.compress


def sizes(data: bytes, *, with_brotli: bool = True) -> dict:
    """{"raw", "gzip", "brotli", "note"} in bytes; "brotli" is None where it was not measured."""
    compress = _brotli_compress() if with_brotli else None
    if compress is not None:
        note = f"gzip level {GZIP_LEVEL}, brotli quality {BROTLI_QUALITY}"
    elif with_brotli:
        note = f"gzip level {GZIP_LEVEL}; brotli not measured (no brotli module: pip install brotli)"
    else:
        note = f"gzip level {GZIP_LEVEL}; brotli not measured (quality {BROTLI_QUALITY} is too slow on this file)"
    return {"raw": len(data), "gzip": len(gzip.compress(data, GZIP_LEVEL, mtime=0)),
            "brotli": len(compress(data, quality=BROTLI_QUALITY)) if compress else None, "note": note}


__all__ = ["sizes"]
