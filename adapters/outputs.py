"""Writing outputs: every file is written to a temporary name beside its target and renamed into
place, so no reader ever sees a half-written file. A period's output folder is built whole in a
staging folder and swapped in at the end (`swap_in`, then `drop_replaced` or `swap_back`; after a
kill, `recover`)."""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable

import polars as pl

from config import usable_cpus

# Files with personal data are readable by the owner only (Article 27).
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def _private_dirs(folder: Path) -> None:
    """Create `folder` and any missing parents readable by the owner only (mkdir's mode applies
    to the last folder alone)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for d in reversed(missing):
        d.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        os.chmod(d, PRIVATE_DIR_MODE)


@contextmanager
def atomic_path(target: Path, durable: bool = False):
    """Yield a temporary path in the target's folder; on success rename it onto the target.
    `durable` (a file standing alone, not in a folder `swap_in` flushes: a warehouse backup or
    restore): the file is on disk before the rename, and the rename before it returns (`_fsync`)."""
    target = Path(target)
    _private_dirs(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, PRIVATE_FILE_MODE)
        if durable:
            _fsync(Path(tmp))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        _fsync(target.parent)


def defuse_formulas(df: pl.DataFrame) -> pl.DataFrame:
    """Text cells starting with = + - @ TAB or CR get a leading apostrophe, so a value planted
    in a department extract (`=HYPERLINK(...)`) is shown as text, never run, in Excel/WPS."""
    return _rewrite(df, r"^([=+\-@\t\r])", "'$1")


def _rewrite(df: pl.DataFrame, pattern: str, replacement: str) -> pl.DataFrame:
    """`df` with the text cells matching `pattern` rewritten (`replacement`). Only the columns
    holding one are rewritten (a scan finds them: rewriting costs more)."""
    found = df.select(pl.col(pl.Utf8).str.contains(pattern).any())
    return df.with_columns(pl.col(c.name).str.replace(pattern, replacement) for c in found.iter_columns() if c[0])


# A text cell Excel and WPS would take for a number and change: 12 digits or more (shown as
# 3.41302E+17, digits past the 15th lost when the sheet is saved), or a leading zero (dropped).
_NUMBER_LIKE = r"^(?:[0-9]{12,}|0[0-9]+)$"


def as_excel_text(df: pl.DataFrame) -> pl.DataFrame:
    """Text cells Excel would read as a number and change (`_NUMBER_LIKE`: a full 证件号码 in the
    county's review queue, a long numeric 户编号, 人编号 or 结算流水号, a code with a leading zero)
    written in Excel's text-formula form `="…"`, so Excel and WPS show them whole and a sheet
    saved from them keeps every digit; the inbox reads that form back as the text inside
    (`adapters.inbox._value`), so a returned list answers the same."""
    return _rewrite(df, _NUMBER_LIKE, '="$0"')


def write_csv(df: pl.DataFrame, target: Path) -> Path:
    """CSV in UTF-8 with BOM, so Excel and WPS open Chinese text correctly; formulas defused,
    long numbers as text (`as_excel_text`)."""
    with atomic_path(target) as tmp:
        as_excel_text(defuse_formulas(df)).write_csv(tmp, include_bom=True)
    return target


def read_csv(path: Path) -> pl.DataFrame:
    """A CSV `write_csv` wrote -> its rows as they were before it was written, every column text:
    `as_excel_text`'s `="…"` the text inside, `defuse_formulas`' apostrophe taken off. A partial
    run keeps the published county files' rows of the departments it does not re-read
    (`flows.keep_other_departments`): kept as read, they went into the warehouse's `review_queue`
    as `="…"` and were published again as `'="…"`."""
    df = pl.read_csv(path, infer_schema=False)
    return _rewrite(_rewrite(df, rf'^="({_NUMBER_LIKE[1:-1]})"$', "${1}"), r"^'([=+\-@\t\r])", "${1}")


def write_text(text: str, target: Path) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target


def write_parquet(df: pl.DataFrame, target: Path) -> Path:
    with atomic_path(target) as tmp:
        df.write_parquet(tmp)
    return target


# Characters a folder or file name cannot hold (a path's separators, and those Windows reserves: the
# lists go to townships' Windows machines), written in their full-width forms, which read the same.
_NOT_IN_NAMES = str.maketrans({c: chr(ord(c) + 0xFEE0) for c in '/\\:*?"<>|'})


def file_name(name: str) -> str:
    """`name` (a township's, as the roster writes it) fit to name a folder or file: 埇桥区/大店镇 made
    townships/埇桥区/大店镇/埇桥区/大店镇_….csv, a folder per part; 埇桥区／大店镇 is one. Control
    characters and trailing dots and spaces (Windows drops them) are taken off; `..` is not a name."""
    clean = _XML_ILLEGAL_PY.sub("", name.translate(_NOT_IN_NAMES)).rstrip(". ")
    return clean if clean.strip(".") else "_"


def _sheet_name(name: str, used: set[str]) -> str:
    clean = "".join("_" if c in '[]:*?/\\' else c for c in name)[:31] or "Sheet"
    base, i = clean, 2
    while clean in used:
        clean = f"{base[:28]}_{i}"
        i += 1
    used.add(clean)
    return clean


# --- XLSX, written directly: sheet XML built with polars string expressions, zipped by zipfile ---

_XLSX_MAX_ROWS, _XLSX_MAX_COLS = 1_048_576, 16_384
_XLSX_MAX_TEXT = 32_767  # Excel's limit on a cell's text, in UTF-16 units (xlsxwriter truncates)
_XLSX_CHUNK_ROWS = 50_000  # rows of sheet XML built and compressed at a time
# Not allowed anywhere in an XML 1.0 document (TAB, LF and CR are; surrogates cannot be in polars).
_XML_ILLEGAL = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]"
_XML_ILLEGAL_PY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Excel reads `_xHHHH_` in cell text as an escaped character, so a literal one gets its leading
# underscore escaped (`_x005F_`), as Excel and xlsxwriter write it.
_XL_ESCAPE = r"(_x[0-9A-Fa-f]{4}_)"
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_TEXT_OPEN = '" t="inlineStr"><is><t>'
_TEXT_OPEN_PRESERVE = '" t="inlineStr"><is><t xml:space="preserve">'
_TEXT_CLOSE = "</t></is></c>"
_XLSX_STYLES = (
    _XML_HEAD + f'<styleSheet xmlns="{_NS_MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/><bgColor indexed="64"/></patternFill></fill></fills>'
    '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
    '<border><left style="thin"><color auto="1"/></left><right style="thin"><color auto="1"/></right>'
    '<top style="thin"><color auto="1"/></top><bottom style="thin"><color auto="1"/></bottom><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '<dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium9" defaultPivotStyle="PivotStyleLight16"/>'
    "</styleSheet>"
)


def _xml_escape(s: str, attribute: bool = False) -> str:
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if attribute:
        s = s.replace('"', "&quot;").replace("\n", "&#xA;").replace("\r", "&#xD;").replace("\t", "&#x9;")
    return s


def _col_letter(j: int) -> str:
    letters = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def _is_number(dt: pl.DataType) -> bool:
    return dt.is_integer() or dt.is_float()


def _is_vectorised_text(dt: pl.DataType) -> bool:
    return (dt in (pl.Utf8, pl.Categorical, pl.Date, pl.Decimal, pl.Boolean)
            or isinstance(dt, (pl.Enum, pl.Datetime, pl.Time)))


def _str_form(c: pl.Expr, dt: pl.DataType) -> pl.Expr:
    """A non-numeric column as the text its cells show: Python's str() of each value (what the
    cell-by-cell writer wrote); null stays null. Only for `_is_vectorised_text` types."""
    if dt == pl.Utf8:
        return c
    if dt == pl.Boolean:
        return pl.when(c).then(pl.lit("True")).when(~c).then(pl.lit("False"))
    if isinstance(dt, (pl.Datetime, pl.Time)):
        parts = [c.dt.strftime("%Y-%m-%d %H:%M:%S" if isinstance(dt, pl.Datetime) else "%H:%M:%S"),
                 pl.when(c.dt.microsecond() != 0).then(c.dt.strftime(".%6f")).otherwise(pl.lit(""))]
        if isinstance(dt, pl.Datetime) and dt.time_zone is not None:
            parts.append(c.dt.strftime("%:z"))
        return pl.concat_str(parts)
    return c.cast(pl.Utf8)  # dates, categoricals, enums, decimals: str() and polars agree


# What a text column needs, found by one scan per sheet so that a column of plain names or IDs
# (nearly all of them) is written as is: `special`: characters to drop or escape; `x`: a literal
# `_x` (maybe an `_xHHHH_` to escape); `space`: a value with leading or trailing whitespace.
_SPECIAL = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}&<>\r]"
_EDGE_SPACE = r"^\s|\s$"


def _text_cell(c: pl.Expr, special: bool, x: bool, space: bool) -> pl.Expr:
    """What follows `<c r="B7` in a text cell (null for null): an inline string without the
    characters XML forbids, escaped, leading/trailing whitespace preserved. `c` is already cut to
    Excel's length (`_cut_long_text`)."""
    if special:
        c = c.str.replace_all(_XML_ILLEGAL, "")
    if special or x:  # (dropping characters can make one)
        c = c.str.replace_all(_XL_ESCAPE, "_x005F${1}")
    if special:
        opener = pl.when(c.str.contains(_EDGE_SPACE)).then(pl.lit(_TEXT_OPEN_PRESERVE)).otherwise(pl.lit(_TEXT_OPEN))
        c = c.str.replace_many(["&", "<", ">", "\r"], ["&amp;", "&lt;", "&gt;", "&#13;"])
    else:  # xml:space="preserve" on cells that do not need it is harmless
        opener = pl.lit(_TEXT_OPEN_PRESERVE if space else _TEXT_OPEN)
    return pl.concat_str([opener, c, pl.lit(_TEXT_CLOSE)])


@functools.lru_cache(maxsize=64)
def _sheet_row_query(schema: tuple[tuple[str, pl.DataType], ...], modes: tuple, row_col: str) -> tuple[pl.Expr, pl.Expr]:
    """(has a value, `<row>` element) for a frame of this schema with its 1-based sheet row number
    in `row_col`: an expression per cell, null cells left out, numbers as numbers, everything else
    as text (`modes`: a column's `_text_cell` flags). Cached: a workbook's risk-type sheets, and a
    city's townships, share a few."""
    r, cells, present = pl.col(row_col).cast(pl.Utf8), [], []
    for j, ((name, dt), mode) in enumerate(zip(schema, modes)):
        if dt == pl.Null:
            continue
        c = pl.col(name)
        if _is_number(dt):
            v = c.cast(pl.Utf8)
            if dt.is_float():
                v = v.str.strip_suffix(".0")  # 2 rather than 2.0, as xlsxwriter wrote it
            cell = pl.concat_str([pl.lit('"><v>'), v, pl.lit("</v></c>")])
            if dt.is_float():  # Excel has no NaN/inf numbers: written as the text str() gives
                text = pl.when(c.is_nan()).then(pl.lit("nan")).when(c > 0).then(pl.lit("inf")).otherwise(pl.lit("-inf"))
                cell = pl.when(c.is_nan() | c.is_infinite()).then(_text_cell(text, False, False, False)).otherwise(cell)
        else:
            cell = _text_cell(_str_form(c, dt), *mode)
        cells.append(pl.concat_str([pl.lit(f'<c r="{_col_letter(j)}'), r, cell]))
        present.append(c.is_not_null())
    if not cells:
        return pl.lit(False), pl.lit(None, pl.Utf8)
    row = pl.concat_str([pl.lit('<row r="'), r, pl.lit('">'), *cells, pl.lit("</row>")], ignore_nulls=True)
    return pl.any_horizontal(present), row


def _cut_long_text(s: pl.Series) -> pl.Series:
    """Text longer than Excel's 32,767 UTF-16 units cut to it, as xlsxwriter did: Python, but only
    for values long enough to matter (after dropping the characters XML forbids)."""
    def cut(v: str) -> str:
        n = 0
        for i, ch in enumerate(v):
            n += 2 if ord(ch) > 0xFFFF else 1
            if n > _XLSX_MAX_TEXT:
                return v[:i]
        return v

    s = s.str.replace_all(_XML_ILLEGAL, "")
    idx = (s.str.len_chars() > _XLSX_MAX_TEXT // 2).arg_true()
    return s.scatter(idx, [cut(v) for v in s.gather(idx).to_list()])


def _python_str_columns(df: pl.DataFrame) -> pl.DataFrame:
    """Types our lists never hold (durations, lists, structs, binary, objects) as Python's str()."""
    return df.with_columns(pl.Series(n, [None if v is None else str(v) for v in df[n].to_list()], dtype=pl.Utf8)
                           for n, dt in df.schema.items()
                           if not (_is_number(dt) or _is_vectorised_text(dt) or dt == pl.Null))


def _sheet_batches(frames: list[pl.DataFrame]) -> list[list[int]]:
    """Runs of consecutive sheets with the same columns and at most `_XLSX_CHUNK_ROWS` rows in all
    (a township's risk-type sheets), built in one query each; a bigger sheet alone."""
    batches: list[list[int]] = []
    rows = 0
    for i, df in enumerate(frames):
        prev = frames[batches[-1][-1]] if batches else None
        if (prev is not None and df.width and prev.schema == df.schema
                and rows + df.height <= _XLSX_CHUNK_ROWS):
            batches[-1].append(i)
            rows += df.height
        else:
            batches.append([i])
            rows = df.height
    return batches


@functools.lru_cache(maxsize=64)
def _header_cells(columns: tuple[str, ...]) -> tuple[str, ...]:
    """Header cells through the same text-cell escaping as every other cell. Cached: a city's
    ~1,300 township sheets share a few headers."""
    return tuple(pl.select(_text_cell(pl.lit(pl.Series(columns, dtype=pl.Utf8)), True, True, False)).to_series())


def _sheet_xml_head(df: pl.DataFrame, selected: bool, last_row: int, widths: list[int]) -> bytes:
    letters = [_col_letter(j) for j in range(df.width)]
    dimension = f"A1:{letters[-1]}{last_row}" if df.width and (df.width, last_row) != (1, 1) else "A1"
    tab = ' tabSelected="1"' if selected else ""
    parts = [_XML_HEAD, f'<worksheet xmlns="{_NS_MAIN}" xmlns:r="{_NS_REL}">',
             f'<dimension ref="{dimension}"/>',
             f'<sheetViews><sheetView{tab} workbookViewId="0">'
             '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
             '<selection pane="bottomLeft"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>']
    if df.width:
        parts.append("<cols>")
        for j, w in enumerate(widths):
            w = (w * 7 + 5) * 256 // 7 / 256  # as xlsxwriter: characters -> pixels -> Excel's units
            parts.append(f'<col min="{j + 1}" max="{j + 1}" width="{w:.16g}" customWidth="1"/>')
        parts.append('</cols><sheetData><row r="1">')
        parts += [f'<c r="{letter}1" s="1{h}' for letter, h in zip(letters, _header_cells(tuple(df.columns)))]
        parts.append("</row>")
    else:
        parts.append("<sheetData>")
    return "".join(parts).encode()


def _sheet_xml_tail(df: pl.DataFrame, choices: dict[str, list[str]] | None = None) -> bytes:
    tail = "</sheetData>"
    if df.width:
        tail += f'<autoFilter ref="A1:{_col_letter(df.width - 1)}{max(df.height, 1) + 1}"/>'
    lists = [(j, n, choices[n]) for j, n in enumerate(df.columns) if n in (choices or {})]
    if lists:  # a drop-down on the column's cells below the header, so that a clerk picks, not types
        tail += f'<dataValidations count="{len(lists)}">' + "".join(
            f'<dataValidation type="list" allowBlank="1" showErrorMessage="1" errorTitle="{_xml_escape(n, True)}" '
            f'error="{_xml_escape("请从下拉列表中选择：" + "、".join(vals), True)}" '
            f'sqref="{_col_letter(j)}2:{_col_letter(j)}1048576"><formula1>"{_xml_escape(",".join(vals))}"</formula1>'
            "</dataValidation>" for j, n, vals in lists) + "</dataValidations>"
    return (tail + '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
            "</worksheet>").encode()


def _write_sheets(zf: zipfile.ZipFile, entries: list[zipfile.ZipInfo], frames: list[pl.DataFrame],
                  choices: dict[str, list[str]] | None = None) -> None:
    """The worksheet parts: header row styled and frozen, autofilter over the used range, column
    widths from the first 200 values. A batch of sheets (`_sheet_batches`) is scanned once (widths,
    last row with a value, what each text column needs) and its rows built in one query; a big
    sheet's rows are built and compressed `_XLSX_CHUNK_ROWS` at a time, so that it never sits in
    memory as one string."""
    for batch in _sheet_batches(frames):
        dfs = [frames[i] for i in batch]
        schema = dfs[0].schema
        if not dfs[0].width:
            for i in batch:
                with zf.open(entries[i], "w") as out:
                    out.write(_sheet_xml_head(frames[i], i == 0, 1, []) + _sheet_xml_tail(frames[i], choices))
            continue
        sheet, row_col = "__sheet__", "__row__"
        while sheet in schema or row_col in schema:
            sheet, row_col = sheet + "_", row_col + "_"
        big = pl.concat([df.with_columns(pl.lit(k, pl.UInt32).alias(sheet),
                                         pl.int_range(2, df.height + 2, dtype=pl.UInt32).alias(row_col))
                         for k, df in enumerate(dfs)])
        present = pl.any_horizontal(pl.col(n).is_not_null() for n in schema)
        scan = [pl.col(row_col).filter(present).max()]
        for n, dt in schema.items():
            if dt.is_integer():
                scan.append(pl.col(n).head(200).cast(pl.Utf8).str.len_chars().max())
            elif not dt.is_float() and dt != pl.Null:
                v = _str_form(pl.col(n), dt)
                scan += [v.head(200).str.len_chars().max(), v.str.contains(_SPECIAL).any(),
                         v.str.contains("_x", literal=True).any(), v.str.contains(_EDGE_SPACE).any(),
                         v.str.len_chars().max() > _XLSX_MAX_TEXT // 2]
        stats = {row[0]: row[1:] for row in big.group_by(sheet).agg(e.alias(str(i)) for i, e in enumerate(scan)).rows()}
        heads: list[bytes] = []
        modes: list[tuple] = []
        too_long = []
        for k, df in enumerate(dfs):
            found = iter(stats.get(k, (None,) * len(scan)))
            last, widths = next(found), []
            for j, (n, dt) in enumerate(schema.items()):
                longest = 0
                if dt.is_float():  # Python's repr, which polars' text does not always match (1e-07)
                    longest = max([len(str(v)) for v in df[n].head(200).to_list() if v is not None], default=0)
                elif dt.is_integer():
                    longest = next(found)
                elif dt != pl.Null:
                    longest, special, x, space, long = (next(found) for _ in range(5))
                    flags = (bool(special), bool(x), bool(space))
                    if k == 0:
                        modes.append(flags)
                    else:  # a column needs in the batch what it needs in any of its sheets
                        modes[j] = tuple(a or b for a, b in zip(modes[j], flags))
                    if long and n not in too_long:
                        too_long.append(n)
                if k == 0 and (dt == pl.Null or _is_number(dt)):
                    modes.append(())
                widths.append(max(8, min(60, max(len(n) * 2, min((longest or 0) * 2, 60)))))
            heads.append(_sheet_xml_head(df, batch[k] == 0, 1 if last is None else last, widths))
        if too_long:
            big = big.with_columns(_cut_long_text(big.select(_str_form(pl.col(n), schema[n]).alias(n)).to_series())
                                   for n in too_long)
        has_value, row = _sheet_row_query(tuple(big.select(list(schema)).schema.items()), tuple(modes), row_col)
        xml = row.str.join("").cast(pl.Binary)
        if len(batch) == 1:  # perhaps a big one: in chunks
            df = dfs[0]
            force_zip64 = df.height * (df.width * 120 + 30) > 1 << 30  # may pass zip's 2 GiB limit
            with zf.open(entries[batch[0]], "w", force_zip64=force_zip64) as out:
                out.write(heads[0])
                for start in range(0, df.height, _XLSX_CHUNK_ROWS):
                    out.write(big.slice(start, _XLSX_CHUNK_ROWS).lazy().filter(has_value).select(xml).collect().item() or b"")
                out.write(_sheet_xml_tail(df, choices))
        else:  # small ones, at most `_XLSX_CHUNK_ROWS` rows in all
            parts = dict(big.lazy().filter(has_value).group_by(sheet).agg(xml).collect().rows())
            for k, df in enumerate(dfs):
                with zf.open(entries[batch[k]], "w") as out:
                    out.write(heads[k] + (parts.get(k) or b"") + _sheet_xml_tail(df, choices))


def split_sheets(name: str, df: pl.DataFrame, rows: int = _XLSX_MAX_ROWS - 1) -> dict[str, pl.DataFrame]:
    """`df` as sheets `name`, `name_2`, ... of at most `rows` rows each (below the header row: an
    Excel sheet holds 1,048,576 rows; a city's review queue may be longer)."""
    n = max(1, -(-df.height // rows))
    return {f"{name}_{i + 1}" if i else name: df.slice(i * rows, rows) for i in range(n)}


def write_xlsx(sheets: dict[str, pl.DataFrame], target: Path, created: datetime | None = None,
               choices: dict[str, list[str]] | None = None) -> Path:
    """One workbook, a sheet per entry (in order). Text stays text, so codes such as 户编号 and
    dates read exactly as in the CSV; numeric columns are numbers. `created` pins the workbook's
    timestamps (properties and zip entries) so a re-run writes the same bytes. `choices`: columns
    (by header) whose cells offer a drop-down of these values (a township's 核实结果: 属实/不属实).

    The package is written directly: each sheet's XML is built by polars string expressions
    (inline strings, as xlsxwriter's constant_memory mode wrote them; no per-cell Python), and
    zipped with `zipfile`."""
    created = created or datetime(2000, 1, 1)
    stamp = (min(max(created.year, 1980), 2107), *created.timetuple()[1:6])
    used: set[str] = set()
    names, frames = [], []
    for name, df in sheets.items():
        clean = _sheet_name(_XML_ILLEGAL_PY.sub("", name), used)
        # what Excel refuses to open, and xlsxwriter refused to write
        if clean.startswith("'") or clean.endswith("'"):
            raise ValueError(f"sheet name cannot start or end with an apostrophe: {clean!r}")
        if any(clean.lower() == n.lower() for n in names):
            raise ValueError(f"sheet name {clean!r} is already in use (Excel ignores case)")
        if len(clean.encode("utf-16-le")) > 62:
            raise ValueError(f"sheet name {clean!r} is longer than Excel's 31 UTF-16 units")
        if df.height + 1 > _XLSX_MAX_ROWS or df.width > _XLSX_MAX_COLS:
            raise ValueError(f"sheet {clean!r} is {df.height} x {df.width}: more than an Excel sheet holds")
        names.append(clean)
        frames.append(df)
    n = len(names)
    core_time = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    sheet_rel = f"{_NS_REL}/worksheet"
    content_types = (
        _XML_HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
        '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_CT_SHEET}"/>' for i in range(1, n + 1))
        + "</Types>")
    root_rels = (
        _XML_HEAD + f'<Relationships xmlns="{_NS_PKG_REL}">'
        f'<Relationship Id="rId1" Type="{_NS_REL}/officeDocument" Target="xl/workbook.xml"/>'
        f'<Relationship Id="rId2" Type="{_NS_PKG_REL}/metadata/core-properties" Target="docProps/core.xml"/>'
        f'<Relationship Id="rId3" Type="{_NS_REL}/extended-properties" Target="docProps/app.xml"/>'
        "</Relationships>")
    app = (
        _XML_HEAD + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
        'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        "<Application>Microsoft Excel</Application><DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop>"
        '<HeadingPairs><vt:vector size="2" baseType="variant"><vt:variant><vt:lpstr>Worksheets</vt:lpstr></vt:variant>'
        f"<vt:variant><vt:i4>{n}</vt:i4></vt:variant></vt:vector></HeadingPairs>"
        f'<TitlesOfParts><vt:vector size="{n}" baseType="lpstr">'
        + "".join(f"<vt:lpstr>{_xml_escape(s)}</vt:lpstr>" for s in names)
        + "</vt:vector></TitlesOfParts><Company></Company><LinksUpToDate>false</LinksUpToDate>"
        "<SharedDoc>false</SharedDoc><HyperlinksChanged>false</HyperlinksChanged><AppVersion>12.0000</AppVersion></Properties>")
    core = (
        _XML_HEAD + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<dc:creator></dc:creator><cp:lastModifiedBy></cp:lastModifiedBy>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{core_time}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{core_time}</dcterms:modified></cp:coreProperties>')
    filters = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        + _xml_escape("'" + s.replace("'", "''") + "'")
        + f"!$A$1:${_col_letter(df.width - 1)}${max(df.height, 1) + 1}</definedName>"
        for i, (s, df) in enumerate(zip(names, frames)) if df.width)
    workbook = (
        _XML_HEAD + f'<workbook xmlns="{_NS_MAIN}" xmlns:r="{_NS_REL}">'
        '<fileVersion appName="xl" lastEdited="4" lowestEdited="4" rupBuild="4505"/><workbookPr/>'
        '<bookViews><workbookView xWindow="240" yWindow="15" windowWidth="16095" windowHeight="9660"/></bookViews><sheets>'
        + "".join(f'<sheet name="{_xml_escape(s, attribute=True)}" sheetId="{i}" r:id="rId{i}"/>' for i, s in enumerate(names, 1))
        + "</sheets>" + (f"<definedNames>{filters}</definedNames>" if filters else "")
        + '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>')
    workbook_rels = (
        _XML_HEAD + f'<Relationships xmlns="{_NS_PKG_REL}">'
        + "".join(f'<Relationship Id="rId{i}" Type="{sheet_rel}" Target="worksheets/sheet{i}.xml"/>' for i in range(1, n + 1))
        + f'<Relationship Id="rId{n + 1}" Type="{_NS_REL}/styles" Target="styles.xml"/></Relationships>')

    def entry(name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=stamp)  # fixed time, system and mode: same bytes on re-run
        info.compress_type, info.create_system, info.external_attr = zipfile.ZIP_DEFLATED, 0, 0
        return info

    with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w") as zf:
        for name, text in (("[Content_Types].xml", content_types), ("_rels/.rels", root_rels),
                           ("docProps/app.xml", app), ("docProps/core.xml", core), ("xl/workbook.xml", workbook),
                           ("xl/_rels/workbook.xml.rels", workbook_rels), ("xl/styles.xml", _XLSX_STYLES)):
            zf.writestr(entry(name), text.encode())
        _write_sheets(zf, [entry(f"xl/worksheets/sheet{i}.xml") for i in range(1, n + 1)],
                      [_python_str_columns(df) for df in frames], choices)
    return target


def write_xlsx_many(jobs: list[tuple[dict[str, pl.DataFrame], Path]], created: datetime | None,
                    workers: int | None = None, choices: dict[str, list[str]] | None = None) -> None:
    """`write_xlsx` for many workbooks (a city's township lists), on `workers` threads (every
    core the process may use by default): building the XML (polars) and compressing it (zlib) run outside the GIL."""
    from concurrent.futures import ThreadPoolExecutor

    # largest first, so that no core is left with a big one at the end
    order = sorted(jobs, key=lambda j: -sum(df.height for df in j[0].values()))
    with ThreadPoolExecutor(max_workers=workers or usable_cpus()) as pool:
        for done in [pool.submit(write_xlsx, sheets, target, created, choices) for sheets, target in order]:
            done.result()


def new_staging_dir(final: Path) -> Path:
    """A fresh private folder beside `final`, to build a period's outputs in."""
    _private_dirs(final.parent)
    return Path(tempfile.mkdtemp(prefix=f".{final.name}.staging-", dir=final.parent))


# `swap_in`'s folder beside a period folder: `.<name>.old-<run>` (the folder replaced) or
# `.<name>.new-<run>` (there was none)
_ASIDE = re.compile(r"^\.(?P<name>.+)\.(?P<kind>old|new)-(?P<run>.+)$")


def swap_in(staging: Path, final: Path, run: str) -> Path:
    """Put a fully written staging folder in as `final` for run `run`. What was there is moved
    aside as `.<final>.old-<run>`; when nothing was, an empty folder `.<final>.new-<run>` says so.
    That folder (returned) stays until `drop_replaced` or `swap_back`: a run killed before either
    leaves it for `recover`, which asks whether `run` stored its period. A failing second rename
    puts the previous one back before raising. Every file and folder of `staging` is on disk
    before the renames, and the renames are before it returns (`_fsync`): the warehouse, which
    commits next, never outlives a power cut that the files it says are published do not."""
    for p in sorted(staging.rglob("*"), key=lambda p: -len(p.parts)) + [staging]:  # folders after what they hold
        _fsync(p)
    there = final.exists()
    aside = final.with_name(f".{final.name}.{'old' if there else 'new'}-{run}")
    if there:
        os.replace(final, aside)
    else:
        aside.mkdir(mode=PRIVATE_DIR_MODE)
    try:
        os.replace(staging, final)
    except BaseException:
        swap_back(final, aside)
        raise
    _fsync(final.parent)
    return aside


def _fsync(path: Path) -> None:
    """Have the system write `path` (a file, or a folder: its entries) to disk now, not when it
    likes: a rename may otherwise reach the disk before the data of what it names."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def swap_back(final: Path, aside: Path) -> None:
    """Undo `swap_in`: the folder put in is removed, the one it replaced (if any) is `final` again."""
    shutil.rmtree(final, ignore_errors=True)
    if _ASIDE.match(aside.name)["kind"] == "old":
        os.replace(aside, final)
    else:
        shutil.rmtree(aside, ignore_errors=True)


def drop_replaced(aside: Path) -> None:
    """Remove what `swap_in` left beside the folder (the one it replaced), once the swap is final."""
    shutil.rmtree(aside, ignore_errors=True)


_PERIOD_FOLDER = re.compile(r"^\d{4}-\d{2}$")


def published_periods(out_dir: Path) -> dict[str, datetime]:
    """The period folders published in `out_dir` (OUT/YYYY-MM, each swapped in whole by
    `swap_in`) -> when (the folder's time, UTC: its run wrote it before it stored the period)."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return {}
    return {p.name: datetime.fromtimestamp(p.stat().st_mtime, timezone.utc).replace(tzinfo=None)
            for p in sorted(out_dir.iterdir()) if p.is_dir() and _PERIOD_FOLDER.match(p.name)}


def issued_on(period_dir: Path) -> date | None:
    """The 下发日期 a published period's lists went out with, as its county workbook carries it
    (`write_xlsx`'s `created`, which the run pins to it); None when there is none to read."""
    for book in sorted(Path(period_dir).glob("county/*.xlsx")):
        try:
            with zipfile.ZipFile(book) as zf:
                found = re.search(r"<dcterms:created[^>]*>(\d{4}-\d{2}-\d{2})", zf.read("docProps/core.xml").decode())
        except (OSError, KeyError, zipfile.BadZipFile):
            continue
        if found:
            return date.fromisoformat(found[1])
    return None


def left_by_killed_runs(out_dir: Path) -> list[str]:
    """The folders a killed run left in `out_dir` for `recover` (half-built staging folders, a swap
    it did not finish), by name; read only (a dry run, which does not recover, says them)."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return []
    return sorted(p.name for p in out_dir.iterdir()
                  if p.is_dir() and (p.match(".*.staging-*") or _ASIDE.match(p.name)))


def recover(out_dir: Path, stored: Callable[[str], bool | None] = lambda run: None) -> list[str]:
    """After a killed run (call while holding the warehouse lock): remove half-built staging
    folders, and finish or undo a period folder's swap (`swap_in`) that its run left behind:
    `stored(run)` says whether the run stored the period in the warehouse (committed after the
    swap). Stored: the folder put in stays, the one replaced goes. Not stored (killed between the
    swap and the commit, or between the two renames): the folder put in goes and the one it
    replaced is put back. None (not a run's: an older version named it after its process id):
    the folder in place stays, else the one replaced is put back.
    Returns what was done, for the log."""
    out_dir, done = Path(out_dir), []
    if not out_dir.is_dir():
        return done
    for d in sorted(out_dir.glob(".*.staging-*")):
        shutil.rmtree(d, ignore_errors=True)
        done.append(f"removed unfinished {d.name}")
    for d in sorted(p for p in out_dir.glob(".*-*") if p.is_dir() and _ASIDE.match(p.name)):
        found = _ASIDE.match(d.name)
        final, replaced = out_dir / found["name"], found["kind"] == "old"
        put_in, kept = final.exists(), stored(found["run"])
        if put_in and kept is not False:
            drop_replaced(d)
            if replaced:
                done.append(f"removed replaced {d.name}")
            continue
        swap_back(final, d)
        if put_in:
            done.append(f"{final.name}: its run was killed before it stored the period in the warehouse: "
                        + ("put back the folder published before" if replaced else "removed the folder it put in"))
        elif replaced:
            done.append(f"restored {final.name}")
    return done
