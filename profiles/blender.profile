# smartcache node-class profile: Blender's compositor
#
# Same format as nuke.profile (read its header for every directive and property). This
# one describes the node tree a Blender scene's compositor runs, as the add-on in
# hosts/blender exports it: a node's class is its `bl_idname`, its knobs are its
# properties and unlinked input-socket values (`in_<socket>`), `mute` mutes it, and the
# scene's render and colour settings are the Root knobs.
#
# Why the defaults are what they are: Blender's compositor evaluates every node at the
# scene's current frame (no motion-blur sampling of knobs, no time offsets), so known
# classes are frame-local; a muted node passes through the input Blender links to its
# first output (the add-on writes its slot as `mute_input`, or leaves it out when the
# outputs pass different inputs, and then every input counts); a class nothing here
# names is treated as Nuke's unknown classes are.

profile blender

# --- Classes nothing is known about -----------------------------------------------------
unknown pad=0.5 reads-root=*

# --- Root: the scene ----------------------------------------------------------------------
# The frame range and rate change pixels only where something reads them.
root on-demand=fps,fps_base,first_frame,last_frame,frame_step
# Blender always manages colour with OCIO: $OCIO's config when set (else the one bundled
# with Blender, which `blender_version` stands for).
root ocio-env=OCIO ocio-when=color_management:OCIO

# --- Every built-in node: frame-local, every input read, `mute` passes an input ----------
class {CompositorNode*,Node*} disable=mute disable-input=mute_input

# --- Wiring and annotation ----------------------------------------------------------------
class NodeReroute pass disable=none
class NodeFrame disable=none
# A group's inputs and outputs, as the add-on writes them (Nuke's names, so that groups
# work as Nuke groups do: the group's image is its Output).
class Input disable=none
class Output disable=none

# --- Inputs read ----------------------------------------------------------------------------
# `check` on reads the second input ("On"), off the first ("Off").
class CompositorNodeSwitch inputs=select which=check:false

# --- Output that changes with the frame by itself -------------------------------------------
# The Time Curve node outputs its curve at the frame; Render Layers, masks and movie
# clips change with the frame too (their content is outside the node tree: see README).
class {CompositorNodeTime,CompositorNodeRLayers,CompositorNodeMask,CompositorNodeTrackPos} varying

# --- Files ----------------------------------------------------------------------------------
# The Image node's sequence mapping, written by the add-on as a clip (first..last, `start
# at` frame, hold or loop outside): the file number at scene frame f is
# n + frame_offset with n = f - frame_start + 1, wrapped into 1..frame_duration when
# cyclic and clamped into 0..frame_duration otherwise.
class CompositorNodeImage time=clip first=first last=last mode=frame_mode:start_at frame=frame before=before:hold after=after:hold on-error=on_error:black varying files=file:image
class {CompositorNodeMovieClip,CompositorNodeMovieDistortion,CompositorNodeStabilize,CompositorNodePlaneTrackDeform,CompositorNodeKeyingScreen} varying files=clip_file:geometry
