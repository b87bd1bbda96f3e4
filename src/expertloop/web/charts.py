"""Small charts drawn on the server as inline SVG: no JavaScript, no CDN, readable without CSS.

Every chart has a ``<title>`` and ``<desc>`` for screen readers, and each bar or point its own
``<title>`` (a tooltip on hover). Colours come from CSS classes (``.chart-*`` in app.css).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from datetime import date
from html import escape

from markupsafe import Markup

W, H = 560, 220
PAD_L, PAD_R, PAD_T, PAD_B = 58, 12, 14, 30


def nice_ceiling(value: float, *, integer: bool = False) -> float:
    """A round top for an axis of four steps, each step 1, 2, 2.5, 5 or 7.5 × 10^k (whole
    numbers only for counts, so every tick of a count axis is an integer)."""
    step = max(float(value), 0.0) / 4
    if integer:
        step = max(step, 1.0)
    elif step <= 0:
        return 1.0
    exp = math.floor(math.log10(step))
    for mult in ((1, 2, 5, 10) if integer and exp < 1 else (1, 2, 2.5, 5, 7.5, 10)):
        candidate = mult * 10 ** exp
        if candidate >= step - 1e-12:
            return float(candidate * 4)
    return float(10 ** (exp + 1) * 4)


def _fmt_int(v: float) -> str:
    return f"{v:,.0f}"


def _fmt_usd(v: float) -> str:
    return f"${v:,.0f}" if abs(v) >= 100 else f"${v:,.2f}".rstrip("0").rstrip(".")


def _short_day(label: str) -> str:
    """``2026-11-21`` → ``21 Nov``; ``2026-W47`` → ``W47``."""
    try:
        return date.fromisoformat(label).strftime("%d %b").lstrip("0")
    except ValueError:
        return label.split("-")[-1]


def _frame(title: str, desc: str, body: list[str]) -> Markup:
    svg = (f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="t d" '
           f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">'
           f'<title>{escape(title)}</title><desc>{escape(desc)}</desc>{"".join(body)}</svg>')
    # ids must be unique per page: make them so from the title
    key = f"c{zlib.crc32(title.encode()):08x}"
    svg = svg.replace('aria-labelledby="t d"', f'aria-labelledby="{key}t {key}d"', 1)
    svg = svg.replace("<title>", f'<title id="{key}t">', 1).replace("<desc>", f'<desc id="{key}d">', 1)
    return Markup(svg)


def _y_axis(top: float, fmt: Callable[[float], str]) -> list[str]:
    out = []
    plot_h = H - PAD_T - PAD_B
    for i in range(5):
        v = top * i / 4
        y = PAD_T + plot_h - plot_h * i / 4
        out.append(f'<line class="chart-grid" x1="{PAD_L}" x2="{W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text class="chart-label" x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end">'
                   f'{escape(fmt(v))}</text>')
    return out


def _x_labels(days: Sequence[str], xs: Sequence[float]) -> list[str]:
    n = len(days)
    if not n:
        return []
    step = max(1, math.ceil(n / 7))
    picks = sorted(range(n - 1, -1, -step))  # anchored on the latest day, which is always labelled
    return [f'<text class="chart-label" x="{xs[i]:.1f}" y="{H - 8}" text-anchor="middle">'
            f'{escape(_short_day(days[i]))}</text>' for i in picks]


def bar_chart(days: Sequence[str], values: Sequence[float | None], *, title: str, unit: str = "",
              money: bool = False, top: float | None = None) -> Markup:
    """One bar per day; a None value (no data that day) draws no bar. ``top`` fixes the scale."""
    fmt = _fmt_usd if money else _fmt_int
    known = [v for v in values if v is not None]
    top = top if top is not None else nice_ceiling(max(known, default=0), integer=not money)
    if money:
        top = max(top, 1.0)  # below a dollar, quarters read better than fractions of a cent
    n = max(len(values), 1)
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    slot = plot_w / n
    bar_w = max(1.0, min(28.0, slot * 0.7))
    body = _y_axis(top, fmt)
    xs = []
    for i, (day, v) in enumerate(zip(days, values, strict=False)):
        x = PAD_L + slot * i + slot / 2
        xs.append(x)
        if v is None:
            continue
        h = plot_h * (v / top) if top else 0
        body.append(f'<rect class="chart-bar" x="{x - bar_w / 2:.1f}" y="{PAD_T + plot_h - h:.1f}" '
                    f'width="{bar_w:.1f}" height="{max(h, 0):.1f}" rx="2">'
                    f'<title>{escape(day)}: {escape(fmt(v))}{escape(unit)}</title></rect>')
    body.append(f'<line class="chart-axis" x1="{PAD_L}" x2="{W - PAD_R}" y1="{PAD_T + plot_h}" '
                f'y2="{PAD_T + plot_h}"/>')
    body += _x_labels(days, xs)
    total = sum(known)
    desc = f"{len(values)} days, total {fmt(total)}{unit}, peak {fmt(max(known, default=0))}{unit} per day"
    return _frame(title, desc, body)


def burn_chart(days: Sequence[str], cumulative_cents: Sequence[int], budget_cents: int | None, *,
               title: str, daily_rate_cents: float = 0) -> Markup:
    """Burn-down: budget remaining per day (a line), with a dashed projection at the recent
    daily rate. Without a budget: cumulative spend."""
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    n = len(cumulative_cents)
    if budget_cents is not None:
        series = [(budget_cents - c) / 100 for c in cumulative_cents]
        top = max(1.0, nice_ceiling(max(budget_cents / 100, max(series, default=0))))
    else:
        series = [c / 100 for c in cumulative_cents]
        top = max(1.0, nice_ceiling(max(series, default=0)))
    slot = plot_w / max(n - 1, 1)
    xs = [PAD_L + slot * i for i in range(n)] if n > 1 else [PAD_L + plot_w / 2]

    def y(v: float) -> float:
        return PAD_T + plot_h - plot_h * max(min(v, top), 0) / top

    body = _y_axis(top, _fmt_usd)
    if budget_cents is not None:
        yb = y(budget_cents / 100)
        body.append(f'<line class="chart-budget" x1="{PAD_L}" x2="{W - PAD_R}" y1="{yb:.1f}" y2="{yb:.1f}">'
                    f'<title>budget {escape(_fmt_usd(budget_cents / 100))}</title></line>')
    if n:
        points = " ".join(f"{x:.1f},{y(v):.1f}" for x, v in zip(xs, series, strict=False))
        area = f"{xs[0]:.1f},{PAD_T + plot_h} {points} {xs[-1]:.1f},{PAD_T + plot_h}"
        body.append(f'<polygon class="chart-area" points="{area}"/>')
        body.append(f'<polyline class="chart-line" points="{points}"/>')
        label = "remaining" if budget_cents is not None else "spent"
        for x, v, day in zip(xs, series, days, strict=False):
            body.append(f'<circle class="chart-dot" cx="{x:.1f}" cy="{y(v):.1f}" r="2.5">'
                        f'<title>{escape(day)}: {escape(_fmt_usd(v))} {label}</title></circle>')
        if budget_cents is not None and daily_rate_cents > 0 and series[-1] > 0 and n > 1:
            days_left = series[-1] / (daily_rate_cents / 100)
            x_end = min(W - PAD_R, xs[-1] + slot * days_left)
            v_end = series[-1] - (x_end - xs[-1]) / slot * daily_rate_cents / 100
            body.append(f'<line class="chart-projection" x1="{xs[-1]:.1f}" y1="{y(series[-1]):.1f}" '
                        f'x2="{x_end:.1f}" y2="{y(max(v_end, 0)):.1f}"><title>projection at the last '
                        f'7 days\' rate</title></line>')
    body.append(f'<line class="chart-axis" x1="{PAD_L}" x2="{W - PAD_R}" y1="{PAD_T + plot_h}" '
                f'y2="{PAD_T + plot_h}"/>')
    body += _x_labels(days, xs)
    if budget_cents is not None:
        remaining = series[-1] if series else budget_cents / 100
        desc = f"budget {_fmt_usd(budget_cents / 100)}; remaining {_fmt_usd(remaining)} after {n} days"
    else:
        desc = f"spent {_fmt_usd(series[-1] if series else 0)} over {n} days (no budget set)"
    return _frame(title, desc, body)


def meter(done: int, in_progress: int, total: int, *, label: str) -> Markup:
    """A stacked progress bar: complete, in progress, remaining."""
    total = max(total, 0)
    w = 100.0
    a = w * done / total if total else 0
    b = w * in_progress / total if total else 0
    pct = round(100 * done / total) if total else 0
    return Markup(
        f'<svg class="meter" viewBox="0 0 100 6" preserveAspectRatio="none" role="img" '
        f'aria-label="{escape(label)}: {pct}% complete">'
        f'<rect class="meter-track" x="0" y="0" width="100" height="6" rx="3"/>'
        f'<rect class="meter-done" x="0" y="0" width="{a:.2f}" height="6"/>'
        f'<rect class="meter-active" x="{a:.2f}" y="0" width="{min(b, w - a):.2f}" height="6"/>'
        f'</svg>')
