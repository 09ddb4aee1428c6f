"""The results table: Markdown for people, JSON for tools (``benchmarks/results/``)."""

from __future__ import annotations

import math
from pathlib import Path

from benchmarks.common import Figure, write_json


def _num(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit == "bytes":
        for step, name in ((1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "kB")):
            if abs(value) >= step:
                return f"{value / step:.2f} {name}"
        return f"{value:.0f} B"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if unit == "s":
        return f"{value * 1000:.1f} ms" if abs(value) < 1 else f"{value:.2f} s"
    if abs(value) >= 100:
        return f"{value:,.0f} {unit}".strip()
    return f"{value:.3g} {unit}".strip()


def ratio_text(fig: Figure) -> str:
    """``0.05× (20× smaller)``: value / baseline, and what that means in words."""
    r = fig.ratio
    if r is None:
        return "–"
    if r <= 0:
        return f"{r:.3g}×"
    if fig.better == "higher":
        words = f"{r:.3g}× faster" if r >= 1 else f"{1 / r:.3g}× slower"
    else:
        noun = {"bytes": "smaller", "MB": "less"}.get(fig.unit, "faster")
        worse = {"bytes": "larger", "MB": "more"}.get(fig.unit, "slower")
        words = f"{1 / r:.3g}× {noun}" if r <= 1 else f"{r:.3g}× {worse}"
    return f"{r:.3g}× ({words})"


def target_text(fig: Figure) -> str:
    if fig.target is None:
        return ""
    sign = "≥" if fig.better == "higher" else "≤"
    mark = {True: "met", False: "**missed**", None: "–"}[fig.met]
    return f"{sign} {_num(fig.target, fig.unit)}: {mark}"


def markdown(figures: list[Figure], meta: dict) -> str:
    """The results as a Markdown document."""
    lines = [
        "# Benchmark results",
        "",
        f"Command: `{meta['command']}`  ",
        f"Started {meta['started']} on {meta['env']['machine']} (load average at start "
        f"{', '.join(map(str, meta['env']['load_average_at_start']))}), commit "
        f"`{meta['env']['commit']}`, Python {meta['env']['python']}, "
        f"{meta['repeats']} repeats per figure (median), {meta['seconds']:.0f} s in all.",
        "",
        "`ratio` = value / baseline, both measured in this run. What each benchmark measures and "
        "what its baseline is: [docs/benchmarks.md](../../docs/benchmarks.md).",
        "",
        "| benchmark | scale | metric | value | baseline | ratio | target | notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        base = f"{_num(f.baseline, f.unit)} ({f.baseline_name})"
        lines.append(
            f"| {f.benchmark} | {f.scale} | {f.metric} | {_num(f.value, f.unit)} | {base} | "
            f"{ratio_text(f)} | {target_text(f)} | {f.notes} |"
        )
    skipped = meta.get("skipped") or {}
    if skipped:
        lines += ["", "## Not measured in this run", ""]
        lines += [f"- **{name}**: {why}" for name, why in skipped.items()]
    detail = [f for f in figures if f.extra]
    if detail:
        lines += ["", "## Details", ""]
        for f in detail:
            lines.append(f"- {f.benchmark} {f.scale} — {f.metric}:")
            for key, value in f.extra.items():
                lines.append(f"  - {key}: {value}")
    return "\n".join(lines) + "\n"


def write(figures: list[Figure], meta: dict, out_dir: Path, stem: str = "latest") -> list[Path]:
    """Write ``<stem>.md`` and ``<stem>.json`` into ``out_dir``; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / f"{stem}.md"
    js = out_dir / f"{stem}.json"
    md.write_text(markdown(figures, meta), encoding="utf-8")
    write_json(js, {"meta": meta, "figures": [f.as_dict() for f in figures]})
    return [md, js]
