"""The county's monthly report (县级预警工作报告) as one self-contained HTML page.

Counts, and the data-quality findings as the county's 数据质量报告 words them (they name files,
record numbers, 户编号 and 预警编号 for the county's staff to act on): no ID number or phone reaches
the page (`_scrub`), and no township's list is in it. Charts are inline SVG drawn
here in Python; the page loads nothing (no script, no stylesheet, no font, no image, no link), so
it opens offline, from a USB stick or an intranet share, and prints.

`county_report_html(...)` is pure: frames in, a string out. Its inputs, all small aggregates:

- `periods`   one row per period up to the report's: `period` (YYYY-MM), `status` (the latest
              run's: ok / failed / running), `finished_at` (datetime or null), `runs` (int).
              May be empty.
- `warnings_by_town_risk`  the report period's warnings: `township` (null = 未落位线索, a lead
              that could not be placed), `risk_type`, `warnings` (distinct 预警编号).
- `trend`     `period`, `risk_type`, `warnings` (distinct 预警编号 issued in that period).
- `verification`  one row per 预警编号 ever issued, its state after the report period's run:
              `warning_id`, `township`, `status` (open / overdue / verified_true /
              verified_false; not those a re-run took back unanswered), `days_overdue` (int),
              `reopened_for` (optional: the rules an open or overdue warning is open again for,
              its answer having verified only the others; null otherwise). Empty before any feedback loop exists.
- `quality`   the run's data-quality findings (`schemas.outputs.QualityFinding`,
              pipelines.accounting.quality_report's frame). May be empty.
- `accounting` per department: `dept`, `rows_read`, `copies`, `superseded`, `matched`, `review`,
              `unmatched`, `rejected` (+ optional `balanced`).
- `review_queue`  the period's review queue (人工复核队列) by department and the period each
              record was first sent to review: `dept`, `first_queued` (YYYY-MM), `records`
              (`matchers.review.queue_ages`). May be empty or omitted.
- `meta`      `period` (required); optional `county`, `issue_date`, `deadline`,
              `generated_at` (strings, shown as given — the function never reads the clock),
              `departments` (the configured department folders: those without a row in
              `accounting` are shown as not delivered).

`report_inputs(con, period)` reads those frames but `quality` and `review_queue` from the DuckDB warehouse
(adapters/warehouse.py); a table the warehouse does not hold yet gives an empty frame of the right
columns.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping

import polars as pl

from pipelines.accounting import delivery_states
from pipelines.console import delivery_words
from pipelines.township import ID_PATTERN, OLD_ID_PATTERN
from schemas.outputs import QUALITY_COLUMNS

__all__ = ["accounting_sheet", "county_report_html", "report_inputs", "verification_by_township", "INPUT_SCHEMAS", "UNPLACED"]

UNPLACED = "（未落位线索）"  # same label as pipelines.township.UNPLACED

INPUT_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "periods": {"period": pl.Utf8, "status": pl.Utf8, "finished_at": pl.Datetime("us"), "runs": pl.Int64},
    "warnings_by_town_risk": {"township": pl.Utf8, "risk_type": pl.Utf8, "warnings": pl.Int64},
    "trend": {"period": pl.Utf8, "risk_type": pl.Utf8, "warnings": pl.Int64},
    "verification": {"warning_id": pl.Utf8, "township": pl.Utf8, "status": pl.Utf8, "days_overdue": pl.Int64,
                     "reopened_for": pl.Utf8},
    "quality": QUALITY_COLUMNS,
    "accounting": {"dept": pl.Utf8, "rows_read": pl.Int64, "copies": pl.Int64, "superseded": pl.Int64, "matched": pl.Int64,
                   "review": pl.Int64, "unmatched": pl.Int64, "rejected": pl.Int64, "balanced": pl.Boolean},
    "review_queue": {"dept": pl.Utf8, "first_queued": pl.Utf8, "records": pl.Int64},
}
# the inputs the run gives from its own outputs, not read from the warehouse (`report_inputs`)
RUN_INPUTS = ("quality", "review_queue")

# Risk types of SPEC §4 in a fixed order with fixed colours, so a colour means the same every month.
RISK_COLORS = {
    "因病": "#4e79a7", "未参加基本医疗保险": "#a0cbe8", "住房出现安全问题": "#f28e2b",
    "义务教育阶段失学辍学": "#ffbe7d", "因学": "#59a14f", "饮水出现安全问题": "#8cd17d",
    "缺劳动力": "#b6992d", "突发严重困难": "#e15759", "因残": "#ff9d9a", "因务工就业不稳": "#79706e",
    "因自然灾害": "#d37295", "因产业项目失败": "#b07aa1",
}
_EXTRA_COLORS = ("#9d7660", "#d7b5a6", "#499894", "#86bcb6", "#f1ce63", "#bab0ac", "#fabfd2", "#d4a6c8")

STATUS_LABELS = {  # order = stacking order
    "verified_true": ("已核实·属实", "verified, true", "#2e7d32"),
    "verified_false": ("已核实·不属实", "verified, not true", "#90a4ae"),
    "open": ("待核实（未逾期）", "open", "#f9a825"),
    "overdue": ("逾期未核实", "overdue", "#c62828"),
}
DECISION_LABELS = {  # order = stacking order
    "matched": ("已匹配", "matched", "#2e7d32"),
    "review": ("待人工复核", "review", "#f9a825"),
    "unmatched": ("未匹配", "unmatched", "#90a4ae"),
    "rejected": ("搁置", "rejected", "#c62828"),
    "superseded": ("被更正覆盖", "superseded", "#ce93d8"),
    "copies": ("重复文件未读", "copies not read", "#bcaaa4"),  # (a repeat, 往期文件, 往期记录)
}

FONT = ('"Microsoft YaHei","PingFang SC","Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei",'
        '"SimHei","SimSun",sans-serif')

# A report must carry no personal data; the inputs are counts, but free text (findings, file
# names) is scrubbed as a last line of defence: ID numbers as the township lists mask them
# (`pipelines.township.mask_ids`' rule: 18-character and old 15-digit ones, also full-width or
# typed with spaces, inside a 残疾人证号 or G+学籍号) and 11-digit mobile numbers.
_ID_RE, _OLD_ID_RE = re.compile(ID_PATTERN), re.compile(OLD_ID_PATTERN)
_PHONE_RE = re.compile(r"(?<![0-9])(1[3-9]\d)\d{4}(\d{4})(?![0-9])")


def _scrub(s: object) -> str:
    if s is None:
        return ""
    text = str(s)
    text = _ID_RE.sub(r"\1********\2", text)
    for _ in range(2):  # (as mask_ids: a match takes the character before the next ID)
        text = _OLD_ID_RE.sub(r"\1\2******\3\4\5", text)
    return _PHONE_RE.sub(r"\1****\2", text)


def _e(s: object) -> str:
    """Escape for HTML text and attribute values (also inside inline SVG)."""
    return html.escape(_scrub(s), quote=True)


def _n(x: object) -> str:
    return f"{int(x or 0):,}"


def _pct(num: float, den: float) -> str:
    return "–" if not den else f"{100 * num / den:.1f}%"


def _text_width(s: str, size: float) -> float:
    """Rough rendered width: CJK and full-width characters ~1em, others ~0.6em."""
    return sum(size if ord(c) > 0x2E7F else 0.6 * size for c in s)


def _coerce(df: pl.DataFrame | None, name: str) -> pl.DataFrame:
    """The input with at least its documented columns (missing ones null), typed."""
    schema = INPUT_SCHEMAS[name]
    if df is None:
        return pl.DataFrame(schema=schema)
    df = df.with_columns(pl.lit(None).cast(t).alias(c) for c, t in schema.items() if c not in df.columns)
    return df.with_columns(pl.col(c).cast(t, strict=False) for c, t in schema.items())


def _risk_order(kinds: Iterable[str]) -> list[str]:
    known = list(RISK_COLORS)
    kinds = set(kinds)
    return [k for k in known if k in kinds] + sorted(kinds - set(known))


def _risk_colors(kinds: list[str]) -> dict[str, str]:
    extra = iter(_EXTRA_COLORS * (1 + len(kinds) // len(_EXTRA_COLORS)))
    return {k: RISK_COLORS.get(k) or next(extra) for k in kinds}


# ----------------------------------------------------------------------------------------------
# SVG building blocks


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    return (f'<svg class="chart" role="img" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" font-family=\'{FONT}\' font-size="12">'
            f"<title>{_e(title)}</title>{''.join(body)}</svg>")


def _t(x: float, y: float, s: object, anchor: str = "start", size: float = 12, fill: str = "#333",
       weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}" '
            f'font-weight="{weight}">{_e(s)}</text>')


def _r(x: float, y: float, w: float, h: float, fill: str, tip: str | None = None) -> str:
    inner = f"<title>{_e(tip)}</title>" if tip else ""
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{h:.1f}" fill="{fill}">{inner}</rect>'


def _legend(items: list[tuple[str, str]], width: float, y0: float) -> tuple[list[str], float]:
    """Colour keys flowing left to right, wrapping at `width`; returns (elements, height used)."""
    out, x, y = [], 0.0, y0
    for label, color in items:
        w = 18 + _text_width(label, 12) + 16
        if x and x + w > width:
            x, y = 0.0, y + 20
        out += [_r(x, y, 12, 12, color), _t(x + 17, y + 11, label)]
        x += w
    return out, (y - y0) + 20 if items else 0


def _hbar_chart(rows: list[tuple[str, list[tuple[str, float, str]]]], title: str, keys: list[tuple[str, str]],
                percent: bool = False, width: float = 900) -> str:
    """Horizontal stacked bars. rows: (label, [(series, value, colour)...]). With `percent` each
    bar fills the width (shares); otherwise bars share one scale and the total is printed."""
    if not rows:
        return ""
    label_w = min(260.0, max(_text_width(lbl, 12) for lbl, _ in rows) + 12)
    bar_h, gap, top = 18, 8, 6
    plot_w = width - label_w - 70
    legend, leg_h = _legend(keys, width, 0)
    totals = [sum(v for _, v, _ in segs) for _, segs in rows]
    scale_max = max(totals) or 1
    body: list[str] = []
    y = top
    for (label, segs), total in zip(rows, totals):
        body.append(_t(label_w - 8, y + 13, label, anchor="end"))
        x = label_w
        den = total if percent else scale_max
        for series, v, color in segs:
            if v <= 0 or not den:
                continue
            w = plot_w * v / den
            share = f"，占 {_pct(v, total)}" if percent else ""
            body.append(_r(x, y, w, bar_h, color, f"{label} · {series}: {_n(v)}{share}"))
            if w >= 26:
                inside = f"{100 * v / total:.0f}%" if percent else _n(v)
                body.append(_t(x + w / 2, y + 13, inside, anchor="middle", size=11, fill="#fff"))
            x += w
        if not total:
            body.append(_r(label_w, y, 1, bar_h, "#bbb"))
        body.append(_t(label_w + (plot_w if percent else plot_w * total / scale_max) + 6, y + 13,
                       _n(total), size=11, fill="#555"))
        y += bar_h + gap
    body.append(f'<line x1="{label_w}" y1="{top - 3}" x2="{label_w}" y2="{y - gap + 3}" stroke="#999"/>')
    y += 6
    body += [f'<g transform="translate(0,{y:.0f})">', *legend, "</g>"]
    return _svg(width, y + leg_h + 4, title, body)


def _column_panel(periods: list[str], values: list[int], color: str, title: str, width: float = 280,
                  height: float = 150) -> str:
    """One small bar chart: a bar per period, value on top, period under (every other one when crowded)."""
    top, bottom, left = 38, 24, 8
    plot_w, plot_h = width - 2 * left, height - top - bottom
    vmax = max(values) if values and max(values) > 0 else 1
    step = plot_w / max(len(periods), 1)
    bw = min(28.0, step * 0.7)
    body = [_t(left, 15, title, size=13, weight="bold")]
    every = 1 if len(periods) <= 6 else 2
    for i, (p, v) in enumerate(zip(periods, values)):
        cx = left + step * (i + 0.5)
        h = plot_h * v / vmax
        body.append(_r(cx - bw / 2, top + plot_h - h, bw, h, color, f"{title} {p}: {_n(v)}"))
        body.append(_t(cx, top + plot_h - h - 3, _n(v), anchor="middle", size=10, fill="#333"))
        if i % every == 0 or i == len(periods) - 1:
            body.append(_t(cx, height - 8, p[2:] if len(periods) > 6 else p, anchor="middle", size=10, fill="#666"))
    body.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - left}" y2="{top + plot_h}" stroke="#999"/>')
    return _svg(width, height, f"{title} 各期预警数 warnings per period", body)


def _stacked_columns(periods: list[str], series: list[tuple[str, list[int], str]], title: str,
                     width: float = 900, height: float = 300) -> str:
    """A column per period, stacked by series, its total on top; one shared scale."""
    left, right, top, bottom = 48, 20, 22, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(v[i] for _, v, _ in series) for i in range(len(periods))]
    vmax = max(totals, default=0) or 1
    step = plot_w / max(len(periods), 1)
    bw = min(56.0, step * 0.6)
    body: list[str] = []
    for k in range(5):  # gridlines
        y = top + plot_h - plot_h * k / 4
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#eee"/>')
        body.append(_t(left - 6, y + 4, f"{vmax * k / 4:,.0f}" if vmax >= 4 else f"{vmax * k / 4:.1f}",
                       anchor="end", size=10, fill="#666"))
    every = 1 if len(periods) <= 12 else 2
    for i, p in enumerate(periods):
        cx = left + step * (i + 0.5)
        y = top + plot_h
        for name, vals, color in series:
            h = plot_h * vals[i] / vmax
            if h > 0:
                y -= h
                body.append(_r(cx - bw / 2, y, bw, h, color, f"{p} · {name}: {_n(vals[i])}"))
                if h >= 13:
                    body.append(_t(cx, y + h / 2 + 4, _n(vals[i]), anchor="middle", size=10, fill="#fff"))
        body.append(_t(cx, y - 5, _n(totals[i]), anchor="middle", size=11, weight="bold"))
        if i % every == 0 or i == len(periods) - 1:
            body.append(_t(cx, height - 10, p, anchor="middle", size=10, fill="#666"))
    body.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#999"/>')
    legend, leg_h = _legend([(n, c) for n, _, c in series], width, 0)
    body += [f'<g transform="translate(0,{height:.0f})">', *legend, "</g>"]
    return _svg(width, height + leg_h, title, body)


# ----------------------------------------------------------------------------------------------
# Sections


def _heat_color(v: int, vmax: int) -> tuple[str, str]:
    if not v:
        return "#fafafa", "#bbb"
    t = 0.15 + 0.85 * v / (vmax or 1)
    lo, hi = (255, 245, 240), (165, 15, 21)
    rgb = tuple(round(a + (b - a) * t) for a, b in zip(lo, hi))
    return "#%02x%02x%02x" % rgb, ("#fff" if t > 0.55 else "#222")


def _section_towns(w: pl.DataFrame) -> str:
    w = w.with_columns(pl.col("township").fill_null(UNPLACED), pl.col("warnings").fill_null(0))
    w = w.group_by("township", "risk_type").agg(pl.col("warnings").sum())
    head = ('<h2>一、各乡镇预警：乡镇 × 风险类型<small>Warnings by township and risk type</small></h2>')
    if w.is_empty() or not w["warnings"].sum():
        return head + '<p class="empty">本期没有预警。No warnings this period.</p>'
    kinds = _risk_order(w["risk_type"].unique().to_list())
    colors = _risk_colors(kinds)
    towns_total = w.group_by("township").agg(pl.col("warnings").sum().alias("t"))
    towns = sorted(towns_total.iter_rows(), key=lambda r: (r[0] == UNPLACED, -r[1], r[0]))
    cell = {(t, k): v for t, k, v in w.iter_rows()}
    vmax = max(cell.values())
    ths = "".join(f'<th class="rk"><span class="sw" style="background:{colors[k]}"></span>{_e(k)}</th>' for k in kinds)
    lines = [f'<table class="heat"><thead><tr><th>乡（镇）<br><small>township</small></th>{ths}'
             f"<th>合计<br><small>total</small></th></tr></thead><tbody>"]
    for town, total in towns:
        tds = []
        for k in kinds:
            v = cell.get((town, k), 0)
            bg, fg = _heat_color(v, vmax)
            tds.append(f'<td style="background:{bg};color:{fg}" title="{_e(town)} · {_e(k)}: {v}">{_n(v)}</td>')
        cls = ' class="unplaced"' if town == UNPLACED else ""
        lines.append(f"<tr{cls}><th>{_e(town)}</th>{''.join(tds)}<td class=\"tot\">{_n(total)}</td></tr>")
    col_tot = "".join(f'<td class="tot">{_n(sum(cell.get((t, k), 0) for t, _ in towns))}</td>' for k in kinds)
    grand = sum(t for _, t in towns)
    lines.append(f'</tbody><tfoot><tr><th>合计 <small>total</small></th>{col_tot}<td class="tot">{_n(grand)}</td>'
                 "</tr></tfoot></table>")
    note = (f'<p class="note">单元格为预警条数（每户每种风险类型一条预警编号），颜色越深数量越多；'
            f"“{UNPLACED}”为不在底册且无法确定乡镇的新增线索，由县级人工落位。"
            "<br><small>Cells count 预警编号 (one per household × risk type); darker = more. "
            "Unplaced leads are placed by the county by hand.</small></p>")
    rows = [(t, [(k, cell.get((t, k), 0), colors[k]) for k in kinds]) for t, _ in towns]
    chart = _hbar_chart(rows, "各乡镇预警数（按风险类型堆叠）warnings per township, stacked by risk type",
                        [(k, colors[k]) for k in kinds])
    return (head + "".join(lines) + note
            + '<h3>各乡镇预警构成 <small>stacked by risk type</small></h3>' + f'<div class="fig">{chart}</div>')


def _section_trend(trend: pl.DataFrame, periods: pl.DataFrame, period: str) -> str:
    head = "<h2>二、各期预警趋势<small>Trend across periods</small></h2>"
    trend = trend.filter(pl.col("period").is_not_null() & (pl.col("period") <= period))
    all_periods = sorted(set(trend["period"].to_list()) | {p for p in periods["period"].to_list() if p and p <= period}
                         | {period})
    if trend.is_empty() or not trend["warnings"].fill_null(0).sum():
        return head + '<p class="empty">尚无历史预警数据。No warnings stored yet.</p>' + _runs_table(periods, period)
    t = trend.group_by("period", "risk_type").agg(pl.col("warnings").fill_null(0).sum())
    kinds = _risk_order(t["risk_type"].unique().to_list())
    colors = _risk_colors(kinds)
    val = {(p, k): v for p, k, v in t.iter_rows()}
    per_kind = {k: [val.get((p, k), 0) for p in all_periods] for k in kinds}
    totals = [sum(per_kind[k][i] for k in kinds) for i in range(len(all_periods))]
    line = _stacked_columns(all_periods, [(k, per_kind[k], colors[k]) for k in kinds],
                            "各期预警数（按风险类型堆叠）warnings per period, stacked by risk type")
    panels = "".join(f'<div class="panel">{_column_panel(all_periods, per_kind[k], colors[k], k)}</div>' for k in kinds)
    ths = "".join(f"<th>{_e(p)}</th>" for p in all_periods)
    body = "".join(
        f'<tr><th><span class="sw" style="background:{colors[k]}"></span>{_e(k)}</th>'
        + "".join(f"<td>{_n(v)}</td>" for v in per_kind[k]) + "</tr>" for k in kinds)
    tot = "".join(f'<td class="tot">{_n(v)}</td>' for v in totals)
    table = (f'<table class="num"><thead><tr><th>风险类型 <small>risk type</small></th>{ths}</tr></thead>'
             f"<tbody>{body}</tbody><tfoot><tr><th>合计 <small>total</small></th>{tot}</tr></tfoot></table>")
    note = ('<p class="note">每期新发或升级的预警编号数；被抑制的重复预警不计。柱顶为合计；下方小图各自纵轴独立。'
            "<br><small>预警编号 issued (new or escalated) per period; suppressed repeats are not counted. "
            "Column tops show the total; each small panel has its own scale.</small></p>")
    return (head + f'<div class="fig">{line}</div>' + note
            + '<h3>分风险类型 <small>per risk type</small></h3>' + f'<div class="panels">{panels}</div>'
            + table + _runs_table(periods, period))


def _runs_table(periods: pl.DataFrame, period: str) -> str:
    p = periods.filter(pl.col("period").is_not_null() & (pl.col("period") <= period)).sort("period")
    if p.is_empty():
        return ""
    status = {"ok": "成功 ok", "failed": "失败 failed", "running": "运行中或中断 running/interrupted"}
    # the report is written by its own period's run, before that run is marked finished
    said = lambda r: "本次运行 this run" if r["period"] == period and r["status"] == "running" else (  # noqa: E731
        status.get(r["status"], r["status"]))
    rows = "".join(
        f"<tr><th>{_e(r['period'])}</th><td class=\"txt\">{_e(said(r))}</td>"
        f"<td class=\"txt\">{_e(r['finished_at'] and str(r['finished_at'])[:16])}</td><td>{_n(r['runs'])}</td></tr>"
        for r in p.iter_rows(named=True))
    return ('<h3>运行记录 <small>runs per period (latest run shown)</small></h3><table class="num">'
            "<thead><tr><th>期次 <small>period</small></th><th>最近一次运行 <small>latest run</small></th>"
            "<th>完成时间 <small>finished (UTC)</small></th><th>运行次数 <small>runs</small></th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def verification_by_township(verification: pl.DataFrame) -> pl.DataFrame:
    """warning-status rows -> per township: total, one column per status, `reopened` (of the open
    and overdue, those open again after an answer that verified only some of their rules now),
    progress and overdue rate (shares of all warnings issued to it), mean and max days overdue of
    the overdue ones."""
    v = _coerce(verification, "verification").with_columns(pl.col("township").fill_null(UNPLACED))
    if v.is_empty():
        return pl.DataFrame(schema={"township": pl.Utf8, "total": pl.Int64, **{s: pl.Int64 for s in STATUS_LABELS},
                                    "reopened": pl.Int64, "progress": pl.Float64, "overdue_rate": pl.Float64,
                                    "mean_days_overdue": pl.Float64, "max_days_overdue": pl.Int64})
    v = v.unique("warning_id", keep="last")
    od = pl.col("status") == "overdue"
    return (
        v.group_by("township").agg(
            pl.len().cast(pl.Int64).alias("total"),
            *[(pl.col("status") == s).sum().cast(pl.Int64).alias(s) for s in STATUS_LABELS],
            (pl.col("status").is_in(["open", "overdue"]) & pl.col("reopened_for").is_not_null()).sum().cast(pl.Int64)
            .alias("reopened"),
            pl.col("days_overdue").filter(od).mean().alias("mean_days_overdue"),
            pl.col("days_overdue").filter(od).max().cast(pl.Int64).alias("max_days_overdue"),
        )
        .with_columns(
            ((pl.col("verified_true") + pl.col("verified_false")) / pl.col("total")).alias("progress"),
            (pl.col("overdue") / pl.col("total")).alias("overdue_rate"),
        )
        .sort(["overdue_rate", "total", "township"], descending=[True, True, False])
    )


def _section_verification(verification: pl.DataFrame) -> str:
    head = "<h2>三、核实进度与逾期<small>Verification progress and overdue rates</small></h2>"
    s = verification_by_township(verification)
    if s.is_empty():
        return head + ('<p class="empty">尚无乡镇核实反馈。各乡镇在核实截止日期前入户核实并回传清单后，'
                       "此处显示核实进度和逾期率。<br><small>No township feedback yet: progress and overdue "
                       "rates appear once townships return their verified lists.</small></p>")
    tot = {c: int(s[c].sum()) for c in ("total", *STATUS_LABELS, "reopened")}
    # (a column only when a re-run reopened an answered warning: counted open, its township answered it)
    again = tot["reopened"] > 0
    keys = [(f"{zh} {en}", c) for zh, en, c in STATUS_LABELS.values()]
    rows = [(r["township"], [(STATUS_LABELS[k][0], r[k], STATUS_LABELS[k][2]) for k in STATUS_LABELS])
            for r in s.iter_rows(named=True)]
    chart = _hbar_chart(rows, "各乡镇预警核实状态占比 verification status share per township", keys, percent=True)

    def fmt_days(x: object) -> str:
        return "–" if x is None else f"{x:.1f}"
    body = "".join(
        f"<tr><th>{_e(r['township'])}</th><td>{_n(r['total'])}</td>"
        + "".join(f"<td>{_n(r[k])}</td>" for k in STATUS_LABELS)
        + (f"<td>{_n(r['reopened'])}</td>" if again else "")
        + f"<td>{_pct(r['verified_true'] + r['verified_false'], r['total'])}</td>"
        + f"<td class=\"{'bad' if r['overdue'] else ''}\">{_pct(r['overdue'], r['total'])}</td>"
        + f"<td>{fmt_days(r['mean_days_overdue'])}</td>"
        + f"<td>{'–' if r['max_days_overdue'] is None else r['max_days_overdue']}</td></tr>"
        for r in s.iter_rows(named=True))
    foot = (f"<tr><th>合计 <small>total</small></th><td>{_n(tot['total'])}</td>"
            + "".join(f"<td>{_n(tot[k])}</td>" for k in STATUS_LABELS)
            + (f"<td>{_n(tot['reopened'])}</td>" if again else "")
            + f"<td>{_pct(tot['verified_true'] + tot['verified_false'], tot['total'])}</td>"
            + f"<td>{_pct(tot['overdue'], tot['total'])}</td><td></td><td></td></tr>")
    ths = "".join(f"<th>{zh}<br><small>{en}</small></th>" for zh, en, _ in STATUS_LABELS.values()) + (
        "<th>重新下发未核实<br><small>reopened</small></th>" if again else "")
    table = ('<table class="num"><thead><tr><th>乡（镇）<br><small>township</small></th><th>预警数<br><small>issued</small>'
             f"</th>{ths}<th>核实进度<br><small>progress</small></th><th>逾期率<br><small>overdue rate</small></th>"
             "<th>平均逾期天数<br><small>mean days overdue</small></th><th>最长逾期天数<br><small>max days</small></th>"
             f"</tr></thead><tbody>{body}</tbody><tfoot>{foot}</tfoot></table>")
    note = ('<p class="note">统计范围为截至本期已下发的全部预警编号。核实进度 = 已核实 ÷ 预警数；逾期率 = 逾期未核实 ÷ 预警数'
            "（核实期限为下发后 3 个工作日，第十六条）。按逾期率从高到低排列。<br><small>All 预警编号 issued so far. "
            "Progress = verified ÷ issued; overdue rate = overdue ÷ issued (3 working days, Article 16). "
            "Sorted by overdue rate.</small></p>")
    if again:
        note += ('<p class="note">重新下发未核实：乡镇已反馈，但重新运行后预警规则增加了该反馈未核实的规则，已重新下发，'
                 "计入待核实或逾期未核实，不计入已核实（原反馈对其核实过的规则仍有效，属实的按其核实的规则派单，不撤回）。<br><small>Reopened: "
                 "answered, but a re-run added a rule the answer did not verify; sent again and counted open or "
                 "overdue, not verified (the answer stands for the rules it verified; a 属实 is dispatched for them and stays so).</small></p>")
    return head + table + note + f'<div class="fig">{chart}</div>'


def _queue_ages(queue: pl.DataFrame, period: str) -> str:
    """The review queue's records per department: new this period, waiting since an earlier one
    (and since when); "" for an empty queue."""
    q = queue.filter(pl.col("records").fill_null(0) > 0).sort("dept", "first_queued")
    if q.is_empty():
        return ""
    per = (q.group_by("dept").agg(
        records=pl.col("records").sum(),
        new=pl.col("records").filter(pl.col("first_queued") == period).sum(),
        since=pl.struct("first_queued", "records").filter(pl.col("first_queued") != period),
    ).with_columns(waiting=pl.col("records") - pl.col("new")).sort("dept"))

    def since(items: list[dict]) -> str:
        return "、".join(f"{i['first_queued']} 起 {_n(i['records'])}" for i in items) or "–"
    body = "".join(
        f"<tr><th>{_e(r['dept'])}</th><td>{_n(r['records'])}</td><td>{_n(r['new'])}</td>"
        f"<td>{_n(r['waiting'])}</td><td class=\"txt\">{_e(since(r['since']))}</td></tr>"
        for r in per.iter_rows(named=True))
    tot = {c: int(per[c].sum()) for c in ("records", "new", "waiting")}
    by_first = (q.filter(pl.col("first_queued") != period).group_by("first_queued").agg(records=pl.col("records").sum())
                .sort("first_queued"))
    foot = (f"<tr><th>合计 <small>total</small></th><td>{_n(tot['records'])}</td><td>{_n(tot['new'])}</td>"
            f"<td>{_n(tot['waiting'])}</td><td class=\"txt\">{_e(since(by_first.to_dicts()))}</td></tr>")
    return ("<h3>人工复核队列 <small>review queue: records new this period, and waiting since an earlier one</small></h3>"
            '<table class="num"><thead><tr><th>部门<br><small>department</small></th><th>待复核记录<br><small>records</small>'
            "</th><th>本期新列入<br><small>new this period</small></th><th>此前列入、仍待复核<br><small>waiting since an "
            "earlier period</small></th><th>其中首次列入复核期<br><small>of which first sent to review in</small></th></tr></thead>"
            f"<tbody>{body}</tbody><tfoot>{foot}</tfoot></table>"
            '<p class="note">人工复核队列（county/人工复核队列.xlsx，其 首次列入复核 列）中的记录数（部门 + 记录编号，不是候选人行数）。'
            f"首次列入复核 = 截至本期、已存储的各期中该记录最早处于待人工复核的一期；本期（{_e(period)}）首次列入的为新列入，"
            "其余为此前已列入、仍待复核的记录（参保名单的记录每月报送，未复核前每月再次列入）。<br><small>Records "
            "(department + record number, not candidate rows) of the county's review queue (its column 首次列入复核). First "
            "sent to review = the earliest period stored, up to this one, in which the record was in review; the others "
            "than this period's have waited since an earlier period (an enrollment record comes every month and waits "
            "until answered).</small></p>")


def _state(state: tuple[str, str] | None) -> str:
    """A department's 报送情况 cell (`accounting.delivery_states`, its words): its rules did not run
    when it has no usable row; '' for one that has."""
    if state is None:
        return ""
    zh, en = state
    return f"{_e(zh)}，其规则未运行<br><small>{_e(en)}; its rules did not run</small>"


def _balanced(r: dict) -> bool:
    """Whether a department's accounting row (zeros for nulls) balances: its `balanced`, else its
    rows read against the rows accounted."""
    return r["balanced"] if r.get("balanced") is not None else sum(r[k] for k in DECISION_LABELS) == r["rows_read"]


def _counted(acc: pl.DataFrame) -> pl.DataFrame:
    """The accounting rows as the report shows them: nulls as 0, by department."""
    return acc.with_columns(pl.col(c).fill_null(0) for c in ("rows_read", *DECISION_LABELS)).sort("dept")


def accounting_sheet(accounting: pl.DataFrame | None, departments: Iterable[str],
                     states: Mapping[str, tuple[str, str]]) -> pl.DataFrame:
    """The report's department table (四、各部门数据质量) as a workbook sheet (行数核对), from the same
    `accounting` frame: per department its rows read, where they went, its 报送情况 (`states`,
    `accounting.delivery_states`, in the console's words) and whether they balance; a configured
    department (`departments`) without a row after them, as the report shows it; then 合计."""
    acc = _counted(_coerce(accounting, "accounting"))
    heads = {"rows_read": "读取行数", **{k: zh for k, (zh, _, _) in DECISION_LABELS.items()}}
    rows = [{"部门": r["dept"], **{heads[k]: r[k] for k in heads}, "报送情况": _words(states.get(r["dept"])),
             "行数核对": "✓ 平衡" if _balanced(r) else "✗ 不平衡"} for r in acc.iter_rows(named=True)]
    rows += [{"部门": d, "报送情况": _words(states.get(d))} for d in departments if d not in set(acc["dept"].to_list())]
    rows.append({"部门": "合计", **{heads[k]: int(acc[k].sum()) for k in heads}})
    return pl.DataFrame(rows, schema={"部门": pl.Utf8, **{h: pl.Int64 for h in heads.values()}, "报送情况": pl.Utf8,
                                      "行数核对": pl.Utf8})


def _words(state: tuple[str, str] | None) -> str | None:
    """A department's 报送情况 as text (the console's words); None for one with usable rows of every kind."""
    return None if state is None else delivery_words(state)


def _section_quality(acc: pl.DataFrame, quality: pl.DataFrame, departments: list[str], queue: str = "",
                     states: Mapping[str, tuple[str, str]] | None = None) -> str:
    head = "<h2>四、各部门数据质量<small>Data quality per department</small></h2>"
    acc = acc.with_columns(pl.col(c).fill_null(0) for c in ("rows_read", *DECISION_LABELS))
    present = set(acc["dept"].to_list())
    missing = [d for d in departments if d not in present]
    # (a department without a usable row, or without one of its kinds, says what it did: a row of
    # zeros told none of it; `states`: the run's `accounting.delivery_states`, else worked out here)
    states = delivery_states(acc, quality, departments) if states is None else states
    parts = [head]
    if acc.is_empty():
        parts.append('<p class="empty">本期没有部门数据的行数核对。No department rows accounted this period.</p>')
    else:
        acc = _counted(acc)
        keys = [(f"{zh} {en}", c) for zh, en, c in DECISION_LABELS.values()]
        rows = [(r["dept"], [(DECISION_LABELS[k][0], r[k], DECISION_LABELS[k][2]) for k in DECISION_LABELS])
                for r in acc.iter_rows(named=True)]
        chart = _hbar_chart(rows, "各部门记录去向占比 where each department's rows went", keys, percent=True)
        body = []
        for r in acc.iter_rows(named=True):
            ok = _balanced(r)
            linkable = r["matched"] + r["review"] + r["unmatched"]
            body.append(
                f"<tr><th>{_e(r['dept'])}</th><td>{_n(r['rows_read'])}</td>"
                + "".join(f"<td>{_n(r[k])}</td>" for k in DECISION_LABELS)
                + f"<td>{_pct(r['matched'], linkable)}</td><td>{_pct(r['rejected'], r['rows_read'] - r['copies'])}</td>"
                + f"<td class=\"txt{' bad' if r['dept'] in states else ''}\">{_state(states.get(r['dept']))}</td>"
                + f"<td class=\"{'' if ok else 'bad'}\">{'✓ 平衡' if ok else '✗ 不平衡'}</td></tr>")
        for d in missing:
            body.append(f'<tr class="missing"><th>{_e(d)}</th><td colspan="{len(DECISION_LABELS) + 5}" class="txt">'
                        f"{_state(states[d])}</td></tr>")
        tot = {k: int(acc[k].sum()) for k in ("rows_read", *DECISION_LABELS)}
        linkable = tot["matched"] + tot["review"] + tot["unmatched"]
        foot = (f"<tr><th>合计 <small>total</small></th><td>{_n(tot['rows_read'])}</td>"
                + "".join(f"<td>{_n(tot[k])}</td>" for k in DECISION_LABELS)
                + f"<td>{_pct(tot['matched'], linkable)}</td><td>{_pct(tot['rejected'], tot['rows_read'] - tot['copies'])}</td><td></td>"
                + "<td></td></tr>")
        ths = "".join(f"<th>{zh}<br><small>{en}</small></th>" for zh, en, _ in DECISION_LABELS.values())
        parts.append(
            '<table class="num"><thead><tr><th>部门<br><small>department</small></th><th>读取行数<br><small>rows read</small>'
            f"</th>{ths}<th>匹配率<br><small>match rate</small></th><th>搁置率<br><small>rejected rate</small></th>"
            f"<th>报送情况<br><small>delivery</small></th><th>行数核对<br><small>accounting</small></th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody>"
            f"<tfoot>{foot}</tfoot></table>"
            '<p class="note">读取行数 = 重复文件未读 + 被更正覆盖 + 已匹配 + 待人工复核 + 未匹配 + 搁置（重复文件：与另一文件'
            '完全相同、与往期文件相同或往期记录重新导出，其行未读入，文件列于下方）。匹配率 = 已匹配 ÷（已匹配 + 待复核 + 未匹配）；搁置率 = 搁置 ÷（读取行数 − 重复文件未读）；'
            "未匹配多为不在底册的人员，属正常。水利记录按村落位。报送情况：部门本期没有可用行时，是未报送、只报了表头，"
            "还是所报的行全被搁置。<br><small>rows read = copies + superseded + matched + review + "
            "unmatched + rejected (copies: the rows of a file identical to another, to an earlier period's, or an "
            "earlier month's records exported again: not read, the files listed below). Match rate = matched ÷ linkable rows; rejected rate = rejected ÷ (rows read − copies); most unmatched rows are people not on the "
            "roster. Water work orders link to villages, not persons. Delivery: for a department without a usable "
            "row, whether it sent nothing, a header alone, or rows all set aside.</small></p>"
            f'<div class="fig">{chart}</div>')
    if missing and acc.is_empty():
        parts.append(f'<p class="bad">本期未报送的部门 not delivered: {_e("、".join(missing))}</p>')
    parts.append(queue)
    parts.append("<h3>问题清单 <small>findings</small></h3>")
    q = quality.filter(pl.col("category").is_not_null() | pl.col("detail").is_not_null())
    if q.is_empty():
        parts.append('<p class="empty">未发现数据质量问题。No findings.</p>')
    else:
        q = q.sort(["category", "dept", "count"], descending=[False, False, True], nulls_last=True)
        body = "".join(
            f"<tr><td class=\"txt\">{_e(r['category'])}</td><td class=\"txt\">{_e(r['dept'])}</td>"
            f"<td class=\"txt file\">{_e(r['file'])}</td><td class=\"txt\">{_e(r['detail'])}</td>"
            f"<td>{'' if r['count'] is None else _n(r['count'])}</td></tr>"
            for r in q.iter_rows(named=True))
        parts.append('<table class="num findings"><thead><tr><th>类别 <small>category</small></th><th>部门 <small>dept'
                     "</small></th><th>文件 <small>file</small></th><th>说明 <small>detail</small></th><th>数量 "
                     f"<small>count</small></th></tr></thead><tbody>{body}</tbody></table>")
    return "".join(parts)


def _cards(w: pl.DataFrame, v: pl.DataFrame, acc: pl.DataFrame) -> str:
    total = int(w["warnings"].fill_null(0).sum()) if w.height else 0
    placed = w.filter(pl.col("township").is_not_null())
    towns = placed.filter(pl.col("warnings") > 0)["township"].n_unique() if placed.height else 0
    unplaced = int(w.filter(pl.col("township").is_null())["warnings"].fill_null(0).sum())
    cards = [("本期预警", "warnings this period", _n(total)), ("涉及乡镇", "townships", _n(towns)),
             ("未落位线索", "unplaced leads", _n(unplaced))]
    if v.height:
        vv = v.unique("warning_id", keep="last")
        overdue = int((vv["status"] == "overdue").sum())
        done = int(vv["status"].is_in(["verified_true", "verified_false"]).sum())
        cards += [("核实进度", "verified", _pct(done, vv.height)), ("逾期未核实", "overdue", _n(overdue))]
    else:
        cards.append(("核实进度", "verified", "暂无反馈"))
    if acc.height:
        read = int(acc["rows_read"].fill_null(0).sum())
        cards.append(("部门数据行", "rows read", _n(read)))
        cards.append(("搁置行", "rows set aside", _n(acc["rejected"].fill_null(0).sum())))
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="v">{_e(val)}</div><div class="k">{_e(zh)}<br><small>{_e(en)}</small></div></div>'
        for zh, en, val in cards) + "</div>"


CSS = """
*{box-sizing:border-box}
body{font-family:%s;color:#222;margin:0;background:#f4f5f7;font-size:14px;line-height:1.5}
main{max-width:1200px;margin:0 auto;padding:24px 28px 40px;background:#fff}
h1{font-size:24px;margin:0 0 2px}
h1 small,h2 small,h3 small{display:block;font-weight:normal;color:#777;font-size:13px}
h2{font-size:19px;margin:34px 0 10px;padding-bottom:4px;border-bottom:2px solid #a50f15}
h3{font-size:15px;margin:18px 0 6px}
h3 small{display:inline;margin-left:6px}
.meta{color:#555;margin:8px 0 0}
.meta span{margin-right:22px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:18px 0 6px}
.card{flex:1 1 130px;border:1px solid #ddd;border-radius:6px;padding:10px 12px;background:#fcfcfc}
.card .v{font-size:24px;font-weight:bold;color:#a50f15}
.card .k{color:#444;font-size:13px;line-height:1.3}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #ddd;padding:4px 7px}
thead th{background:#f0f0f0;font-weight:bold;vertical-align:bottom}
tbody th,tfoot th{text-align:left;white-space:nowrap;font-weight:normal;background:#fafafa}
td{text-align:right;font-variant-numeric:tabular-nums}
td.txt{text-align:left}
td.file{word-break:break-all;max-width:300px;color:#555}
td.tot,tfoot td{font-weight:bold;background:#f5f5f5}
table.heat th.rk{max-width:76px;font-size:12px}
table.heat td{min-width:44px;text-align:center}
tr.unplaced th{color:#a50f15}
tr.missing th,tr.missing td{color:#a50f15;background:#fff5f5}
.bad{color:#a50f15;font-weight:bold}
.sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:baseline}
small{color:#777}
.note{color:#555;font-size:12.5px;margin:4px 0 8px}
.empty{color:#555;background:#f7f7f7;border-left:4px solid #bbb;padding:8px 12px}
.fig{overflow-x:auto;margin:8px 0}
svg.chart{display:block;max-width:100%%;height:auto}
.panels{display:flex;flex-wrap:wrap;gap:8px}
.panel{border:1px solid #eee;border-radius:4px}
footer{margin-top:36px;color:#777;font-size:12px;border-top:1px solid #ddd;padding-top:8px}
@media print{body{background:#fff}main{max-width:none;padding:0}h2{break-after:avoid}
table,svg,.panel{break-inside:avoid}}
""" % FONT


def county_report_html(
    periods: pl.DataFrame | None,
    warnings_by_town_risk: pl.DataFrame | None,
    trend: pl.DataFrame | None,
    verification: pl.DataFrame | None,
    quality: pl.DataFrame | None,
    accounting: pl.DataFrame | None,
    meta: dict,
    review_queue: pl.DataFrame | None = None,
    delivery: Mapping[str, tuple[str, str]] | None = None,
) -> str:
    """The county report for `meta['period']` as one self-contained HTML document (see module doc).
    `delivery`: the run's `accounting.delivery_states` (None: worked out from `accounting` and
    `quality`, without the kinds a department left out)."""
    period = str(meta["period"])
    county = meta.get("county") or ""
    p = _coerce(periods, "periods")
    w = _coerce(warnings_by_town_risk, "warnings_by_town_risk")
    t = _coerce(trend, "trend")
    v = _coerce(verification, "verification")
    q = _coerce(quality, "quality")
    a = _coerce(accounting, "accounting")
    rq = _coerce(review_queue, "review_queue")
    title = f"{county}防返贫动态监测部门筛查预警月报 {period}"
    info = [("期次 period", period), ("下发日期 issued", meta.get("issue_date")),
            ("核实截止 verify by", meta.get("deadline")), ("生成时间 generated", meta.get("generated_at"))]
    meta_html = "".join(f"<span>{_e(k)}：<b>{_e(val)}</b></span>" for k, val in info if val)
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body><main>",
        f"<h1>{_e(title)}<small>County early-warning report (cross-department screening), period {_e(period)}</small></h1>",
        f'<p class="meta">{meta_html}</p>',
        _cards(w, v, a),
        _section_towns(w),
        _section_trend(t, p, period),
        _section_verification(v),
        _section_quality(a, q, [str(d) for d in meta.get("departments") or []], _queue_ages(rq, period), delivery),
        "<footer>本报告仅含统计数量，不含姓名、证件号码、电话等个人信息（第二十七条）；逐户清单见各乡镇预警清单。"
        "<br>Counts only: no names, ID numbers or phone numbers (Article 27). Household lists are in the "
        "township files.</footer>",
        "</main></body></html>\n",
    ])


# ----------------------------------------------------------------------------------------------
# Warehouse -> inputs (the one function here that touches a connection)


def _has_table(con, table: str, column: str | None = None) -> bool:
    """Whether the warehouse has `table` (and its `column`)."""
    if column is None:
        return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                                [table]).fetchall()[0][0])
    return bool(con.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = ? AND column_name = ?",
                            [table, column]).fetchall()[0][0])


def _query(con, name: str, sql: str, params: list) -> pl.DataFrame:
    return _coerce(con.sql(sql, params=params).pl(), name).select(list(INPUT_SCHEMAS[name]))


def report_inputs(con, period: str, months: int = 12) -> dict[str, pl.DataFrame]:
    """The frames `county_report_html` takes (all but `meta`), read from the warehouse for
    `period`; the trend and run history cover the last `months` periods up to it. A table the
    warehouse lacks (e.g. `warning_status` before the feedback loop is stored) gives an empty
    frame. Not `quality`: the findings are the run's own (`pipelines.accounting.quality_report`),
    nor `review_queue`: the queue's (an earlier month's settlement linked again waits in it, not in `links`)."""
    empty = {k: pl.DataFrame(schema=s) for k, s in INPUT_SCHEMAS.items() if k not in RUN_INPUTS}
    out = dict(empty)
    if _has_table(con, "runs"):  # (the latest run's finish: none yet for the run writing the report)
        out["periods"] = _query(con, "periods", """
            SELECT period, arg_max(status, started_at) AS status, arg_max_null(finished_at, started_at) AS finished_at,
                   count(*) AS runs
            FROM runs WHERE period <= ? GROUP BY period ORDER BY period DESC LIMIT ?""", [period, months]
        ).sort("period")
    if _has_table(con, "warnings"):
        out["warnings_by_town_risk"] = _query(con, "warnings_by_town_risk", """
            SELECT township, risk_type, count(DISTINCT warning_id) AS warnings
            FROM warnings WHERE period = ? GROUP BY ALL ORDER BY ALL""", [period])
        out["trend"] = _query(con, "trend", """
            WITH recent AS (SELECT DISTINCT period FROM warnings WHERE period <= ?
                            ORDER BY period DESC LIMIT ?)
            SELECT period, risk_type, count(DISTINCT warning_id) AS warnings
            FROM warnings WHERE period IN (SELECT period FROM recent) GROUP BY ALL ORDER BY ALL""",
            [period, months])
    if _has_table(con, "warning_status"):
        taken_back = ("coalesce(withdrawn, false) AND result IS NULL" if _has_table(con, "warning_status", "withdrawn")
                      else "false")  # (taken back by a re-run, unanswered: never to verify; older tables lack it)
        reopened = "reopened_for" if _has_table(con, "warning_status", "reopened_for") else "NULL AS reopened_for"
        out["verification"] = _query(con, "verification", f"""
            SELECT warning_id, township, status, days_overdue, {reopened} FROM warning_status
            WHERE period = ? AND NOT ({taken_back})""", [period])
    if _has_table(con, "accounting"):
        out["accounting"] = _query(con, "accounting", """
            SELECT * EXCLUDE (period) FROM accounting WHERE period = ? ORDER BY dept""", [period])
    return out
