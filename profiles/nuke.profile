# smartcache node-class profile: Nuke
#
# What each node class does to a frame, as data: which inputs it reads, which knob
# disables it, which frames of its inputs it reads, whether its output changes from
# frame to frame by itself, how its motion blur samples time, and which knobs name
# files. The manifest (src/manifest/) reads class semantics only from here. It is
# embedded in the smartcache binary; `smartcache classes` prints the profile in force
# and its fingerprint, which every hash.json records (a check under another profile
# says "the class profile changed"). Studio files layer on top (SMARTCACHE_PROFILE, a
# `:`-separated list, then `--profile FILE`), with the same syntax.
#
# Format: one directive per line; `#` starts a comment.
#
#   profile NAME                  the host this profile is for (first line that says so)
#   known CLASS…                  classes the host provides: frame-local, every input
#                                 read, `disable` disables; anything not known is a
#                                 plug-in or a gizmo (see `unknown`)
#   class PATTERN PROPERTY…       semantics of classes matching the glob PATTERN (case
#                                 sensitive, whole name; `*`, `?`, `[ab]`, `{a,b}`);
#                                 makes them known
#   unknown PROPERTY…             semantics of classes no line names (plug-ins, gizmos)
#   root PROPERTY…                Root settings (see `on-demand`)
#
# Lines are read in order and the last one to set a property wins, so a studio file
# can override anything here. A property is a flag (`pass`) or `name=value`; a value
# naming knobs is `knob|other_knob:default`: the first knob the node sets is used, and
# `default` (Nuke's default for that knob, since knobs at their default are not saved)
# applies when it sets none. A default written `a|b` means "either, depending on the
# Nuke version": smartcache covers both. A knob without a default that the node does
# not set makes smartcache conservative.
#
# Properties:
#   pass                          the output is input 0 (wiring only)
#   inputs=all|select|blend       which inputs are read: all; the one `which=` selects
#                                 (Switch); the ones a fractional `which=` blends
#                                 (Dissolve). Mask inputs (`inputs 2+1`) are read whenever
#                                 the node is enabled.
#   which=KNOB                    the selector knob of select/blend
#   disable=KNOB | disable=none   the knob that makes the node pass input 0 through
#   time=KIND                     which frames of its inputs frame f reads:
#     local                         f (the default)
#     offset    offset= reverse=    f - offset; reversed input: every frame
#     hold      frame= increment=   the held frame (every increment-th from frame=)
#     range     count= first= last= use-range=
#                                   the count-1 frames before f and f, or with use-range
#                                   on every frame from first to last
#     behind    behind=             f - behind to f
#     samples   divisions= shutter= shutter-offset= custom-offset=
#                                   every time in the shutter around f
#     snap                          the whole frames around f (floor and ceil)
#     clip      first= last= mode= frame= before= after= on-error=
#                                   a clip's frame mapping (start at, offset, expression;
#                                   hold, loop, bounce, black outside first-last; a missing
#                                   file replaced by the nearest one with `nearest frame`)
#     retime    in-first= in-last= out-first= speed= reverse= before= after= shutter=
#     lookup    lookup= shutter=    the frame a lookup curve gives, with its blend
#     all                           every frame (read, conservatively, as the whole range)
#   blur-on=KNOB blur-above=N     motion blur is on when KNOB > N (default N = 0); then
#   shutter= shutter-offset= custom-offset=
#                                 the node samples its knobs over the shutter window
#                                 (centred: f-s/2..f+s/2; start: f..f+s; end: f-s..f;
#                                 custom: f+c..f+c+s)
#   blur-inputs                   with motion blur on, its inputs are sampled over the
#                                 shutter too (3D renderers, concatenating transforms)
#   own=all                       its own knobs are read at every frame (trackers read
#                                 their reference frame)
#   varying                       its output changes from frame to frame by itself
#   pad=N                         its knobs, and everything upstream, are sampled up to
#                                 N frames around the frame (what is assumed of unknown
#                                 classes)
#   files=KNOB:KIND,…             knobs that name files it reads. KIND: image (a frame
#                                 sequence), proxy (the image read in proxy mode), deep,
#                                 geometry, lut, cdl, ocio-config, font, script (a nested
#                                 script), vectorfield
#   reads-root=KNOB,…|*           Root settings it reads besides those every node reads
#   on-demand=KNOB,…              (root only) Root settings recorded only for nodes that
#                                 read them (an expression, or `reads-root`), not for
#                                 every frame of every cache
#   files=KNOB:KIND,…             (root) Root knobs naming files every frame reads
#   ocio-env=VAR ocio-when=KNOB:VALUE
#                                 (root) when KNOB is VALUE and no Root knob names an
#                                 OCIO config, the one $VAR names is read (its content,
#                                 and the LUTs in its search path)
#
# Why the defaults are what they are: rule 1 of smartcache is "never miss an
# invalidation". A class smartcache does not know may read any Root setting and may
# sample its knobs around the frame (motion blur), so `unknown` says so; classes known
# to read other frames but not modelled exactly read every frame.

profile nuke

# --- Classes nothing is known about -----------------------------------------------------
unknown pad=0.5 reads-root=*

# --- Root ---------------------------------------------------------------------------------
# The frame range and rate are metadata of the timeline: they change pixels only where
# something reads them (an expression such as [value root.first_frame], a time node).
root on-demand=fps,first_frame,last_frame,lock_range
# Colour management: a custom config, else the one $OCIO names, colours every frame.
root files=customOCIOConfigPath:ocio-config ocio-env=OCIO ocio-when=colorManagement:OCIO

# --- Built-in classes with the default semantics (frame-local) --------------------------
# Image
known Constant CheckerBoard CheckerBoard2 ColorBars ColorWheel Ramp Radial Rectangle
known Noise Text Text2 Roto RotoPaint Bezier Paint Wireframe Grid LightWrap Flare
known Sparkles GodRays Glint Write WriteGeo DeepWrite Viewer ContactSheet LayerContactSheet
known Rectangle Histogram Assert Sampler Expression MergeExpression BlinkScript
# Channels
known Shuffle Shuffle2 ShuffleCopy Copy ChannelMerge AddChannels Remove
# Colour
known Grade ColorCorrect HueCorrect HueShift Saturation Multiply Add Gamma Clamp Invert
known ColorLookup ColorMatrix Colorspace Log2Lin Lin2Log Toe2 SoftClip Posterize
known Histogram Expression CCorrect ColorTransfer MinColor Exposure EXPTool Premult
known Unpremult OCIOColorSpace OCIODisplay OCIOLookTransform OCIOLogConvert
known OCIONamedTransform OCIOCDLTransform OCIOFileTransform Vectorfield GenerateLUT
known Truelight Truelight3 PLogLin Sampler Grade2 ColorCorrect2
# Filter
known Blur Defocus ZDefocus ZDefocus2 Convolve Convolve2 DirBlurWrapper DirBlur
known EdgeBlur EdgeDetect EdgeDetectWrapper Emboss Erode FilterErode Dilate Glow Glow2
known IDistort Laplacian Median Sharpen Soften VectorBlur VectorBlur2 ZBlur Matrix
known Bilateral Bilateral2 Inpaint Inpaint2 LensDistortion LensDistortion2 Position
known DegrainSimple DegrainBlue BumpBoss GodRays VolumeRays ZSlice
# Keyer
known Keyer HueKeyer IBKColourV3 IBKGizmoV3 IBK Keylight Primatte Primatte3 Ultimatte
known Difference ChromaKeyer Cryptomatte
# Merge
known Merge Merge2 Keymix Blend CopyBBox CopyRectangle AddMix ZMerge Absminus
known MergeExpression ChannelMerge
# Transform
known Crop Reformat AdjBBox BlackOutside Mirror Mirror2 Position Tile SphericalTransform
known STMap GridWarp GridWarp3 SplineWarp SplineWarp3 PointsTo3D Reconcile3D
known TransformMasked LensDistortion
# Deep
known DeepColorCorrect DeepColorCorrect2 DeepCrop DeepExpression DeepFromFrames
known DeepFromImage DeepHoldout DeepHoldout2 DeepMerge DeepMerge2 DeepRecolor DeepReformat
known DeepSample DeepToImage DeepToImage2 DeepToPoints DeepTransform DeepWrite DeepVolumeMaker
# 3D
known Axis Axis2 Axis3 Camera Camera2 Camera3 Camera4 Light Light2 Light3 Light4
known DirectLight Spotlight Environment EnvironmentLight Card Card2 Card3D Cube Cylinder
known Sphere Scene MergeGeo TransformGeo DisplaceGeo Normals ProcGeo PositionToPoints
known PositionToPoints2 EditGeo GeoSelect ModifyRIB Project3D Project3D2 UVProject
known ApplyMaterial BasicMaterial BlendMat Diffuse Emission FillMat Phong Reflection
known Refraction Specular Transmission Displacement AmbientOcclusion ReLight
known DepthToPosition DepthToPoints PointCloudGenerator LookupGeo LogGeo CrosstalkGeo
known RadialDistort Trilinear PythonGeo WriteGeo
# Metadata and views
known ModifyMetaData CopyMetaData AddTimeCode CompareMetaData ViewMetaData
known JoinViews OneView SplitAndJoin ShuffleViews Anaglyph SideBySide MixViews
# Other
known ClipTest Group Gizmo LiveGroup VariableGroup Input Output NodeWrapper Precomp
known Dot NoOp BackdropNode StickyNote PostageStamp Switch Dissolve TimeOffset FrameHold
known FrameRange FrameBlend TimeEcho TimeBlur Retime TimeWarp TimeClip AppendClip Read
known DeepRead ReadGeo ReadGeo2 Tracker Tracker3 Tracker4 CameraTracker PlanarTracker
known CornerPin2D Stabilize2D Transform ScanlineRender RayRender PrmanRender
known MotionBlur MotionBlur2D MotionBlur3D Kronos OFlow OFlow2 VectorGenerator
known SmartVector VectorDistort VectorToMotion NoTimeBlur

# --- Wiring ---------------------------------------------------------------------------------
class Dot pass disable=none
class Input disable=none
class Output disable=none
class Precomp files=file:script reads-root=*
class LiveGroup files=file:script

# --- Inputs read ----------------------------------------------------------------------------
class Switch inputs=select which=which:0
class Dissolve inputs=blend which=which:0

# --- Time -----------------------------------------------------------------------------------
class TimeOffset time=offset offset=time_offset:0 reverse=reverse_input:false
# Nuke 13 renamed the held frame knob; older scripts keep first_frame.
class FrameHold time=hold frame=firstFrame|first_frame:0 increment=increment:0
class FrameBlend time=range count=numframes:5 first=startframe:-1 last=endframe:-1 use-range=userange:false
class TimeEcho time=behind behind=framesbehind
class TimeBlur time=samples divisions=divisions:10 shutter=shutter:0.5 shutter-offset=shutteroffset:start|centred custom-offset=shuttercustomoffset:0
class NoTimeBlur time=snap
class TimeClip time=clip first=first last=last mode=frame_mode:expression frame=frame before=before:hold after=after:hold reads-root=*
class Retime time=retime in-first=input.first in-last=input.last out-first=output.first speed=speed:1 reverse=reverse:false before=before:hold after=after:hold shutter=shutter:0 reads-root=*
class TimeWarp time=lookup lookup=lookup shutter=shutter:0 reads-root=*
class AppendClip time=all reads-root=*
class {Kronos,OFlow,OFlow2,MotionBlur,VectorGenerator,SmartVector,VectorDistort} time=all reads-root=*
class {OFX*oflow*,OFX*kronos*,OFX*Kronos*,OFX*OFlow*} time=all reads-root=*
class {Denoise*,Temporal*,F_Steadiness,F_DeFlicker*,DeFlicker*} time=all
class {Particle*,MotionBlur2D,MotionBlur3D} time=all reads-root=*

# --- Trackers: the transform at a frame reads the track at its reference frame ---------------
class {Tracker,Tracker3,Tracker4,CameraTracker,PlanarTracker,Stabilize2D} own=all

# --- Motion blur ------------------------------------------------------------------------------
class {Transform,TransformMasked,CornerPin2D,Tracker4,Stabilize2D,Card2,Card3D,Reconcile3D} blur-on=motionblur:0 shutter=shutter:0.5 shutter-offset=shutteroffset:start|centred custom-offset=shuttercustomoffset:0 blur-inputs
class {ScanlineRender,RayRender} blur-on=samples:1 blur-above=1 shutter=shutter:0.5 shutter-offset=shutteroffset:start|centred custom-offset=shuttercustomoffset:0 blur-inputs

# --- Output that changes every frame by itself ------------------------------------------------
class {Grain,Grain2,ScannedGrain,F_ReGrain,*Grain_v*} varying

# --- Files ----------------------------------------------------------------------------------
class Read time=clip first=first last=last mode=frame_mode:expression frame=frame before=before:hold after=after:hold on-error=on_error:error varying files=file:image,proxy:proxy
class DeepRead time=clip first=first last=last mode=frame_mode:expression frame=frame before=before:hold after=after:hold on-error=on_error:error varying files=file:deep
class {ReadGeo,ReadGeo2} varying files=file:geometry
class {Camera,Camera2,Camera3,Camera4,Axis,Axis2,Axis3,Light,Light2,Light3,Light4} files=file:geometry
class OCIOFileTransform files=file:lut
class OCIOCDLTransform files=file:cdl
class Vectorfield files=vfield_file:lut
class {Text,Text2} files=font:font
