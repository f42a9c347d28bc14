"""The compositor sidebar panel: "Record cache" and "Check cache validity".

Both export the scene's compositor tree and call the smartcache Python package
in-process; the verdict is shown per frame range, with each outdated frame's reasons.
"""

import json

import bpy

from . import cli
from .export import export_scene
from .report import summarize

# Lines shown in the panel for the last result, per scene (not saved with the file).
RESULTS = {}


class SmartcacheSettings(bpy.types.PropertyGroup):
    cache_dir: bpy.props.StringProperty(
        name="Cache", subtype="DIR_PATH", default="//smartcache",
        description="The smartcache cache directory (relative to the .blend with //)")
    node: bpy.props.StringProperty(
        name="Output", default="",
        description="The cached output node (empty: the active Composite node)")
    frames: bpy.props.StringProperty(
        name="Frames", default="",
        description="Frames such as 1-100 or 1,5,10-20 (empty: the scene's range)")


def run(op, context, command):
    import smartcache

    settings = context.scene.smartcache
    graph = export_scene(context.scene)
    try:
        node = settings.node or cli.graph_name_of_active_composite(graph)
        script = cli.load_script(graph)
        cache = smartcache.RenderCache(bpy.path.abspath(settings.cache_dir))
        frames = settings.frames or None
        if command == "record":
            report = cache.record(script, node, frames=frames)
            lines = ["Recorded %d frames of %s" % (len(report.frames), node)]
        else:
            report = cache.check(script, node, frames=frames)
            lines = summarize(report, node)
    except (smartcache.Error, cli.UsageError, OSError) as e:
        op.report({"ERROR"}, str(e))
        RESULTS[context.scene.name] = ["Error: %s" % e]
        return {"CANCELLED"}
    RESULTS[context.scene.name] = lines
    op.report({"INFO"}, lines[0])
    return {"FINISHED"}


class SMARTCACHE_OT_record(bpy.types.Operator):
    """Record the composite's frames into the cache"""

    bl_idname = "smartcache.record"
    bl_label = "Record cache"

    def execute(self, context):
        return run(self, context, "record")


class SMARTCACHE_OT_check(bpy.types.Operator):
    """Check which cached composite frames are still valid, and why the others are not"""

    bl_idname = "smartcache.check"
    bl_label = "Check cache validity"

    def execute(self, context):
        return run(self, context, "check")


class SMARTCACHE_OT_export(bpy.types.Operator):
    """Write the compositor's graph as smartcache JSON"""

    bl_idname = "smartcache.export"
    bl_label = "Export graph"

    filepath: bpy.props.StringProperty(subtype="FILE_PATH")

    def execute(self, context):
        text = json.dumps(export_scene(context.scene), indent=1) + "\n"
        cli.write_atomic(bpy.path.abspath(self.filepath), text)
        return {"FINISHED"}

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}


class SMARTCACHE_PT_panel(bpy.types.Panel):
    bl_label = "smartcache"
    bl_space_type = "NODE_EDITOR"
    bl_region_type = "UI"
    bl_category = "smartcache"

    @classmethod
    def poll(cls, context):
        return context.space_data.tree_type == "CompositorNodeTree"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.smartcache
        layout.prop(settings, "cache_dir")
        layout.prop(settings, "node")
        layout.prop(settings, "frames")
        row = layout.row()
        row.operator("smartcache.record", icon="REC")
        row.operator("smartcache.check", icon="CHECKMARK")
        layout.operator("smartcache.export", icon="EXPORT")
        box = layout.box()
        for line in RESULTS.get(context.scene.name, ["No result yet"]):
            box.label(text=line)


CLASSES = (SmartcacheSettings, SMARTCACHE_OT_record, SMARTCACHE_OT_check,
           SMARTCACHE_OT_export, SMARTCACHE_PT_panel)


def register():
    for c in CLASSES:
        bpy.utils.register_class(c)
    bpy.types.Scene.smartcache = bpy.props.PointerProperty(type=SmartcacheSettings)


def unregister():
    del bpy.types.Scene.smartcache
    for c in reversed(CLASSES):
        bpy.utils.unregister_class(c)
