"""The Markdown report: the machine, one results table per case, ratios, and the targets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from harness.section import Section, Target, fmt_ratio, fmt_time


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    return [line(header), "|" + "|".join("---" for _ in header) + "|", *(line(r) for r in rows)]


def _variants(section: Section) -> list[str]:
    measured = section.measured
    if measured is None:
        return []
    rows = []
    for v in measured.variants:
        stats = measured.stats(v.key)
        if stats is None:
            why = measured.failures.get(v.key, "no sample")
            rows.append([v.label, f"FAILED ({why})", "", ""])
            continue
        rows.append(
            [
                v.label,
                fmt_time(stats.median),
                f"{fmt_time(stats.low)} – {fmt_time(stats.high)}",
                f"{stats.rss_mib:.1f} MiB",
            ]
        )
    return table(["command", "median wall", "min – max", "peak RSS"], rows)


def _pairs(section: Section) -> list[str]:
    measured = section.measured
    if measured is None or not section.pairs:
        return []
    rows = [[p.label, fmt_ratio(measured.ratio(p.a, p.b))] for p in section.pairs]
    return table(["ratio (median of per-round ratios)", "value"], rows)


def render_section(section: Section) -> list[str]:
    blocks = [
        _variants(section),
        _pairs(section),
        table(["derived", "value"], [list(m) for m in section.metrics]) if section.metrics else [],
        [section.body.rstrip()] if section.body.strip() else [],
        [f"- {note}" for note in section.notes],
    ]
    out = [f"## {section.number}. {section.title}"]
    for block in blocks:
        if block:
            out += ["", *block]
    return [*out, ""]


def _met(target: Target) -> str:
    return {True: "yes", False: "**no**", None: "not evaluated"}[target.met]


def render(sections: Sequence[Section], header: Mapping[str, str], preamble: Sequence[str]) -> str:
    out = ["# mergegate benchmarks", "", *preamble, ""]
    out += table(["machine / run", "value"], [[k, v] for k, v in header.items()])
    out.append("")
    for section in sections:
        out += render_section(section)
    targets = [t for s in sections for t in s.targets]
    if targets:
        out += ["## Targets", ""]
        out += table(
            ["target", "goal", "measured", "met"],
            [[t.name, t.goal, t.measured, _met(t)] for t in targets],
        )
        out.append("")
    return "\n".join(out)
