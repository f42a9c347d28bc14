"""Type stubs of the smartcache package (the extension module smartcache._smartcache)."""

import os
from typing import Callable, Iterable, List, Optional, Sequence, Tuple, Union

__version__: str

StrPath = Union[str, "os.PathLike[str]"]
Paths = Union[StrPath, Iterable[StrPath]]
Frames = Union[str, Iterable[int], None]

class Error(Exception):
    """Base class of every smartcache error. The message is the one the CLI prints."""

class ParseError(Error):
    """A script, rule file or profile that cannot be read."""
    path: Optional[str]
    line: Optional[int]
    col: Optional[int]

class FramesError(Error):
    """A frame list that cannot be read."""
    col: int

class RenderError(Error):
    """A render-cache workflow failed (no such node, a refused cache directory, ...)."""

class DatasetError(Error):
    """A dataset cache operation failed (an unreadable index, a bad shard or glob, ...)."""

class Script:
    """A script read into a dependency graph (a Nuke .nk/.gizmo or a JSON graph)."""
    @staticmethod
    def read(path: StrPath) -> "Script":
        """Read a script file of either format (chosen by content). Raises ParseError."""
    @staticmethod
    def from_json(text: str, path: Optional[StrPath] = None) -> "Script":
        """A host-neutral JSON graph held in a string; `path` names it in messages and
        relative file paths in it are taken from its directory."""
    @property
    def path(self) -> str: ...
    @property
    def hash(self) -> str:
        """xxh3-128 of the script's bytes (32 hex characters)."""
    @property
    def frame_range(self) -> Tuple[int, int]:
        """(first_frame, last_frame) of the script's Root."""
    @property
    def nodes(self) -> List[str]:
        """Every node's full name, in file order."""
    @property
    def warnings(self) -> List[str]: ...

class Reason:
    """Why a frame is not valid."""
    kind: str
    node: Optional[str]
    knob: Optional[str]
    old: Optional[str]
    new: Optional[str]
    text: str
    """The one-line explanation, e.g. "Grade1.white key at 1050 changed 1.2 -> 1.4"."""

class FrameResult:
    """One checked frame."""
    frame: int
    status: str
    """"valid", "outdated", "uncached" or "missing-render"."""
    reasons: List[Reason]
    snapshot: Optional[str]
    """The snapshot compared with (set by RenderCache.explain only)."""
    unverifiable: List[str]
    """Paths the frame reads that cannot be verified ("Node.knob: why")."""
    @property
    def valid(self) -> bool: ...

class RecordReport:
    """What RenderCache.record did."""
    @property
    def frames(self) -> List[int]: ...
    @property
    def distinct(self) -> int: ...
    @property
    def renders_missing(self) -> List[int]: ...
    @property
    def manifests_kept(self) -> bool: ...
    @property
    def master_frames(self) -> int: ...
    @property
    def master(self) -> str: ...
    @property
    def unknown_classes(self) -> List[str]:
        """Classes the frames read that neither the profile nor a gizmo defines."""
    @property
    def warnings(self) -> List[str]: ...
    def to_json(self) -> str:
        """The report exactly as `smartcache record --json` prints it."""

class CheckReport:
    """What RenderCache.check found."""
    @property
    def valid(self) -> bool:
        """True when every checked frame is valid."""
    @property
    def frames(self) -> List[FrameResult]: ...
    @property
    def outdated(self) -> str:
        """The frames to render again (every frame not valid) as a frame list such as
        "1040-1060,1075"; empty when all are valid."""
    @property
    def snapshot(self) -> Optional[str]:
        """The snapshot written; None for a check with snapshot=False."""
    @property
    def node(self) -> str: ...
    @property
    def summary(self) -> dict:
        """How many frames have each status, e.g. {"outdated": 20, "valid": 80}."""
    @property
    def unknown_classes(self) -> List[str]:
        """Classes the frames read that neither the profile nor a gizmo defines."""
    @property
    def warnings(self) -> List[str]: ...
    def to_json(self) -> str:
        """The report exactly as `smartcache check --json` prints it."""
    def write_openjd(
        self,
        path: StrPath,
        render_command: str,
        record_command: str,
        script: StrPath,
        cache_dir: StrPath,
        chunk: int = 10,
    ) -> int:
        """Write an OpenJD job template re-rendering the frames that are not valid, in
        tasks of at most `chunk` contiguous frames, each running `render_command` then
        `record_command` ({first}, {last}, {frames}, {script}, {cache_dir} expand to
        quoted shell words). Returns the number of tasks; RenderError when all are valid."""

class RenderCache:
    """A render-cache directory, with the ignore rules and node-class profile to hash
    under (built in, then $SMARTCACHE_RULES / $SMARTCACHE_PROFILE, then the files given)
    and the directories gizmos are found in (plugin_path, then $NUKE_PATH, ~/.nuke).
    Keep one object across edits: it keeps the record digests and decoded setups of its
    last run, so a check recomputes only what an edit changed (results as a new one's)."""
    def __init__(
        self,
        cache_dir: StrPath,
        rules: Optional[Paths] = None,
        profiles: Optional[Paths] = None,
        plugin_path: Optional[Paths] = None,
    ) -> None: ...
    @property
    def cache_dir(self) -> str: ...
    @property
    def rules_fingerprint(self) -> str: ...
    def record(
        self,
        script: Script,
        node: str,
        frames: Frames = None,
        render: Optional[str] = None,
    ) -> RecordReport:
        """Record frames of `node` (default: the script's frame range) into the master.
        `render`: the rendered files' frame pattern ("out.%04d.exr") to fingerprint;
        by default a Write node's `file` knob, as the CLI's record."""
    def check(
        self,
        script: Script,
        node: str,
        frames: Frames = None,
        snapshot: bool = True,
        strict: bool = False,
    ) -> CheckReport:
        """Check frames of `node` against the master. snapshot=False writes nothing;
        strict=True outdates frames that read what smartcache cannot verify."""
    def explain(self, frame: int, snapshot: Optional[str] = None) -> FrameResult:
        """The master against a snapshot (default: the newest) for one frame."""
    def snapshots(self) -> List[str]:
        """Snapshot ids, oldest first."""

class BuildReport:
    """What DatasetCache.build did."""
    new: int
    changed: int
    touched: int
    unchanged: int
    removed: int
    transformed: int
    deduplicated: int
    repaired: int
    waited: int
    saves: int
    cancelled: int
    @property
    def failures(self) -> List[Tuple[str, str]]:
        """(path, error) per source that could not be built."""
    @property
    def warnings(self) -> List[str]: ...
    def to_json(self) -> str: ...

class StatusReport:
    """What DatasetCache.status found."""
    @property
    def clean(self) -> bool: ...
    @property
    def counts(self) -> dict: ...
    @property
    def files(self) -> List[dict]: ...
    @property
    def warnings(self) -> List[str]: ...
    @property
    def watched(self) -> bool:
        """The tree was read from a running `smartcache dataset watch`, not walked."""
    def to_json(self) -> str: ...

class VerifyReport:
    """What DatasetCache.verify found."""
    @property
    def clean(self) -> bool: ...
    @property
    def entries(self) -> int: ...
    @property
    def artifacts_checked(self) -> int: ...
    @property
    def problems(self) -> List[Tuple[str, str, str]]:
        """(source, variant, problem) per problem."""
    def to_json(self) -> str: ...

Transform = Callable[..., object]
"""transform(in_path, out_path[, sidecars]) -> ignored; raise to fail the item."""
BatchTransform = Callable[[List[tuple]], Optional[Sequence[object]]]
"""transform_batch(pairs) -> None (all done) or one result per item: None/True done,
False, a str or an exception instance for that item's failure."""

class DatasetCache:
    """A dataset cache directory and the producer whose artifacts it builds and serves."""
    def __init__(
        self,
        cache_dir: StrPath,
        producer: str,
        ext: str = "",
        sidecars: Optional[List[str]] = None,
    ) -> None: ...
    @property
    def cache_dir(self) -> str: ...
    @property
    def producer(self) -> str: ...
    def get(self, path: StrPath, variant: str) -> Optional[str]:
        """The artifact serving `path`, or None (not indexed, not built, source changed,
        artifact damaged). In-process: microseconds per call."""
    def get_many(self, paths: Paths, variant: str) -> List[Optional[str]]: ...
    def status(self, sources: Paths, variant: str) -> StatusReport: ...
    def build(
        self,
        sources: Paths,
        variant: str,
        transform: Optional[Transform] = None,
        *,
        transform_batch: Optional[BatchTransform] = None,
        batch_size: int = 32,
        jobs: int = 0,
        checkpoint: float = 5.0,
        shard: Optional[str] = None,
    ) -> BuildReport:
        """Bring `variant` of `sources` up to date with exactly one of transform or
        transform_batch. Exceptions they raise are per-item failures. Ctrl-C stops the
        build (running transforms finish, finished work is saved), then
        KeyboardInterrupt is raised."""
    def verify(self) -> VerifyReport: ...
    def export(self, variant: str) -> dict: ...
    def refresh(self) -> None: ...
