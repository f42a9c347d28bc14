"""The add-on's command line: what scripts and render farms run.

    blender -b FILE.blend --python-expr 'import smartcache_blender; smartcache_blender.main()' -- COMMAND …

Commands (options as the smartcache CLI's; the script is the open .blend's scene):

* ``export OUT.json``: write the scene's compositor graph (``-`` for standard output).
* ``record --cache-dir DIR [--node NODE] [--frames SPEC] [--render PATTERN] [--json]``
* ``check --cache-dir DIR [--node NODE] [--frames SPEC] [--strict] [--json]
  [--openjd JOB.yaml --render-command CMD [--chunk N]]``

``--node`` defaults to the active Composite node, ``--frames`` to the scene's range.
Exit status as the CLI's: 0 done (check: every frame valid), 1 check found frames not
valid, 2 an error (its message on standard error).
"""

import argparse
import json
import os
import shlex
import sys

import bpy

from .export import export_scene
from .report import summarize

# The command a farm task runs to record what it rendered (see `write_openjd`).
ENTRY = "import smartcache_blender; smartcache_blender.main()"


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError("%s: %s" % (self.prog, message))


def parser():
    p = Parser(prog="smartcache_blender", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="write the scene's graph as JSON")
    ex.add_argument("out", help="the JSON file to write, or - for standard output")
    for name in ("record", "check"):
        c = sub.add_parser(name)
        c.add_argument("--cache-dir", required=True)
        c.add_argument("--node", "-n", default=None)
        c.add_argument("--frames", default=None)
        c.add_argument("--rules", action="append", default=[])
        c.add_argument("--profile", action="append", default=[])
        c.add_argument("--json", action="store_true")
        if name == "record":
            c.add_argument("--render", default=None)
        else:
            c.add_argument("--strict", action="store_true")
            c.add_argument("--openjd", default=None, metavar="JOB.yaml")
            c.add_argument("--render-command", default=None)
            c.add_argument("--chunk", type=int, default=10)
    return p


def graph_name_of_active_composite(graph):
    """The graph name of the Composite node Blender writes (the active one)."""
    tree = bpy.context.scene.node_tree
    composites = [n for n in graph["nodes"] if n["class"] == "CompositorNodeComposite"
                  and "parent" not in n]
    for n in composites:
        for k in n["knobs"]:
            if k["name"] == "is_active_output" and k.get("value") == "true":
                return n["name"]
    if composites:
        return composites[0]["name"]
    raise UsageError("the scene's compositor has no Composite node; name the output with --node")


def write_atomic(path, text):
    """Write `text` to `path` whole or not at all: a temporary file beside it, synced,
    renamed over it, the folder synced."""
    path = os.path.abspath(path)
    tmp = "%s.tmp-%d" % (path, os.getpid())
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    fd = os.open(os.path.dirname(path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def blend_path():
    return bpy.data.filepath or os.path.join(os.getcwd(), "untitled.blend")


def load_script(graph):
    import smartcache

    # Named after the .blend, in its folder: messages name the scene's file.
    path = os.path.splitext(blend_path())[0] + ".smartcache.json"
    return smartcache.Script.from_json(json.dumps(graph), path=path)


def frames_of(spec):
    return spec if spec else None


def run(argv):
    args = parser().parse_args(argv)
    graph = export_scene(bpy.context.scene)
    if args.command == "export":
        text = json.dumps(graph, indent=1, sort_keys=False) + "\n"
        if args.out == "-":
            sys.stdout.write(text)
        else:
            write_atomic(args.out, text)
        return 0
    import smartcache

    node = args.node or graph_name_of_active_composite(graph)
    script = load_script(graph)
    cache = smartcache.RenderCache(args.cache_dir, rules=args.rules or None,
                                   profiles=args.profile or None)
    if args.command == "record":
        report = cache.record(script, node, frames=frames_of(args.frames), render=args.render)
        if args.json:
            print(report.to_json())
        else:
            print("recorded %d frames of %s into %s (master now holds %d frames)"
                  % (len(report.frames), node, args.cache_dir, report.master_frames))
        return 0
    report = cache.check(script, node, frames=frames_of(args.frames))
    if args.openjd and report.valid:
        print("every frame is valid: no job written to %s" % args.openjd, file=sys.stderr)
    elif args.openjd:
        if not args.render_command:
            raise UsageError("check: --openjd needs --render-command")
        write_openjd(args, report, node)
    if args.json:
        print(report.to_json())
    else:
        print("\n".join(panel_lines(report, node)))
    return 0 if report.valid else 1


def panel_lines(report, node):
    """The check's verdict per frame range, then the reasons (as the panel shows it)."""
    return summarize(report, node, limit=None)


def write_openjd(args, report, node):
    """An OpenJD job re-rendering the frames `report` found outdated (see the
    smartcache CLI's `check --openjd`): each task renders its frames with the render
    command, then records them with this entry point, with the same rules and profiles."""
    def brace(word):  # a shell word in a command whose `{` are placeholders
        return shlex.quote(word).replace("{", "{{")

    record = (
        "blender -b {script} --python-use-system-env --python-expr %s -- "
        "record --cache-dir {cache_dir} --node %s --frames {frames}" % (brace(ENTRY), brace(node))
    )
    for flag, files in (("--rules", args.rules), ("--profile", args.profile)):
        for f in files:
            record += " %s %s" % (flag, brace(os.path.abspath(f)))
    script, cache_dir = blend_path(), os.path.abspath(args.cache_dir)
    tasks = report.write_openjd(args.openjd, render_command=args.render_command,
                                record_command=record, script=script,
                                cache_dir=cache_dir, chunk=args.chunk)
    print("wrote %s (%d tasks)" % (args.openjd, tasks), file=sys.stderr)
    # OpenJD takes a default only below the template's folder (see smartcache.openjd).
    folder = os.path.realpath(os.path.dirname(os.path.abspath(args.openjd)))
    given = ["-p %s=%s" % (name, shlex.quote(p)) for name, p in
             (("Script", script), ("CacheDir", cache_dir))
             if os.path.commonpath([folder, os.path.realpath(p)]) != folder]
    if given:
        print("not below the job's folder, so without a default: submit with %s"
              % " ".join(given), file=sys.stderr)


def main(argv=None):
    """Run a command; exits Blender with the command's status."""
    if argv is None:
        argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    try:
        code = run(argv)
    except UsageError as e:
        print("error: %s" % e, file=sys.stderr)
        code = 2
    except Exception as e:  # smartcache.Error and OS errors: the message, status 2
        import smartcache

        if isinstance(e, (smartcache.Error, OSError)):
            print("error: %s" % e, file=sys.stderr)
            code = 2
        else:
            raise
    sys.stdout.flush()
    # Blender exits with this status (it would otherwise go on, and exit 0).
    sys.exit(code)
