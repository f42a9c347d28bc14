"""Export a Blender scene's compositor node tree as a smartcache JSON graph (version 2).

The graph is what smartcache hashes per frame, so everything that can change a
composited pixel must be in it, written the same way every time:

* every node of the tree with its ``bl_idname`` as class, its properties (pointers to
  data such as curve mappings and colour ramps flattened into one text), the default
  values of its unlinked input sockets (knobs ``in_<socket>``), ``mute``;
* links by socket: an input names the node and the output socket it reads;
* node groups as groups: their nodes as children, Nuke's ``Input``/``Output`` classes
  for the group's inputs and output, so that the engine walks them as Nuke groups;
* image nodes with their file (a sequence as ``####``, absolute), colour space and
  frame mapping (written as the clip knobs of the Blender profile);
* the scene settings that affect the composite as the Root knobs;
* animation (F-curves with keys, handles, easing, extrapolation and modifiers) and
  drivers (expression, variables and what their targets are worth).

Names: Blender allows any text in a node's name, smartcache's graph uses dotted names
for groups and expressions read ``Node.knob``; so names are made identifiers
(``Blur.001`` becomes ``Blur_001``), unique per tree.
"""

import math
import os
import re

import bpy

from . import data

FORMAT = "smartcache-graph"
VERSION = 2

# Properties every node has that are interface or identity, or that are exported in
# another form (sockets, links, the group's tree, the image).
SKIP_PROPS = {
    "rna_type", "name", "inputs", "outputs", "internal_links", "type", "bl_idname",
    "bl_label", "bl_description", "bl_icon", "bl_static_type", "bl_width_default",
    "bl_width_min", "bl_width_max", "bl_height_default", "bl_height_min",
    "bl_height_max", "dimensions", "is_registered_node_type", "node_tree", "mute",
    "image", "internal_links", "width_hidden", "interface",
}

# The Image node's own frame settings: written as the clip knobs instead.
IMAGE_FRAME_PROPS = {"frame_duration", "frame_start", "frame_offset", "use_cyclic", "use_auto_refresh"}

MAX_STRUCT_DEPTH = 6

# Inside flattened data (curve points, ramp elements): editor state, not content.
STRUCT_SKIP = {"rna_type", "select", "show_expanded", "hide", "active", "is_valid"}


def safe_name(name):
    """An identifier standing for a Blender name."""
    out = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not out or out[0].isdigit():
        out = "_" + out
    return out


def number(v):
    """A number as text, the same on every machine (shortest round trip)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        if v == int(v) and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    return str(v)


def word(s):
    """A string as one knob word: quoted when it has spaces, with the characters a
    knob value gives meaning to (quotes, braces, brackets, ``$``, backslashes)
    percent-escaped, so that a name or path is hashed as written and never read as an
    expression."""
    s = str(s)
    esc = re.sub(r'[%"\\\[\]{}$]', lambda m: "%%%02X" % ord(m.group(0)), s)
    if esc and not re.search(r"\s", esc):
        return esc
    return '"' + esc + '"'


def flatten(value, depth=0):
    """A property value (or a struct: a curve mapping, a colour ramp, format settings)
    as text."""
    if isinstance(value, bpy.types.ID):
        return word(value.name_full)
    if isinstance(value, bpy.types.bpy_struct):
        if depth >= MAX_STRUCT_DEPTH:
            return word(type(value).__name__)
        parts = []
        for p in value.bl_rna.properties:
            if p.identifier in STRUCT_SKIP or p.identifier.startswith("bl_"):
                continue
            try:
                v = getattr(value, p.identifier)
            except AttributeError:
                continue
            parts.append("%s=%s" % (p.identifier, flatten_prop(p, v, depth + 1)))
        return "(" + " ".join(parts) + ")"
    if isinstance(value, (bool, int, float)):
        return number(value)
    if isinstance(value, str):
        return word(value)
    if isinstance(value, (set, frozenset)):
        return "(" + " ".join(sorted(word(x) for x in value)) + ")"
    try:
        items = list(value)
    except TypeError:
        return word(repr(value))
    return "(" + " ".join(flatten(x, depth + 1) for x in items) + ")"


def flatten_prop(p, v, depth):
    if p.type == "COLLECTION":
        return "(" + " ".join(flatten(x, depth) for x in v) + ")"
    if p.type == "POINTER":
        if v is None:
            return "none"
        return flatten(v, depth)
    return flatten(v, depth)


def knob_value(v):
    """A property value as a knob's text: numbers, ``{a b c}`` for vectors, words."""
    if isinstance(v, (bool, int, float)):
        return number(v)
    if isinstance(v, str):
        return word(v)
    if isinstance(v, (set, frozenset)):
        return "{" + " ".join(sorted(word(x) for x in v)) + "}" if v else "{}"
    if isinstance(v, (bpy.types.ID, bpy.types.bpy_struct)):
        return '"' + flatten(v).replace('"', "%22") + '"'
    try:
        items = list(v)
    except TypeError:
        return word(repr(v))
    if all(isinstance(x, (bool, int, float)) for x in items):
        return "{" + " ".join(number(x) for x in items) + "}"
    return '"' + flatten(items).replace('"', "%22") + '"'


def fcurve_json(fc):
    """An F-curve in the graph's ``fcurve`` form."""
    keys = []
    points = list(fc.keyframe_points)
    linear = fc.extrapolation == "LINEAR"
    for i, k in enumerate(points):
        key = {
            "frame": float(k.co[0]),
            "value": float(k.co[1]),
            "interpolation": k.interpolation,
        }
        if k.interpolation not in ("CONSTANT", "LINEAR", "BEZIER"):
            key["easing"] = k.easing
            if k.interpolation == "BACK":
                key["back"] = float(k.back)
            if k.interpolation == "ELASTIC":
                key["amplitude"] = float(k.amplitude)
                key["period"] = float(k.period)
        prev_bezier = i > 0 and points[i - 1].interpolation == "BEZIER"
        # A handle counts where a Bezier segment or a linear extrapolation uses it.
        if prev_bezier or (i == 0 and linear):
            key["left"] = [float(k.handle_left[0]), float(k.handle_left[1])]
        if k.interpolation == "BEZIER" or (i == len(points) - 1 and linear):
            key["right"] = [float(k.handle_right[0]), float(k.handle_right[1])]
        keys.append(key)
    out = {"extrapolation": fc.extrapolation, "keys": keys}
    mods = [modifier_json(m) for m in fc.modifiers if not m.mute]
    if mods:
        out["modifiers"] = mods
    return out


def modifier_json(m):
    out = {"type": m.type}
    for p in m.bl_rna.properties:
        ident = p.identifier
        if ident in ("rna_type", "type", "show_expanded", "active", "is_valid", "name"):
            continue
        v = getattr(m, ident)
        if isinstance(v, (bool, int, float, str)):
            out[ident] = v
        else:
            text = re.sub(r"[^A-Za-z0-9_.+-]", "_", flatten_prop(p, v, 1))
            out[ident] = text
    return out


def identity_driver_curve(fc):
    """True when the driver's F-curve passes the driver's value through unchanged."""
    if len(fc.keyframe_points):
        return False
    for m in fc.modifiers:
        if m.mute:
            continue
        if m.type != "GENERATOR" or m.use_additive or m.use_restricted_range or m.use_influence:
            return False
        if m.mode != "POLYNOMIAL" or m.poly_order != 1 or list(m.coefficients)[:2] != [0.0, 1.0]:
            return False
    return True


class TreeScope:
    """What a node tree's data paths stand for: `nodes["X"].prop` -> (node, knob)."""

    def __init__(self, tree, names):
        self.tree = tree
        self.paths = {}
        for node in tree.nodes:
            full = names.get(node.as_pointer())
            if full is None:
                continue
            for p in node.bl_rna.properties:
                try:
                    self.paths[node.path_from_id(p.identifier)] = (full, p.identifier)
                except (ValueError, TypeError):
                    pass
            for s in node.inputs:
                try:
                    self.paths[s.path_from_id("default_value")] = (full, "in_" + safe_name(s.identifier))
                except (ValueError, TypeError, AttributeError):
                    pass


class Exporter:
    def __init__(self, scene):
        self.scene = scene
        self.blend_dir = os.path.dirname(bpy.data.filepath) if bpy.data.filepath else os.getcwd()
        self.nodes = []
        self.taken = set()
        self.samples = {}
        self.digests = {}

    # --- Names ------------------------------------------------------------------------

    def unique(self, prefix, name):
        base = safe_name(name)
        full = base if not prefix else prefix + "." + base
        n = 2
        while full in self.taken:
            cand = "%s_%d" % (base, n)
            full = cand if not prefix else prefix + "." + cand
            n += 1
        self.taken.add(full)
        return full

    # --- Values and animation ---------------------------------------------------------

    def abspath(self, path, lib=None):
        p = bpy.path.abspath(path, library=lib)
        if p.startswith("//"):
            p = os.path.join(self.blend_dir, p[2:])
        return os.path.normpath(os.path.join(self.blend_dir, p))

    def animated(self, id_block, data_path, values, index_count):
        """The knob form of a property: plain text, or components with F-curves and
        drivers where ``id_block`` animates or drives ``data_path``."""
        ad = getattr(id_block, "animation_data", None)
        curves = {}
        drivers = {}
        if ad is not None:
            if ad.action is not None:
                for fc in ad.action.fcurves:
                    if fc.data_path == data_path and not fc.mute and len(fc.keyframe_points):
                        curves[fc.array_index] = fc
            for fc in ad.drivers:
                if fc.data_path == data_path and not fc.mute:
                    drivers[fc.array_index] = fc
        if not curves and not drivers:
            return {"value": knob_value(values)}

        def component(i, v):
            if i in drivers:
                return {"driver": self.driver_json(drivers[i], id_block)}
            if i in curves:
                return {"fcurve": fcurve_json(curves[i])}
            return v if isinstance(v, (int, float)) and not isinstance(v, bool) else number(v)

        if index_count is None:
            c = component(0, values)
            return c if isinstance(c, dict) else {"value": knob_value(values)}
        return {"components": [component(i, v) for i, v in enumerate(values)]}

    def driver_json(self, fc, owner):
        d = fc.driver
        out = {"type": d.type, "expression": d.expression if d.type == "SCRIPTED" else ""}
        if d.type == "SCRIPTED" and d.use_self:
            out["use_self"] = True
        variables = []
        for var in d.variables:
            v = {"name": var.name, "type": var.type, "targets": []}
            for t in list(var.targets)[: 2 if var.type in ("ROTATION_DIFF", "LOC_DIFF") else 1]:
                v["targets"].append(self.target_json(var, t, owner))
            variables.append(v)
        out["variables"] = variables
        if not identity_driver_curve(fc):
            # Keys or modifiers remap the driver's value: not arithmetic any more.
            out["remap"] = fcurve_json(fc)
        return out

    def target_json(self, var, t, owner):
        tid = t.id
        if var.type == "SINGLE_PROP" and tid is not None:
            tree = None
            path = t.data_path
            if tid == owner and isinstance(owner, bpy.types.NodeTree):
                tree = owner
            elif tid == self.scene and path.startswith("node_tree.") and self.scene.node_tree:
                tree, path = self.scene.node_tree, path[len("node_tree."):]
            scope = self.scopes.get(tree.as_pointer()) if tree is not None else None
            if scope is not None:
                m = re.match(r"^(.*?)(?:\[(\d+)\])?$", path)
                hit = scope.paths.get(m.group(1)) if m else None
                if hit is not None and m.group(2) is None:
                    return {"knob": "%s.%s" % hit}
        # Outside the node tree: what the target is worth at every frame of the scene.
        return {
            "id_type": t.id_type,
            "id": tid.name_full if tid is not None else None,
            "data_path": t.data_path,
            "transform": [t.transform_type, t.transform_space, t.rotation_mode]
            if var.type != "SINGLE_PROP" else None,
            "samples": self.sample(var, t),
        }

    def sample(self, var, t):
        """The target's value at every frame of the scene's range (as text)."""
        key = (var.type, t.id_type, t.id.name_full if t.id else None, t.data_path,
               t.transform_type, t.transform_space, t.bone_target)
        if key in self.samples:
            return self.samples[key]
        scene = self.scene
        current = scene.frame_current
        out = []
        try:
            for f in range(scene.frame_start, scene.frame_end + 1):
                scene.frame_set(f)
                out.append(self.target_value(var, t))
        finally:
            scene.frame_set(current)
        self.samples[key] = out
        return out

    def target_value(self, var, t):
        tid = t.id
        if tid is None:
            return None
        if var.type == "SINGLE_PROP":
            try:
                v = tid.path_resolve(t.data_path)
            except (ValueError, TypeError):
                return None
            if isinstance(v, (bool, int, float, str)):
                return number(v) if not isinstance(v, str) else v
            try:
                return [number(x) for x in v]
            except TypeError:
                return str(v)
        if isinstance(tid, bpy.types.Object):
            ob = tid.evaluated_get(bpy.context.evaluated_depsgraph_get())
            return [number(x) for row in ob.matrix_world for x in row]
        return None

    # --- Nodes --------------------------------------------------------------------------

    def export_tree(self, tree, prefix, group_inputs=None):
        """Export `tree`'s nodes under group `prefix` (None: top level).
        `group_inputs` maps a Group Input socket index to the node standing for it."""
        names = {}
        group_in_nodes = []
        group_out = None
        for node in tree.nodes:
            if node.bl_idname == "NodeGroupInput":
                group_in_nodes.append(node)
                continue
            if node.bl_idname == "NodeGroupOutput":
                if group_out is None or node.is_active_output:
                    group_out = node
                continue
            names[node.as_pointer()] = self.unique(prefix, node.name)
        scope = TreeScope(tree, names)
        self.scopes[tree.as_pointer()] = scope

        def source(link):
            """The input entry for a link, or None for no image."""
            if link is None:
                return None
            fn = link.from_node
            if fn.bl_idname == "NodeGroupInput":
                idx = list(fn.outputs).index(link.from_socket)
                return group_inputs.get(idx) if group_inputs else None
            name = names.get(fn.as_pointer())
            if name is None:
                return None
            return {"node": name, "socket": link.from_socket.identifier}

        for node in tree.nodes:
            if node.as_pointer() not in names:
                continue
            self.export_node(tree, node, names[node.as_pointer()], prefix, source)
        if prefix is not None:
            out = {"name": self.unique(prefix, "Output"), "class": "Output", "parent": prefix,
                   "inputs": []}
            if group_out is not None:
                out["inputs"] = [source(live_link(s)) for s in group_out.inputs
                                 if s.bl_idname != "NodeSocketVirtual"]
            self.nodes.append(out)

    def export_node(self, tree, node, name, prefix, source):
        entry = {"name": name, "class": node.bl_idname}
        if prefix is not None:
            entry["parent"] = prefix
        knobs = []
        inputs = []
        for s in node.inputs:
            link = live_link(s)
            inputs.append(source(link))
            if link is None and hasattr(s, "default_value"):
                path = s.path_from_id("default_value")
                v = s.default_value
                count = len(v) if not isinstance(v, (int, float, bool, str)) else None
                k = self.animated(tree, path, v if count is None else list(v), count)
                k["name"] = "in_" + safe_name(s.identifier)
                knobs.append(k)
        # Mute: the input Blender passes to the outputs, as the profile reads it.
        knobs.append({"name": "mute", "value": number(bool(node.mute))})
        muted = node.mute
        if muted:
            passed = {list(node.inputs).index(l.from_socket) for l in node.internal_links}
            if len(passed) == 1:
                slot = passed.pop()
                if live_link(node.inputs[slot]) is None:
                    # Blender passes the socket's value; the engine would record only
                    # the mute: hash the node as enabled instead (every knob counts).
                    knobs[-1] = {"name": "mute_unlinked", "value": "true"}
                    muted = False
                else:
                    knobs.append({"name": "mute_input", "value": str(slot)})
            elif not passed:
                knobs.append({"name": "mute_input", "value": "-1"})
        for p in node.bl_rna.properties:
            ident = p.identifier
            if ident in SKIP_PROPS or ident.startswith("bl_"):
                continue
            if node.bl_idname == "CompositorNodeImage" and (
                ident in IMAGE_FRAME_PROPS
                # Layers and views are menus of the image's content: read only when
                # the image has them (reading an empty menu warns).
                or (ident in ("layer", "view") and not getattr(node, "has_" + ident + "s", False))
            ):
                continue
            v = getattr(node, ident)
            if p.type in ("POINTER", "COLLECTION"):
                if p.type == "POINTER" and isinstance(v, bpy.types.Node):
                    knobs.append({"name": ident, "value": word(v.name)})
                    continue
                if p.type == "POINTER" and isinstance(v, bpy.types.ID):
                    knobs.extend(self.id_knobs(ident, v))
                    continue
                knobs.append({"name": ident, "value": '"' + flatten_prop(p, v, 0).replace('"', "%22") + '"'})
                continue
            count = p.array_length if getattr(p, "array_length", 0) else None
            if count:
                v = list(v)
            k = self.animated(tree, node.path_from_id(ident), v, count)
            k["name"] = ident
            knobs.append(k)
        if node.bl_idname == "CompositorNodeImage":
            knobs.extend(self.image_knobs(node))
        nla = self.nla_digest(tree)
        if nla is not None:
            knobs.append({"name": "nla_data", "value": nla})
        is_group = node.bl_idname == "CompositorNodeGroup" and node.node_tree is not None
        if is_group and not muted:
            entry["group"] = True
        entry["inputs"] = inputs
        entry["knobs"] = sorted(knobs, key=lambda k: k["name"])
        self.nodes.append(entry)
        if is_group and not muted:
            self.export_group(node, name, inputs)

    def export_group(self, node, name, inputs):
        """A group's nodes: each used Group Input socket becomes an Input (linked) or a
        node holding the socket's value (unlinked)."""
        group_inputs = {}
        for i, s in enumerate(s for s in node.inputs):
            if inputs[i] is not None:
                n = {"name": self.unique(name, "Input_" + safe_name(s.identifier)),
                     "class": "Input", "parent": name,
                     "knobs": [{"name": "number", "value": str(i)}]}
            else:
                v = getattr(s, "default_value", None)
                value = {"value": knob_value(list(v) if v is not None and not isinstance(v, (int, float, bool, str)) else v)} if v is not None else {"value": "none"}
                value["name"] = "value"
                n = {"name": self.unique(name, "Value_" + safe_name(s.identifier)),
                     "class": "CompositorNodeGroupInputValue", "parent": name,
                     "knobs": [value]}
            self.nodes.append(n)
            group_inputs[i] = n["name"]
        self.export_tree(node.node_tree, name, group_inputs)

    def id_knobs(self, ident, v):
        """A pointer to data (a mask, a movie clip, a scene, a texture): its name, the
        digest of its content (see data.py), and for a movie clip its file."""
        out = [{"name": ident, "value": word(v.name_full)},
               {"name": ident + "_data", "value": self.digest(v)}]
        if isinstance(v, bpy.types.MovieClip):
            out.append({"name": "clip_file", "value": word(self.abspath(v.filepath, v.library))})
        return out

    def nla_digest(self, tree):
        """NLA strips blend other actions into the tree's values, which the F-curves of
        its active action do not say: when the tree has NLA tracks, every node gets
        their digest (an NLA edit outdates every frame; None: no tracks)."""
        ad = tree.animation_data
        if ad is None or len(ad.nla_tracks) == 0:
            return None
        key = ("nla", tree.as_pointer())
        if key not in self.digests:
            self.digests[key] = data.digest_struct(ad)
        return self.digests[key]

    def digest(self, block):
        """data.digest of `block`, once per export."""
        key = (type(block).__name__, block.name_full)
        if key not in self.digests:
            self.digests[key] = data.digest(block)
        return self.digests[key]

    def image_knobs(self, node):
        img = node.image
        if img is None:
            return [{"name": "file", "value": '""'}]
        out = [
            {"name": "source", "value": img.source},
            {"name": "colorspace", "value": word(img.colorspace_settings.name)},
            {"name": "alpha_mode", "value": img.alpha_mode},
            {"name": "use_half_precision", "value": number(img.use_half_precision)},
            {"name": "use_view_as_render", "value": number(img.use_view_as_render)},
        ]
        if img.packed_file is not None:
            import hashlib
            digest = hashlib.sha256(bytes(img.packed_file.data)).hexdigest()
            out.append({"name": "packed", "value": digest})
            out.append({"name": "file", "value": '""'})
            return out
        if img.source == "GENERATED":
            out.append({"name": "generated", "value": '"' + flatten(img).replace('"', "%22") + '"'})
            out.append({"name": "file", "value": '""'})
            return out
        path = self.abspath(img.filepath, img.library)
        if img.source == "SEQUENCE":
            head, tail = os.path.split(path)
            m = list(re.finditer(r"\d+", tail))
            if m:
                last = m[-1]
                tail = tail[: last.start()] + "#" * len(last.group(0)) + tail[last.end():]
            path = os.path.join(head, tail)
            dur, start, offset = node.frame_duration, node.frame_start, node.frame_offset
            # File number at scene frame f: n + offset, n = f - start + 1, wrapped into
            # 1..duration when cyclic, clamped into 0..duration otherwise.
            if node.use_cyclic:
                clip = [offset + 1, offset + dur, start, "loop"]
            else:
                clip = [offset, offset + dur, start - 1, "hold"]
            out += [
                {"name": "first", "value": str(clip[0])},
                {"name": "last", "value": str(clip[1])},
                {"name": "frame_mode", "value": "start_at"},
                {"name": "frame", "value": str(clip[2])},
                {"name": "before", "value": clip[3]},
                {"name": "after", "value": clip[3]},
            ]
        elif img.source == "MOVIE":
            for ident in sorted(IMAGE_FRAME_PROPS):
                out.append({"name": ident, "value": knob_value(getattr(node, ident))})
        out.append({"name": "file", "value": word(path)})
        return out

    # --- The scene ------------------------------------------------------------------------

    def root(self):
        sc = self.scene
        r = sc.render
        vs = sc.view_settings
        knobs = []

        def put(name, owner, attr, path):
            v = getattr(owner, attr)
            if isinstance(v, bpy.types.bpy_struct):
                knobs.append({"name": name, "value": '"' + flatten(v).replace('"', "%22") + '"'})
                return
            count = None
            if not isinstance(v, (bool, int, float, str)):
                v = list(v)
                count = len(v)
            k = self.animated(sc, path, v, count)
            k["name"] = name
            knobs.append(k)

        put("first_frame", sc, "frame_start", "frame_start")
        put("last_frame", sc, "frame_end", "frame_end")
        put("frame_step", sc, "frame_step", "frame_step")
        put("fps", r, "fps", "render.fps")
        put("fps_base", r, "fps_base", "render.fps_base")
        for a in ("resolution_x", "resolution_y", "resolution_percentage", "pixel_aspect_x",
                  "pixel_aspect_y", "use_border", "use_crop_to_border", "border_min_x",
                  "border_max_x", "border_min_y", "border_max_y", "dither_intensity",
                  "use_compositing", "film_transparent", "use_multiview",
                  "filter_size"):
            put(a, r, a, "render." + a)
        put("image_settings", r, "image_settings", "render.image_settings")
        put("use_nodes", sc, "use_nodes", "use_nodes")
        knobs.append({"name": "color_management", "value": "OCIO"})
        put("display_device", sc.display_settings, "display_device", "display_settings.display_device")
        for a in ("view_transform", "look", "exposure", "gamma", "use_curve_mapping"):
            put(a, vs, a, "view_settings." + a)
        if vs.use_curve_mapping:
            put("curve_mapping", vs, "curve_mapping", "view_settings.curve_mapping")
        put("sequencer_colorspace", sc.sequencer_colorspace_settings, "name",
            "sequencer_colorspace_settings.name")
        knobs.append({"name": "blender_version", "value": word(bpy.app.version_string)})
        return sorted(knobs, key=lambda k: k["name"])

    def export(self):
        self.scopes = {}
        tree = self.scene.node_tree
        if tree is not None and self.scene.use_nodes:
            self.export_tree(tree, None)
        return {
            "format": FORMAT,
            "version": VERSION,
            "host": "blender",
            "root": self.root(),
            "nodes": self.nodes,
        }


def live_link(socket):
    """The link feeding an input socket, unless it is muted or invalid."""
    for link in socket.links:
        if not link.is_muted and link.is_valid:
            return link
    return None


def export_scene(scene=None):
    """The scene's compositor as a smartcache JSON graph (a dict)."""
    return Exporter(scene or bpy.context.scene).export()
