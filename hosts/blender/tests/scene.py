"""The test scene and its edits, run inside Blender.

The scene: a 12-frame image sequence (each plate a gradient in its own colour) blurred
by a size the frame drives, mixed over a colour with an animated factor (keys at 1, 6
and 12), through a Switch whose "On" branch is unused, a node group (an Invert) and a
muted-by-nothing chain to the Composite; a Viewer and a reroute on the side. Rendered
64x36 with no stamp, so a frame renders in a fraction of a second.

Each edit is a function of the plates folder that changes the open scene (`EDITS`);
`cases.py` says which frames it outdates, which must be exactly those whose pixels
change: the test renders both and compares.
"""

import os

import bpy

from cases import FRAMES  # noqa: E402
W, H = 64, 36


def plate_pixels(f, shift=0.0):
    px = []
    for y in range(H):
        for x in range(W):
            t = x / (W - 1)
            stripe = float((x // 3 + y // 4 + f) % 3 == 0)
            px += [min(1.0, 0.05 * f + shift), 0.25 + 0.5 * stripe, 1.0 - t, 1.0]
    return px


def write_plate(folder, f, shift=0.0):
    im = bpy.data.images.new("plate_tmp", W, H)
    im.pixels = plate_pixels(f, shift)
    im.filepath_raw = os.path.join(folder, "plate.%04d.png" % f)
    im.file_format = "PNG"
    im.save()
    bpy.data.images.remove(im)


def build(folder):
    """Write the plates into `folder` and set up the scene (not saved)."""
    os.makedirs(folder, exist_ok=True)
    for f in FRAMES:
        write_plate(folder, f)
    sc = bpy.context.scene
    sc.frame_start, sc.frame_end = FRAMES[0], FRAMES[-1]
    r = sc.render
    r.resolution_x, r.resolution_y, r.resolution_percentage = W, H, 100
    r.use_stamp = False
    r.engine = "BLENDER_WORKBENCH"
    sc.display.shading.color_type = "OBJECT"
    r.image_settings.file_format = "PNG"
    r.image_settings.color_mode = "RGBA"
    r.dither_intensity = 0.0
    if sc.camera is None:
        cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
        sc.collection.objects.link(cam)
        sc.camera = cam
    cube = bpy.data.objects.get("Cube")
    if cube is None:
        cube = bpy.data.objects.new("Cube", bpy.data.meshes.new("Cube"))
        sc.collection.objects.link(cube)
    sc.use_nodes = True
    tree = sc.node_tree
    for n in list(tree.nodes):
        tree.nodes.remove(n)
    img = bpy.data.images.load(os.path.join(folder, "plate.0001.png"))
    img.source = "SEQUENCE"
    image = tree.nodes.new("CompositorNodeImage")
    image.name = "Plate"
    image.image = img
    image.frame_duration, image.frame_start, image.frame_offset = 12, 1, 0
    blur = tree.nodes.new("CompositorNodeBlur")
    blur.name = "Blur"
    drv = blur.driver_add("size_x").driver
    drv.type = "SCRIPTED"
    drv.expression = "frame / 3"
    # A driver reading another node's animated value: the Mix factor, 0.2 to 0.9.
    drv_y = blur.driver_add("size_y").driver
    drv_y.type = "SCRIPTED"
    var = drv_y.variables.new()
    var.name = "fac"
    var.targets[0].id_type = "SCENE"
    var.targets[0].id = sc
    var.targets[0].data_path = 'node_tree.nodes["Mix"].inputs[0].default_value'
    drv_y.expression = "fac * 4"
    reroute = tree.nodes.new("NodeReroute")
    mix = tree.nodes.new("CompositorNodeMixRGB")
    mix.name = "Mix"
    mix.inputs[2].default_value = (0.9, 0.1, 0.1, 1.0)
    fac = mix.inputs[0]
    for frame, value in ((1, 0.2), (6, 0.9), (12, 0.4)):
        fac.default_value = value
        fac.keyframe_insert("default_value", frame=frame)
    for k in tree.animation_data.action.fcurves[0].keyframe_points:
        k.interpolation = "LINEAR"
    off_branch = tree.nodes.new("CompositorNodeRGB")
    off_branch.name = "Unused"
    off_branch.outputs[0].default_value = (0.0, 0.0, 1.0, 1.0)
    switch = tree.nodes.new("CompositorNodeSwitch")
    switch.name = "Switch"
    switch.check = False
    group = bpy.data.node_groups.new("InvertGroup", "CompositorNodeTree")
    gi, go = group.nodes.new("NodeGroupInput"), group.nodes.new("NodeGroupOutput")
    group.inputs.new("NodeSocketColor", "Image")
    group.outputs.new("NodeSocketColor", "Image")
    inv = group.nodes.new("CompositorNodeInvert")
    inv.inputs[0].default_value = 1.0
    group.links.new(gi.outputs[0], inv.inputs[1])
    group.links.new(inv.outputs[0], go.inputs[0])
    gnode = tree.nodes.new("CompositorNodeGroup")
    gnode.name = "Group"
    gnode.node_tree = group
    # The 3D scene (the default cube, seen by the camera), rendered and added in.
    layers = tree.nodes.new("CompositorNodeRLayers")
    layers.name = "Render Layers"
    layers.scene = sc
    over = tree.nodes.new("CompositorNodeMixRGB")
    over.name = "Over"
    over.blend_type = "ADD"
    over.inputs[0].default_value = 0.25
    comp = tree.nodes.new("CompositorNodeComposite")
    comp.name = "Composite"
    viewer = tree.nodes.new("CompositorNodeViewer")
    L = tree.links.new
    L(image.outputs["Image"], blur.inputs["Image"])
    L(blur.outputs[0], reroute.inputs[0])
    L(reroute.outputs[0], mix.inputs[1])
    L(mix.outputs[0], switch.inputs[0])
    L(off_branch.outputs[0], switch.inputs[1])
    L(switch.outputs[0], gnode.inputs[0])
    L(gnode.outputs[0], over.inputs[1])
    L(layers.outputs["Image"], over.inputs[2])
    L(over.outputs[0], comp.inputs[0])
    L(gnode.outputs[0], viewer.inputs[0])
    for i, n in enumerate(tree.nodes):
        n.location = (200 * i, 0)
    return sc


def nodes():
    return bpy.context.scene.node_tree.nodes


def fac_keys():
    return bpy.context.scene.node_tree.animation_data.action.fcurves[0].keyframe_points


def driver():
    drivers = bpy.context.scene.node_tree.animation_data.drivers
    return next(d.driver for d in drivers if d.data_path.endswith("size_x"))


def variable_driver():
    drivers = bpy.context.scene.node_tree.animation_data.drivers
    return next(d.driver for d in drivers if d.data_path.endswith("size_y"))


def rewrite_plate(folder):
    write_plate(folder, 5, shift=0.4)


def set_key(i, value):
    k = fac_keys()[i]
    k.co[1] = value
    k.handle_left[1] = value
    k.handle_right[1] = value


def relink(folder):
    tree = bpy.context.scene.node_tree
    tree.links.new(nodes()["Blur"].outputs[0], nodes()["Switch"].inputs[0])


def recolour(folder):
    nodes()["Blur"].use_custom_color = True
    nodes()["Blur"].color = (1.0, 0.0, 0.0)


def viewport_only(folder):
    """What an artist does in the 3D view without changing the render."""
    bpy.context.scene.cursor.location = (3.0, -2.0, 1.0)
    cube = bpy.data.objects["Cube"]
    cube.select_set(True)
    cube.show_name = True
    bpy.context.scene.frame_current = 7


def nla_strip(folder):
    """An NLA strip animating a value the active action does not: the Over factor."""
    tree = bpy.context.scene.node_tree
    act = bpy.data.actions.new("OverFade")
    fc = act.fcurves.new('nodes["Over"].inputs[0].default_value')
    fc.keyframe_points.insert(1, 0.6)
    fc.keyframe_points.insert(12, 0.6)
    tree.animation_data.nla_tracks.new().strips.new("OverFade", 1, act)


def unconnected(folder):
    n = nodes().new("CompositorNodeBrightContrast")
    n.name = "Loose"
    n.inputs[1].default_value = 0.5


# name -> edit(plates folder); what each outdates is in cases.py.
EDITS = {
    "socket-value": lambda d: setattr(nodes()["Mix"].inputs[2], "default_value", (0.1, 0.9, 0.1, 1.0)),
    "keyframe-inside": lambda d: set_key(1, 0.5),
    "keyframe-outside": lambda d: set_key(2, 0.0),
    "interpolation": lambda d: setattr(fac_keys()[0], "interpolation", "CONSTANT"),
    "driver": lambda d: setattr(driver(), "expression", "frame / 3 + 2"),
    "driver-variable": lambda d: setattr(variable_driver(), "expression", "fac * 4 + 3"),
    "mute": lambda d: setattr(nodes()["Group"], "mute", True),
    "relink": relink,
    "switch": lambda d: setattr(nodes()["Switch"], "check", True),
    "image-offset": lambda d: setattr(nodes()["Plate"], "frame_offset", 1),
    "image-rewritten": rewrite_plate,
    "image-colorspace": lambda d: setattr(nodes()["Plate"].image.colorspace_settings, "name", "Linear"),
    "cyclic-in-range": lambda d: setattr(nodes()["Plate"], "use_cyclic", True),
    "sequence-longer": lambda d: setattr(nodes()["Plate"], "frame_duration", 20),
    "resolution": lambda d: setattr(bpy.context.scene.render, "resolution_x", 48),
    "colour-management": lambda d: setattr(bpy.context.scene.view_settings, "view_transform", "Standard"),
    "unused-branch": lambda d: setattr(nodes()["Unused"].outputs[0], "default_value", (1.0, 1.0, 0.0, 1.0)),
    "move": lambda d: setattr(nodes()["Mix"], "location", (999.0, -333.0)),
    # (Not Mix: a driver names it, and renaming a driver's target rewrites the driver.)
    "rename": lambda d: setattr(nodes()["Blur"], "name", "Soften"),
    "relabel": lambda d: setattr(nodes()["Blur"], "label", "soften"),
    "recolour": recolour,
    "unconnected-node": unconnected,
    # The 3D scene the Render Layers node renders.
    "object-moved": lambda d: setattr(bpy.data.objects["Cube"], "location", (0.6, 0.0, 0.3)),
    "object-material": lambda d: setattr(bpy.data.objects["Cube"], "color", (0.9, 0.2, 0.1, 1.0)),
    "viewport-only": viewport_only,
    "nla-strip": nla_strip,
}
