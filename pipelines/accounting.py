"""Row accounting and the data-quality report: every input row must end somewhere, and the run
proves it. Pure functions over the frames the run already has."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import date

import polars as pl

from matchers.places import water_links
from pipelines.validate import REJECTED_SCHEMA, SUPERSEDED_SCHEMA, TEMPLATE_ROW
from schemas.inputs import EXCEL_ZERO_TAIL, EXTRACT_NAMES, record_key
from schemas.outputs import QUALITY_COLUMNS, Finding, QualityFinding

DECISIONS = ("matched", "review", "unmatched", "rejected")


class AccountingError(RuntimeError):
    """Raised when rows read != copies + superseded + matched + review + unmatched + rejected."""


def account(rows_read: pl.DataFrame, links: pl.DataFrame, superseded: pl.DataFrame) -> pl.DataFrame:
    """Per department: rows read, the rows of files left out as copies, superseded duplicates,
    and the decisions of the rest.

    `rows_read`: dept, rows (the data rows of its files), copies (of them, those of files left out
    as copies of another: a byte-identical repeat, an earlier period's file or its records exported
    again; absent: none).
    `links`: one row per department record (rejected rows included), with `dept, decision`.
    `superseded`: one row per row replaced by a later delivery of the same record, with `dept`.
    Raises AccountingError naming the department when a row is unaccounted for.
    """
    counts = (
        links.group_by("dept", "decision").len()
        .pivot(on="decision", index="dept", values="len")
    )
    for d in DECISIONS:
        if d not in counts.columns:
            counts = counts.with_columns(pl.lit(0, pl.UInt32).alias(d))
    sup = superseded.group_by("dept").len(name="superseded")
    copies = pl.col("copies").sum() if "copies" in rows_read.columns else pl.lit(0, pl.Int64)
    table = (
        rows_read.group_by("dept").agg(pl.col("rows").sum().alias("rows_read"), copies.alias("copies"))
        .join(sup, on="dept", how="full", coalesce=True)
        .join(counts, on="dept", how="full", coalesce=True)
        .fill_null(0)
        .select("dept", "rows_read", "copies", "superseded", *DECISIONS)
        .with_columns(pl.sum_horizontal("copies", "superseded", *DECISIONS).alias("accounted"))
        .with_columns((pl.col("rows_read") == pl.col("accounted")).alias("balanced"))
        .sort("dept")
    )
    bad = table.filter(~pl.col("balanced"))
    if bad.height:
        detail = "; ".join(
            f"{r['dept']}: read {r['rows_read']} but accounted {r['accounted']}" for r in bad.iter_rows(named=True)
        )
        raise AccountingError(f"row accounting does not add up — {detail}")
    return table


def together(frames: list[pl.DataFrame | None], schema: dict | None = None) -> pl.DataFrame:
    """The frames given (None: none) one after another, columns matched by name and type widened;
    the first of them (or an empty frame of `schema`) when none holds a row."""
    frames = [f for f in frames if f is not None]
    full = [f for f in frames if f.height]
    if full:
        return pl.concat(full, how="diagonal_relaxed")
    return frames[0] if frames else pl.DataFrame(schema=schema or {})


def settle(person: pl.DataFrame | None, water: pl.DataFrame | None, rejected: pl.DataFrame, superseded: pl.DataFrame,
           rows_read: pl.DataFrame, read: Collection[str], departments: Collection[str],
           kept: Mapping[str, pl.DataFrame | None] | None = None,
           ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The period's links and the proof that every row read is accounted for -> (links, rejected,
    superseded, table).

    `person`: the person records' Link rows; `water`: the work orders' places (`resolve_places`;
    None: none delivered); `rejected`, `superseded`: the run's `Rejected` and `Superseded` rows;
    `rows_read`: dept, rows, copies (`ingest_department`'s, as `account` reads them); `read`: the folders read this run, of
    which `departments` (the config's, not the reference folders) are accounted. links: one row
    per department record, a row set aside as `rejected` (its record_id, else file#line; a file
    set aside whole has no row), sorted; table: `account`'s (raising AccountingError). A partial
    run's `kept` (links, rejected, superseded, accounting: the other departments' rows as stored,
    each None when none) complete the period, in the order a full run gives."""
    parts = [person]
    if water is not None:
        parts.append(water_links(water))
    if rejected.height:
        rows = rejected.filter(pl.col("line").is_not_null())
        parts.append(rows.select(
            "dept", pl.col("kind").fill_null("unknown"),
            pl.coalesce("record_id", pl.col("file") + pl.lit("#") + pl.col("line").cast(pl.Utf8)).alias("record_id"),
            pl.lit("rejected").alias("decision"), pl.lit(None, pl.Utf8).alias("person_id"),
            pl.lit(None, pl.Utf8).alias("household_id"), pl.lit(None, pl.Float64).alias("score"),
            pl.col("reason"), pl.lit(0).alias("n_candidates"),
        ))
    person_depts = [d for d in read if d in departments]
    links = together(parts).filter(pl.col("dept").is_in(person_depts))
    links = links.with_columns(pl.col("n_candidates").cast(pl.Int64)).sort("dept", "kind", "record_id")
    rows = rows_read.filter(pl.col("dept").is_in(person_depts))
    table = account(rows, links, superseded.filter(pl.col("dept").is_in(person_depts)))
    kept = kept or {}
    links = together([links, kept.get("links")]).sort("dept", "kind", "record_id")
    rejected = together([rejected, kept.get("rejected")], REJECTED_SCHEMA).sort(
        "dept", nulls_last=True, maintain_order=True)  # (in the order a full run gives: by folder)
    superseded = together([superseded, kept.get("superseded")], SUPERSEDED_SCHEMA)
    both = together([table, kept.get("accounting")])
    # (a department kept as a warehouse stored it before it counted copies: none)
    both = both if "copies" in both.columns else both.with_columns(copies=pl.lit(None, pl.Int64))
    table = both.select(table.columns).cast(table.schema).with_columns(pl.col("copies").fill_null(0)).sort("dept")
    return links, rejected, superseded, table


def quality_report(
    findings: pl.DataFrame,
    rejected: pl.DataFrame,
    superseded: pl.DataFrame,
    grid: pl.DataFrame | None,
    roster: pl.DataFrame | None,
    max_grid_households: int,
) -> pl.DataFrame:
    """The county's data-quality report (`QualityFinding`): one row per finding.

    `findings` are the run's own notes (missing departments, repeated files) in the same
    columns; files set aside whole are listed one by one with their reason: a file or folder
    not read (a rejected row without a line, count 1) or a table whose header fits no kind (its
    rows, without a kind; count: its rows). The other rejected rows are summarised by
    department, file and reason; records delivered again by the file replaced and the file whose
    delivery is used (with other content: `Finding.REPLACED`, which the console shows too;
    unchanged: `Finding.DELIVERED_AGAIN`); grids over `max_grid_households` (Article 10: of the
    roster's households, a stale row of one it no longer holds said apart) and
    roster households without a grid worker are listed; so is a 乡（镇） the roster holds under two
    县（市、区） (one township list would carry both: run each county from its own inbox).
    """
    cols = QUALITY_COLUMNS
    parts = [findings.select(list(cols)).cast(cols)]
    whole = pl.col("line").is_null() | pl.col("kind").is_null()
    if (files := rejected.filter(whole)).height:
        parts.append(files.group_by("dept", "file", "reason").len().select(
            pl.lit(Finding.FILE_SET_ASIDE).alias("category"), "dept", "file",
            pl.col("reason").alias("detail"), pl.col("len").cast(pl.Int64).alias("count")))
    rejected = rejected.filter(~whole)
    if rejected.height:
        parts.append(
            rejected.with_columns(pl.col("reason").str.split("；").list.first().str.split(":").list.first())
            .group_by("dept", "file", "reason").len()
            .select(
                pl.lit(Finding.ROWS_SET_ASIDE).alias("category"), "dept", "file",
                pl.col("reason").alias("detail"), pl.col("len").cast(pl.Int64).alias("count"),
            )
        )
    if superseded.height:
        changed, other_year = pl.col("changed"), pl.col("other_year")
        for c in ("other_year", "other_person"):  # (a frame of a run stored before the column existed)
            if c not in superseded.columns:
                superseded = superseded.with_columns(pl.lit(False).alias(c))
        # (most of a file's records replaced by another person's: the department numbers each file
        # from 1, and the records replaced are lost, not corrected)
        some = pl.col("other") > 0
        others_zh = pl.when(some).then(pl.format(
            "；其中 {} 行的证件号码与姓名都与之不同，是另一个人：部门是否每个文件各自从 1 编号？如是，被替换的记录未计入，请部门统一编号后重报",
            "other")).otherwise(pl.lit(""))
        others_en = pl.when(some).then(pl.format(
            "; {} of them show another ID and another name: if the department numbers each file from 1, the records "
            "replaced are lost, ask for one numbering", "other")).otherwise(pl.lit(""))
        # (... or, within one file, each part of it: a file joining townships' lists, each numbered from 1)
        inner_zh = pl.when(some).then(pl.format(
            "；其中 {} 行的证件号码与姓名都与之不同，是另一个人：部门是否分段（如各乡镇）各自从 1 编号？如是，前一行的记录未计入，"
            "请部门统一编号后重报", "other")).otherwise(pl.lit(""))
        inner_en = pl.when(some).then(pl.format(
            "; {} of them show another ID and another name: if the department numbers each part (each township) from 1, "
            "the earlier line's records are lost, ask for one numbering", "other")).otherwise(pl.lit(""))
        parts.append(
            superseded.group_by("dept", "file", pl.col("superseded_by").str.replace(r":\d+$", "").alias("by"), "changed",
                                other_year.fill_null(False))
            .agg(pl.len(), other=pl.col("other_person").fill_null(False).sum())
            .select(
                pl.when(other_year).then(pl.lit(Finding.OTHER_YEAR)).when(changed).then(pl.lit(Finding.REPLACED))
                .otherwise(pl.lit(Finding.DELIVERED_AGAIN)).alias("category"),
                "dept", "file",
                pl.when(other_year & (pl.col("by") == pl.col("file"))).then(pl.lit(
                    "同一记录在本文件中另有其他年度（如参保年度）的行，以本期年度的行为准（无则以最近年度的行） the record's row "
                    "of another year in the file: the row of the period's year is used (else the latest year's)"))
                .when(other_year).then(pl.format(
                    "同一记录在 {} 中另有其他年度的行，以该行为准 the record's row of another year in {}: that row is used", "by", "by"))
                .when(changed & (pl.col("by") == pl.col("file"))).then(pl.format(
                    "同一记录在本文件中以不同内容出现两次，以后一行为准{} a record twice in the file with other content: "
                    "the later line is used{}", inner_zh, inner_en))
                .when(changed).then(pl.format("在 {} 中以不同内容再次报送，以后者为准{} delivered again with other content in {}: "
                                              "that delivery is used{}", "by", others_zh, "by", others_en))
                .when(pl.col("by") == pl.col("file")).then(pl.lit(
                    "同一记录在本文件中原样出现两次，只计一次 a record twice in the file unchanged: counted once"))
                .otherwise(pl.format("在 {} 中原样再次报送，只计一次 delivered again unchanged in {}: counted once", "by", "by"))
                .alias("detail"),
                pl.col("len").cast(pl.Int64).alias("count"),
            )
        )
    if grid is not None and grid.height:
        # (named with its file and first line, for the county to find it: the grid's id alone was all
        # it said; not its worker's name: the report, its HTML too, carries no person's name)
        where = [c for c in ("file", "line") if c in grid.columns]
        # (the households of this period's roster: a grid row of a 户编号 the roster no longer holds
        # is stale, said as 网格户不在底册, and its grid worker visits no one for it; counted, a
        # grid of 98 households and 5 stale rows was called over 100)
        known = roster is not None and roster.height > 0
        on_roster = pl.col("household_id").is_in(roster["household_id"].implode()) if known else pl.lit(True)
        big = (grid.sort(where) if where else grid).with_columns(_on=on_roster).group_by(
            "grid_id", maintain_order=True).agg(
                pl.col("household_id").filter("_on").n_unique().alias("n"),
                pl.col("household_id").filter(~pl.col("_on")).n_unique().alias("stale"),
                *[pl.col(c).drop_nulls().first() for c in where]).filter(pl.col("n") > max_grid_households).sort("grid_id")
        said = pl.format("（{} 第 {} 行起）", "file", "line") if len(where) == 2 else pl.lit(" ")
        stale = pl.when(pl.col("stale") > 0).then(pl.format(
            "；另有 {} 个户编号不在本期底册，未计入（见 网格户不在底册）", "stale")).otherwise(pl.lit(""))
        parts.append(
            big.select(
                pl.lit(Finding.GRID_OVER_LIMIT).alias("category"),
                pl.lit("网格").alias("dept"), (pl.col("file") if "file" in where else pl.lit(None, pl.Utf8)).alias("file"),
                pl.format("网格 {}{}户数超过 {}（{}{} 户{}）", "grid_id", said.fill_null(" "),
                          pl.lit(max_grid_households), pl.lit("底册中的 " if known else ""), "n", stale).alias("detail"),
                pl.col("n").cast(pl.Int64).alias("count"),
            )
        )
        twice = (superseded.filter(pl.col("dept") == "网格", pl.col("changed")) if "changed" in superseded.columns
                 else superseded.head(0))
        if twice.height and "grid_id" in grid.columns:
            # a household the grid lists again under another grid or worker: the list names the last
            # (said by its grid and line, not its worker's name: the report, its HTML too, names no person)
            # (by `record_key`, as the grid's rows were superseded: h2 kept as H2, 012 as 12)
            kept = grid.select(_k=record_key(pl.col("household_id")), grid_id="grid_id")
            named = (twice.sort("file", "line").with_columns(_k=record_key(pl.col("record_id")))
                     .join(kept, on="_k", how="left", maintain_order="left")
                     .unique("record_id", keep="first", maintain_order=True))
            more = "…" if named.height > 10 else ""
            parts.append(pl.DataFrame({
                "category": [Finding.GRID_TWICE], "dept": ["网格"], "file": [None],
                "detail": ["同一户在网格表中出现不止一次且网格或网格员不同，清单按最后报送的一行：" + "；".join(
                    f"{r['record_id']}（{r['file']} 第 {r['line']} 行另列；按 {r['superseded_by']} 行的网格 {r['grid_id']}）"
                    for r in named.head(10).iter_rows(named=True)) + more
                    + " a household listed again with another grid or grid worker: the lists name the last one delivered"],
                "count": [named.height],
            }, schema=cols))
        if roster is not None and roster.height:
            def some(ids: pl.DataFrame) -> str:  # (the first 户编号 of them, for the county to look up)
                first = ids["household_id"].sort().head(10).to_list()
                return "：" + "、".join(first) + ("…" if ids.height > 10 else "") + " "
            orphan = roster.select("household_id").unique().join(grid.select("household_id"), on="household_id", how="anti")
            if orphan.height:
                parts.append(pl.DataFrame({
                    "category": [Finding.NO_GRID_WORKER], "dept": ["网格"], "file": [None],
                    "detail": ["底册中的户在网格表中找不到" + some(orphan) + "roster households missing from the grid"],
                    "count": [orphan.height],
                }, schema=cols))
            stray = grid.select("household_id").unique().join(roster.select("household_id"), on="household_id", how="anti")
            if stray.height:
                excel = stray["household_id"].str.contains(EXCEL_ZERO_TAIL).any()
                parts.append(pl.DataFrame({
                    "category": [Finding.GRID_OFF_ROSTER], "dept": ["网格"], "file": [None],
                    "detail": ["网格表中的户在底册中找不到（已不在底册，或户编号写错）" + some(stray).rstrip()
                               + ("。户编号超过 15 位且末尾为 0：Excel 只保留了 15 位有效数字，请把户编号列设为文本后重报" if excel else "")
                               + " grid households not on the roster (gone from it, or a mistyped 户编号)"
                               + ("; some are over 15 digits ending in zeros: Excel kept 15 significant digits, deliver "
                                  "the grid again with the column as text" if excel else "")],
                    "count": [stray.height],
                }, schema=cols))
    if roster is not None and {"township", "county"} <= set(roster.columns):
        twice = (roster.filter(pl.col("township").is_not_null()).group_by("township")
                 .agg(pl.col("county").drop_nulls().unique().sort()).filter(pl.col("county").list.len() > 1).sort("township"))
        parts.append(twice.select(
            category=pl.lit(Finding.TOWNSHIP_TWICE), dept=pl.lit("户籍底册"), file=pl.lit(None, pl.Utf8),
            detail=pl.format("乡（镇）{} 在 {} 均有，两地的户将列入同一份乡镇清单：请按县分别运行 township in two counties: "
                             "their households would share one township list; run each county from its own inbox",
                             "township", pl.col("county").list.join("、")),
            count=pl.lit(1, pl.Int64)))
    return QualityFinding.validate(in_report_order(pl.concat([p.cast(cols) for p in parts], how="vertical")))


def county_quality(findings: pl.DataFrame, rejected: pl.DataFrame, superseded: pl.DataFrame, grid: pl.DataFrame | None,
                   roster: pl.DataFrame | None, max_grid_households: int, others: Collection[str] = (),
                   kept: pl.DataFrame | None = None) -> pl.DataFrame:
    """The run's data-quality report (`quality_report`). A partial run's, of the set-aside and
    superseded rows of the departments it re-read (not `others`), with the published findings it
    keeps of the others (`kept`: 数据质量报告.csv's rows of them; None in a full run), in the
    report's order. (An unknown folder or a file at the period's root is found again by every run.)"""
    mine = ~pl.col("dept").is_in(list(others)).fill_null(False)
    quality = quality_report(findings, rejected.filter(mine), superseded.filter(mine), grid, roster, max_grid_households)
    if kept is not None:  # (what changed since the period's last run was said of the run before: not kept)
        kept = kept.filter(pl.col("category").ne_missing(Finding.SINCE_LAST_RUN))
        quality = in_report_order(pl.concat([quality, kept.select(list(QUALITY_COLUMNS)).cast(QUALITY_COLUMNS)]))
    return quality


def read_in_part(files: pl.DataFrame, problems: list, only: Collection[str], reference: Collection[str]
                 ) -> tuple[pl.DataFrame, list]:
    """The inbox's files and problems (`adapters.inbox.discover`) a run reads: a partial run
    (`only`: the departments re-read; () a full run, all) the reference folders' (roster, grid,
    answers: every run reads them) and those departments' alone, and the problems of no folder.
    The other departments keep their stored results: their files are not read, nor said again."""
    if not only:
        return files, problems
    keep = set(only) | set(reference)
    return (files.filter(pl.col("dept").is_in(sorted(keep))),
            [p for p in problems if p.dept is None or p.dept in keep])


def inbox_findings(problems: Iterable, late: pl.DataFrame | None, files: pl.DataFrame,
                   departments: Iterable[str]) -> pl.DataFrame:
    """QualityFinding rows of the inbox as found (`adapters.inbox.discover`): each problem of a
    file or folder read all the same (`problems`: those set aside are told by their rejected rows),
    the answers put into an earlier period's folder after it ran (`late`: `answers_put_in_late`'s;
    None when none), and each of `departments` that delivered no file (`files`' dept): its
    rules did not run."""
    present = set(files["dept"].to_list()) if files.height else set()
    findings = [dict(category=Finding.FILE_NOTE, dept=p.dept, file=p.file, detail=p.problem, count=1)
                for p in problems if not p.set_aside]
    findings += [] if late is None else late.to_dicts()
    findings += [dict(category=Finding.DEPT_MISSING, dept=dept, file=None, count=1,
                      detail="本期未收到该部门数据，其规则未运行 no extract this period; its rules did not run")
                 for dept in departments if dept not in present]
    return pl.DataFrame(findings, schema=QUALITY_COLUMNS)


def earlier_copies(files: pl.DataFrame, earlier: pl.DataFrame | None, departments: list[str]) -> pl.DataFrame:
    """The period's department files (`files`: dept, file, sha256) byte for byte a file delivered
    in an earlier period to the same department (`earlier`: period, dept, file, sha256, the
    warehouse's `deliveries` before this period) -> dept, file, period, was: the first such period
    and its file, where its records were delivered (a later period's copy of it was not read
    again). Last month's extract put in again: its records were delivered then
    (`inbox.read_department` does not read it again, but for a list delivered whole every period,
    which may not change). Only `departments` (a roster or grid delivered unchanged is no mistake)."""
    schema = {"dept": pl.String, "file": pl.String, "period": pl.String, "was": pl.String}
    if earlier is None or earlier.is_empty() or files.is_empty():
        return pl.DataFrame(schema=schema)
    # (the department's own: a file put into another department's folder then was read as that
    # one's, its rows set aside; put into the right folder now, it is delivered now)
    first = (earlier.sort("period", "file").group_by("dept", "sha256", maintain_order=True).first()
             .select("dept", "sha256", "period", pl.col("file").alias("was")))
    return (files.filter(pl.col("dept").is_in(departments))
            .join(first, on=["dept", "sha256"], how="inner", maintain_order="left")
            .select(*schema).cast(schema))


def export_months(tables: Iterable[pl.DataFrame], period: str, share: float) -> list[str]:
    """One department file's valid rows (`tables`: its extracts' validated rows, the lists
    delivered whole every period aside) -> the earlier months (YYYY-MM, in order) the file may be
    an export of: each row dated by the latest of its dates (a settlement by its 结算日期, a work
    order resolved since by its 解决日期); when at least `share` of the dated rows lie before
    `period`'s first day, the months those lie in (one month's extract, late ones of the month
    before among them; a quarter's). Empty otherwise, and for a file of fewer than two dated rows.
    A month's extract holds the period's new or changed records, late ones with an earlier date
    among them: this only says which months' records to compare the file with
    (`inbox.read_department`); dates alone set nothing aside."""
    dated = [t.select(pl.max_horizontal(dates).alias("d")) for t in tables
             if (dates := [c for c, kind in t.schema.items() if kind == pl.Date])]
    days = pl.concat(dated)["d"].drop_nulls() if dated else pl.Series("d", [], pl.Date)
    if days.len() < 2:
        return []
    before = days.filter(days < date(int(period[:4]), int(period[5:7]), 1))
    if before.len() < share * days.len():
        return []
    return before.dt.strftime("%Y-%m").unique().sort().to_list()


def changed_since_last_run(files: pl.DataFrame, before: pl.DataFrame | None, records: pl.DataFrame,
                           records_before: pl.DataFrame | None, departments: Collection[str], shown: int = 20,
                           ) -> pl.DataFrame:
    """A re-run's department files (`files`: dept, file, sha256) and records (`records`: dept,
    record_id, the links) + those the period's last run stored (`before`: its `deliveries`;
    `records_before`: its `links`; None: the period's first run) -> `QualityFinding` rows, of
    `departments` (those read again): each file replaced under its name, put in or taken out
    since, and the records that run had that no file delivers now (compared by `record_key`; at
    most `shown` named). What a corrected delivery changed is otherwise invisible: a file
    re-saved under its name reads like the old one, and a withdrawn record just is not there."""
    cols = QUALITY_COLUMNS
    if before is None:
        return pl.DataFrame(schema=cols)
    mine = pl.col("dept").is_in(list(departments))
    now, then = files.filter(mine).select("dept", "file", "sha256"), before.filter(mine).select("dept", "file", "sha256")
    both = now.join(then, on=["dept", "file"], how="full", coalesce=True, suffix="_then")
    said = (pl.when(pl.col("sha256_then").is_null()).then(pl.lit("本期上次运行后放入 — file put in since the period's last run"))
            .when(pl.col("sha256").is_null()).then(pl.lit(
                "本期上次运行后已移出，其记录不再读取 — file taken out since the period's last run: its records are read no more"))
            .when(pl.col("sha256") != pl.col("sha256_then")).then(pl.lit(
                "本期上次运行后该文件内容已变（同名文件被替换），本次按新内容读取"
                " — file replaced since the period's last run: read as it is now")))
    changed = both.with_columns(detail=said).filter(pl.col("detail").is_not_null()).sort("dept", "file").select(
        "dept", "file", "detail", count=pl.lit(1, pl.Int64))
    gone = pl.DataFrame(schema={"dept": pl.String, "file": pl.String, "detail": pl.String, "count": pl.Int64})
    if records_before is not None:
        key = record_key(pl.col("record_id").cast(pl.String)).alias("_key")
        lost = (records_before.filter(mine).select("dept", "record_id", key).drop_nulls("_key")  # (a row without a number)
                .unique(["dept", "_key"], maintain_order=True)
                .join(records.filter(mine).select("dept", key), on=["dept", "_key"], how="anti").sort("dept", "_key"))
        gone = lost.group_by("dept", maintain_order=True).agg(
            ids=pl.col("record_id").head(shown).str.join("、"), count=pl.len().cast(pl.Int64)).select(
            "dept", file=pl.lit(None, pl.String), count="count", detail=pl.format(
                "本期上次运行时有、现已无文件报送的记录：{}{} — records of the period's last run no file delivers now",
                "ids", pl.when(pl.col("count") > shown).then(pl.format(" 等 {} 条", "count")).otherwise(pl.lit(""))))
    return pl.concat([changed, gone.select(changed.columns)]).select(
        category=pl.lit(Finding.SINCE_LAST_RUN), dept="dept", file="file", detail="detail", count="count").cast(cols)


def answers_put_in_late(found: pl.DataFrame, delivered: pl.DataFrame | None, period: str) -> pl.DataFrame:
    """`QualityFinding` rows for answer files (反馈, 复核) now in an earlier period's folder that its
    last run did not read (`found`: period, dept, file, sha256, `inbox.answer_files` of the periods
    run before `period`; `delivered`: the warehouse's `deliveries` of those periods): put in, or
    changed, after that period ran. A run reads only its own period's answer folders, so such a
    file (a township's late list dropped into the month it answers) would wait unseen until
    someone ran that period again."""
    cols = QUALITY_COLUMNS
    if found.is_empty():
        return pl.DataFrame(schema=cols)
    known = (delivered.select("period", "file", "sha256") if delivered is not None and not delivered.is_empty()
             else pl.DataFrame(schema={"period": pl.String, "file": pl.String, "sha256": pl.String}))
    late = found.join(known, on=["period", "file", "sha256"], how="anti", maintain_order="left")
    return late.select(
        category=pl.lit(Finding.ANSWERS_NOT_READ), dept="dept", file=pl.format("{}/{}", "period", "file"),
        detail=pl.format("在 {} 期运行之后放入或改动，未读取：请移入本期（{}）的 {}/ 后重跑本期，或重跑 {} 期（其后各期随之重跑） "
                         "put into {}'s folder after that period ran, not read: move it into this period's {}/ and "
                         "run it again, or run {} again (later periods follow)",
                         "period", pl.lit(period), "dept", "period", "period", "dept", "period"),
        count=pl.lit(1, pl.Int64),
    ).cast(cols)


# What a department with no usable row this period did (`delivery_states`), in words: (Chinese, English)
NOT_DELIVERED = ("本期未报送", "not delivered")
EMPTY = ("空表（只有表头）", "delivered empty: a header and no record")
SET_ASIDE = ("整体搁置（见搁置行）", "set aside whole, every row (see 搁置行及原因.csv)")
NONE_USABLE = ("无可用行（见数据质量报告）", "no usable row (see 数据质量报告.csv)")
# (a template's own row set aside is no record: its file is empty; cut as `quality_report` cuts a reason)
_TEMPLATE_DETAIL = TEMPLATE_ROW.split("；")[0].split(":")[0]


def delivery_states(acc: pl.DataFrame, quality: pl.DataFrame, departments: Iterable[str],
                    kinds: Mapping[str, Collection[str]] | None = None, links: pl.DataFrame | None = None
                    ) -> dict[str, tuple[str, str]]:
    """Each department that has no usable row this period (none matched, in review or unmatched)
    -> what it did, in words: `NOT_DELIVERED` (one of `departments` without a row in `acc`, the
    accounting table: no file), `SET_ASIDE` (its files or every row set aside: `quality` names a
    file or rows set aside but a template's own), `EMPTY` (a file of a header and no record:
    `Finding.NO_ROWS`), else `NONE_USABLE`. And each department with usable rows of some of its
    kinds but none of another (`kinds`: department -> its kinds; `links`: the period's, with
    dept, kind, decision, reason; both None: not looked at) -> `missing_kinds`' words (医保's
    结算明细 without its 参保名单: 缺参保名单). A department with usable rows of every kind is not in
    it. For the console and the county report alike: their row of zeros told none of these apart."""
    said = quality.filter(pl.col("dept").is_not_null())
    aside = set(said.filter((pl.col("category") == Finding.FILE_SET_ASIDE)
                            | ((pl.col("category") == Finding.ROWS_SET_ASIDE)
                               & (pl.col("detail").fill_null("") != _TEMPLATE_DETAIL)))["dept"].to_list())
    empty = set(said.filter(pl.col("category") == Finding.NO_ROWS)["dept"].to_list())
    states = {d: NOT_DELIVERED for d in departments if d not in set(acc["dept"].to_list())}
    for r in acc.iter_rows(named=True):
        if not sum(r[k] or 0 for k in ("matched", "review", "unmatched")):
            d = r["dept"]
            states[d] = SET_ASIDE if d in aside else EMPTY if d in empty else NONE_USABLE
    if kinds is not None and links is not None:
        used = set(acc["dept"].to_list()) - set(states)
        states |= missing_kinds(links, {d: ks for d, ks in kinds.items() if d in used})
    return states


def missing_kinds(links: pl.DataFrame, kinds: Mapping[str, Collection[str]]) -> dict[str, tuple[str, str]]:
    """Each department of `kinds` (department -> its kinds) of which a kind has no usable row in
    `links` (dept, kind, decision, reason) -> in words (Chinese, English), by `EXTRACT_NAMES`:
    `缺<name>` (no row of it, or a template's own alone), `<name>全部搁置` (every row set aside)."""
    rows = links.group_by("dept", "kind").agg(
        usable=pl.col("decision").is_in(["matched", "review", "unmatched"]).sum(),
        aside=((pl.col("decision") == "rejected") & (pl.col("reason").fill_null("") != TEMPLATE_ROW)).sum())
    got = {(r["dept"], r["kind"]): r for r in rows.iter_rows(named=True)}
    out = {}
    for dept, ks in kinds.items():
        words = []
        for k in ks:
            r, name = got.get((dept, k)), EXTRACT_NAMES.get(k, k)
            if r is None or not r["usable"]:
                words.append((f"{name}全部搁置（见搁置行）", f"every {name} ({k}) row set aside (see 搁置行及原因.csv)")
                             if r is not None and r["aside"] else (f"缺{name}", f"no {name} ({k})"))
        if words:
            out[dept] = ("；".join(zh for zh, _ in words), "; ".join(en for _, en in words))
    return out


def in_report_order(quality: pl.DataFrame) -> pl.DataFrame:
    """数据质量报告's rows in its order (category, department, file, detail), a partial run's
    findings and those it keeps of the other departments alike."""
    return quality.sort("category", "dept", "file", "detail", nulls_last=True)
