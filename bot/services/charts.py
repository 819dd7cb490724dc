"""The indicators as a picture: grouped bars of D (in %) per municipality or organisation.

matplotlib with the Agg canvas and its own object API (a :class:`~matplotlib.figure.Figure`
per call; pyplot, its global state and its GUI backends are never imported), so charts may be
drawn in worker threads. DejaVu Sans, matplotlib's bundled default font, has Cyrillic.

Cost (README, Performance): importing matplotlib takes about a second of CPU, so the module is
imported by the first /kpi, in a worker thread while the indicators are read; a chart takes
about 0.1 s. It is drawn at most :data:`MAX_PIXELS` wide (Telegram shrinks a photo to 1280
pixels anyway) with fixed margins rather than the constrained layout's solver.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.services.indicators import GroupIndicators
from bot.texts import reports as tr

LABEL_WIDTH = 18
LABEL_LINES = 3
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
DPI = 110
#: the widest picture drawn, in pixels: Telegram sends photos at most 1280 pixels wide
MAX_PIXELS = 1280
HEIGHT = 6.2  # inches
#: fixed margins (inches) around the axes: the title; the y label and ticks; at the bottom the
#: group labels (up to three lines) and the legend (up to two rows) under them
TOP, LEFT, RIGHT, BOTTOM = 0.45, 0.75, 0.2, 1.25


def _label(text: str) -> str:
    lines = textwrap.wrap(text, LABEL_WIDTH) or [text]
    if len(lines) > LABEL_LINES:
        lines = [*lines[: LABEL_LINES - 1], lines[LABEL_LINES - 1][: LABEL_WIDTH - 1] + "…"]
    return "\n".join(lines)


def indicators_chart(
    groups: Sequence[GroupIndicators], title: str, codes: Sequence[str] | None = None
) -> bytes:
    """A PNG of grouped bars: one group of bars per municipality or organisation (``groups``,
    in order), one bar per indicator (``codes``, default all) with its D in % written above it.
    An indicator with O = 0 has no bar. Labels are Russian (:mod:`bot.texts.reports`).

    Returns the PNG bytes. CPU-bound (a few hundred ms): call it in a worker thread from async
    code.
    """
    wanted = list(codes) if codes is not None else None
    series = [[i for i in g.indicators if wanted is None or i.code in wanted] for g in groups]
    names = [i.code for i in series[0]] if series else list(wanted or [])
    width = max(8.0, min(22.0, 1.3 + 0.35 * len(names) * max(len(groups), 1)))
    fig = Figure(figsize=(width, HEIGHT), dpi=min(DPI, MAX_PIXELS / width))
    FigureCanvasAgg(fig)
    fig.subplots_adjust(
        left=LEFT / width, right=1 - RIGHT / width, top=1 - TOP / HEIGHT, bottom=BOTTOM / HEIGHT
    )
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=12)
    ax.set_ylabel(tr.CHART_Y_LABEL)
    ax.set_ylim(0, 112)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    if not groups:
        ax.text(0.5, 0.5, tr.CHART_NO_DATA, ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
    else:
        bar = 0.8 / max(len(names), 1)
        for index, code in enumerate(names):
            xs, heights = [], []
            for position, indicators in enumerate(series):
                value = indicators[index].d
                if value is not None:
                    xs.append(position - 0.4 + bar * (index + 0.5))
                    heights.append(value)
            bars = ax.bar(
                xs,
                heights,
                bar,
                label=tr.INDICATOR_SHORT.get(code, code),
                color=COLOURS[index % len(COLOURS)],
            )
            if len(groups) * len(names) <= 36:
                ax.bar_label(bars, fmt="%.0f", fontsize=7, padding=1)
        ax.set_xticks(range(len(groups)), [_label(g.label) for g in groups], fontsize=8)
        fig.legend(loc="lower center", ncol=3, fontsize=8, frameon=False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
