#!/bin/sh
# The main job on the fixture shipped in the repository (fixtures/render/comp.nk, a
# small comp reading 100 plate frames): record a render cache, check it, then change one
# animation key and re-render one plate in place, check again and explain a frame.
# Works in a temporary copy; the repository is left as it was.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
bin="$here/target/release/smartcache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -R "$here/fixtures/render" "$work/shot"
cd "$work/shot"

run() {
    printf '\n$ smartcache %s\n' "$*"
    "$bin" "$@" || true
}

run record comp.nk --node Write1 --cache-dir cache
run check comp.nk --node Write1 --cache-dir cache
printf '\n# An artist moves every node, and changes the Grade1.white key at 1050 from 1.2 to 1.4;\n'
printf '# plate frame 1075 is re-rendered in place on disk.\n'
sed -e 's/x1050 1.2/x1050 1.4/' -e 's/^ xpos \(-*[0-9]*\)$/ xpos 1\1/' comp.nk > comp.edited.nk
mv comp.edited.nk comp.nk
printf 'a re-rendered plate\n' > plates/plate.1075.png
run check comp.nk --node Write1 --cache-dir cache
run explain cache --frame 1050
run snapshots cache
