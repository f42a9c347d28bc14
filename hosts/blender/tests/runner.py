"""Run inside Blender by the tests: build the scene, or apply an edit; render; record
or check with the add-on's command line, in-process.

    blender -b [FILE.blend] --python runner.py -- build DIR
    blender -b DIR/base.blend --python runner.py -- render DIR OUT
    blender -b DIR/base.blend --python runner.py -- edit DIR CASE OUT EDITED.blend
"""

import os
import sys

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scene  # noqa: E402


def render(out):
    sc = bpy.context.scene
    os.makedirs(out, exist_ok=True)
    for f in scene.FRAMES:
        sc.frame_set(f)
        sc.render.filepath = os.path.join(out, "%04d.png" % f)
        bpy.ops.render.render(write_still=True)


def main():
    argv = sys.argv[sys.argv.index("--") + 1:]
    cmd, folder = argv[0], argv[1]
    plates = os.path.join(folder, "plates")
    if cmd == "build":
        bpy.ops.wm.read_factory_settings(use_empty=False)
        scene.build(plates)
        bpy.ops.wm.save_as_mainfile(filepath=os.path.join(folder, "base.blend"), relative_remap=True)
    elif cmd == "render":
        render(argv[2])
    elif cmd == "edit":
        case, out, edited = argv[2], argv[3], argv[4]
        scene.EDITS[case](plates)
        render(out)
        # Beside the base: its relative image paths still point at the plates.
        bpy.ops.wm.save_as_mainfile(filepath=edited)


main()
