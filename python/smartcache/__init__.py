"""smartcache: which cached frames are still valid, and why; a content-addressed dataset cache.

Both engines of the smartcache Rust library, in-process:

* render-cache validity: ``Script.read(path)``, ``RenderCache(cache_dir).record(...)``,
  ``.check(...)``, ``.explain(frame)``;
* the dataset cache: ``DatasetCache(cache_dir, producer).get(path, variant)``,
  ``.status(...)``, ``.build(sources, variant, transform)``, ``.verify()``.

Errors are ``smartcache.Error`` subclasses whose messages are the CLI's.
"""

from ._smartcache import (
    BuildReport,
    CheckReport,
    DatasetCache,
    DatasetError,
    Error,
    FrameResult,
    FramesError,
    ParseError,
    Reason,
    RecordReport,
    RenderCache,
    RenderError,
    Script,
    StatusReport,
    VerifyReport,
    __version__,
)

__all__ = [
    "BuildReport",
    "CheckReport",
    "DatasetCache",
    "DatasetError",
    "Error",
    "FrameResult",
    "FramesError",
    "ParseError",
    "Reason",
    "RecordReport",
    "RenderCache",
    "RenderError",
    "Script",
    "StatusReport",
    "VerifyReport",
    "__version__",
]
