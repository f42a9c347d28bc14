#!/bin/sh
# The main job on the fixture shipped in the repository (fixtures/render/comp.nk, a
# small comp reading 100 plate frames): record a render cache, check it, then change one
# animation key and re-render one plate in place, check again, list the frames to
# render again, explain a frame and see every cache of the shot at a glance.
# Works in a temporary copy; the repository is left as it was.
#
# The binary is built and run with `cargo run --release`, so CARGO_TARGET_DIR (or a
# target-dir in a cargo config) is honoured; a failed build stops the demo (set -e).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -R "$here/fixtures/render" "$work/shot"
cd "$work/shot"

# Exit status 1 (something is not valid) is an answer, not a failure; anything else is.
run() {
    printf '\n$ smartcache %s\n' "$*"
    status=0
    cargo run --release --quiet --manifest-path "$here/Cargo.toml" -- "$@" || status=$?
    if [ "$status" -gt 1 ]; then
        echo "demo: smartcache $* failed with status $status" >&2
        exit "$status"
    fi
}

run record comp.nk --node Write1
run check comp.nk --node Write1
printf '\n# An artist moves every node, and changes the Grade1.white key at 1050 from 1.2 to 1.4;\n'
printf '# plate frame 1075 is re-rendered in place on disk.\n'
sed -e 's/x1050 1.2/x1050 1.4/' -e 's/^ xpos \(-*[0-9]*\)$/ xpos 1\1/' comp.nk > comp.edited.nk
mv comp.edited.nk comp.nk
printf 'a re-rendered plate\n' > plates/plate.1075.png
run check comp.nk --node Write1
run check comp.nk --node Write1 --outdated --format nuke
run explain .smartcache/comp/Write1 --frame 1050
run status .
