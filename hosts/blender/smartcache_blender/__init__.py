"""smartcache for Blender's compositor.

Which composited frames of a scene are still valid, and why the others are not: the
scene's compositor node tree is exported as a smartcache JSON graph
(:func:`export_scene`) and hashed frame by frame by the smartcache Python package,
in-process.

* In the compositor's sidebar (N panel, tab "smartcache"): "Record cache" and "Check
  cache validity", with the verdict per frame range and the reasons.
* From the command line (``blender -b FILE.blend --python-expr 'import
  smartcache_blender; smartcache_blender.main()' -- COMMAND …``): ``export OUT.json``,
  ``record …`` and ``check …`` with the options of the smartcache CLI (see
  :mod:`smartcache_blender.cli`).
"""

bl_info = {
    "name": "smartcache",
    "author": "smartcache developers",
    "version": (0, 1, 0),
    "blender": (3, 4, 0),
    "location": "Compositor > Sidebar > smartcache",
    "description": "Which cached composite frames are still valid, and why the others are not",
    "category": "Compositing",
}

from .export import export_scene  # noqa: E402


def main(argv=None):
    """The command-line entry point (arguments after ``--``)."""
    from . import cli

    return cli.main(argv)


def register():
    from . import panel

    panel.register()


def unregister():
    from . import panel

    panel.unregister()


__all__ = ["export_scene", "main", "register", "unregister"]
