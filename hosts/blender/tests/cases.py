"""The edit cases of the Blender tests and the frames each outdates (no bpy here: the
test process reads it too; scene.py has the edits themselves)."""

FRAMES = range(1, 13)
ALL = list(FRAMES)

OUTDATES = {
    "socket-value": ALL,
    # The middle key of the Mix factor (1, 6, 12): every frame strictly between 1 and 12.
    "keyframe-inside": list(range(2, 12)),
    # The last key: the frames after the middle one.
    "keyframe-outside": list(range(7, 13)),
    # The first key's interpolation shapes 1..6 only strictly inside.
    "interpolation": [2, 3, 4, 5],
    "driver": ALL,
    "driver-variable": ALL,
    "mute": ALL,
    "relink": ALL,
    "switch": ALL,
    "image-offset": ALL,
    "image-rewritten": [5],
    "image-colorspace": ALL,
    "cyclic-in-range": [],
    "sequence-longer": [],
    "resolution": ALL,
    "colour-management": ALL,
    "unused-branch": [],
    "move": [],
    "rename": [],
    "relabel": [],
    "recolour": [],
    "unconnected-node": [],
    "object-moved": ALL,
    "object-material": ALL,
    "viewport-only": [],
    "nla-strip": ALL,
}
