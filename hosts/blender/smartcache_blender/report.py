"""A check's verdict as lines: per frame range, then each outdated frame's reasons."""

MAX_LINES = 40


def summarize(report, node, limit=MAX_LINES):
    """`1-40 valid`, `41-60 outdated`, then the reasons of each outdated frame."""
    runs = []
    for fr in report.frames:
        if runs and runs[-1][2] == fr.status and runs[-1][1] == fr.frame - 1:
            runs[-1][1] = fr.frame
        else:
            runs.append([fr.frame, fr.frame, fr.status])
    counts = ", ".join("%d %s" % (v, k) for k, v in sorted(report.summary.items()))
    lines = ["%s: %s" % (node, counts)]
    lines += ["%s %s" % (a if a == b else "%d-%d" % (a, b), s) for a, b, s in runs]
    for fr in report.frames:
        for r in fr.reasons:
            lines.append("%d: %s" % (fr.frame, r.text))
    return lines if limit is None else lines[:limit]
