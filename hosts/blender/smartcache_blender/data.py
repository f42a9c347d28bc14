"""Content digests of the data a compositor node reads from outside its node tree.

A Render Layers node renders a scene's 3D content; a Mask node draws a mask; a Movie Clip,
Track Position or Stabilize node reads a clip's tracking. None of that is in the node tree,
so the graph cannot say what changed inside it; but missing such a change would call
frames valid whose pixels moved. Each such data-block is hashed whole, by content: every
property reachable from it (objects, meshes, materials and their node trees, lights, the
world, modifiers, constraints, animation, tracking, mask splines), following references to
other data-blocks, each hashed once. The digest becomes a knob of the node
(``scene_data``, ``mask_data``, ``clip_data``), so that any edit of that content outdates
the frames reading the node, with the knob named as the reason.

What is left out is what cannot change a render: editor state (selection, expanded
panels, the 3D cursor, tool settings, the 3D view's ``show_*`` display options), properties derived from others (world matrices,
bounding boxes, dimensions), the current frame, and the compositor's own node tree (it is
exported node by node). A property an F-curve or driver animates holds its value at the
current frame: it is left out too, the F-curve or driver being hashed instead, so that
scrubbing the timeline outdates nothing. An image a material reads is hashed by its
settings, its packed data, or its file's size and modification time.

Conservative by design: a change anywhere in the rendered scene outdates every frame
that reads the Render Layers node, including changes a render would not show.
"""

import array
import hashlib
import os

import bpy

# Editor state, identity bookkeeping, and values derived from other properties.
SKIP = {
    "rna_type", "select", "select_head", "select_tail", "hide_select", "show_expanded",
    "is_evaluated", "original", "users", "use_fake_user", "use_extra_user", "tag",
    "is_library_indirect", "is_missing", "is_runtime_data", "is_embedded_data",
    "session_uid", "preview", "name_full", "id_data", "depsgraph", "bl_rna",
    "matrix_world", "matrix_local", "matrix_basis", "bound_box", "dimensions",
    "is_editmode", "mode", "active_material_index", "active_index", "is_valid",
    "library_weak_reference", "asset_data", "override_library", "is_dirty",
}

# Scene properties that are the editor's, the frame being shown, or exported otherwise.
SCENE_SKIP = {
    "node_tree", "cursor", "tool_settings", "frame_current", "frame_current_final",
    "frame_float", "frame_subframe", "sequence_editor", "keying_sets", "keying_sets_all",
    "statistics", "safe_areas", "timeline_markers_active",
}

# Render settings of the output file, not of the image: where and how frames are saved.
RENDER_SKIP = {"filepath", "use_overwrite", "use_placeholder", "use_file_extension",
               "use_lock_interface"}

NUMERIC = {"BOOLEAN", "INT", "FLOAT"}

# Collections at least this long read their numeric properties in bulk.
BULK = 32


def digest(block):
    """The hex digest of data-block `block` and everything it references."""
    h = hashlib.sha256()
    Walk(h).run(block)
    return h.hexdigest()


def digest_struct(s):
    """The hex digest of struct `s` (not a data-block: an ID's animation data) and
    everything it references."""
    h = hashlib.sha256()
    w = Walk(h)
    w.struct(s, 0)
    w.drain()
    return h.hexdigest()


def viewport_only(ident):
    """Display options of the 3D view (``show_name``, ``show_in_front``), not of a render
    (``show_render``, ``show_instancer_for_render`` are kept)."""
    return ident.startswith("show_") and "render" not in ident


def animated_paths(block):
    """Data paths of `block` an F-curve or driver sets (their values are per frame)."""
    ad = getattr(block, "animation_data", None)
    if ad is None:
        return set()
    paths = {d.data_path for d in ad.drivers}
    if ad.action is not None:
        paths.update(fc.data_path for fc in ad.action.fcurves)
    return paths


class Walk:
    def __init__(self, h):
        self.h = h
        self.ids = set()
        self.structs = set()
        self.queue = []
        self.animated = set()

    def out(self, *parts):
        self.h.update(("\x1f".join(str(p) for p in parts) + "\x1e").encode("utf-8", "surrogatepass"))

    def refer(self, block):
        """Name `block` here, and hash its content once."""
        key = (type(block).__name__, block.name_full)
        self.out("id", *key)
        if key not in self.ids:
            self.ids.add(key)
            self.queue.append(block)

    def run(self, root):
        self.refer(root)
        self.drain()

    def drain(self):
        """Hash the data-blocks referred to and not hashed yet."""
        while self.queue:
            block = self.queue.pop(0)
            self.out("content", type(block).__name__, block.name_full)
            self.animated = animated_paths(block)
            if isinstance(block, bpy.types.Image):
                self.image(block)
            self.struct(block, 0)

    def image(self, img):
        """An image's pixels come from a file or packed data the properties do not hold."""
        if img.packed_file is not None:
            self.out("packed", hashlib.sha256(bytes(img.packed_file.data)).hexdigest())
        elif img.source in ("FILE", "SEQUENCE", "MOVIE", "TILED"):
            path = bpy.path.abspath(img.filepath, library=img.library)
            try:
                st = os.stat(path)
                self.out("file", path, st.st_size, st.st_mtime_ns)
            except OSError:
                self.out("file", path, "missing")

    def struct(self, s, depth):
        ptr = s.as_pointer()
        if ptr in self.structs or depth > 40:
            self.out("seen", type(s).__name__)
            return
        self.structs.add(ptr)
        if isinstance(s, bpy.types.Scene):
            skip = SCENE_SKIP
        elif isinstance(s, bpy.types.RenderSettings):
            skip = RENDER_SKIP
        else:
            skip = ()
        for p in s.bl_rna.properties:
            ident = p.identifier
            if ident in SKIP or ident in skip or ident.startswith("bl_") or viewport_only(ident):
                continue
            if p.type in NUMERIC or p.type in ("STRING", "ENUM"):
                if self.animated and self.is_animated(s, ident):
                    self.out("animated", ident)
                    continue
            try:
                v = getattr(s, ident)
            except (AttributeError, RuntimeError):
                continue
            self.out("p", ident)
            self.value(p, v, depth)

    def is_animated(self, s, ident):
        try:
            return s.path_from_id(ident) in self.animated
        except (ValueError, TypeError, RuntimeError):
            return False

    def value(self, p, v, depth):
        if p.type == "POINTER":
            if v is None:
                self.out("none")
            elif isinstance(v, bpy.types.ID):
                self.refer(v)
            else:
                self.struct(v, depth + 1)
        elif p.type == "COLLECTION":
            self.collection(p, v, depth)
        elif p.type in NUMERIC and getattr(p, "is_array", False):
            self.out(*[repr(x) for x in flat(v)])
        elif p.type == "ENUM" and getattr(p, "is_enum_flag", False):
            self.out(*sorted(v))
        else:
            self.out(repr(v))

    def collection(self, p, coll, depth):
        n = len(coll)
        self.out("len", n)
        if n == 0:
            return
        rna = p.fixed_type
        if n >= BULK and hasattr(coll, "foreach_get") and isinstance(coll[0], bpy.types.bpy_struct) \
                and not isinstance(coll[0], bpy.types.ID):
            rest = []
            for q in rna.properties:
                ident = q.identifier
                if ident in SKIP or ident.startswith("bl_") or viewport_only(ident):
                    continue
                if q.type in NUMERIC:
                    size = 1
                    if getattr(q, "is_array", False):
                        dims = [d for d in q.array_dimensions if d]
                        if not dims:  # a dynamic array: item by item
                            rest.append(q)
                            continue
                        for d in dims:
                            size *= d
                    buf = array.array("d" if q.type == "FLOAT" else "q", bytes(8 * n * size))
                    try:
                        coll.foreach_get(ident, buf)
                    except (TypeError, RuntimeError, AttributeError):
                        rest.append(q)
                        continue
                    self.out("bulk", ident)
                    self.h.update(buf.tobytes())
                else:
                    rest.append(q)
            if not rest:
                return
            for item in coll:
                for q in rest:
                    try:
                        v = getattr(item, q.identifier)
                    except (AttributeError, RuntimeError):
                        continue
                    self.out("p", q.identifier)
                    self.value(q, v, depth + 1)
            return
        for item in coll:
            if item is None:
                self.out("none")
            elif isinstance(item, bpy.types.ID):
                self.refer(item)
            else:
                self.struct(item, depth + 1)


def flat(v):
    out = []
    stack = [v]
    while stack:
        x = stack.pop()
        try:
            items = list(x)
        except TypeError:
            out.append(x)
            continue
        stack.extend(reversed(items))
    return out
