"""Reading the inbox: period folder -> department files -> frames of strings (SPEC §1).

Nothing here raises on bad data: an unreadable file becomes a `ReadError`, which
`pipelines.validate.rejected_files` turns into `Rejected` rows (line null).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from config import Config
from pipelines.standardize import detect_kind, known_headers, normalize_header, standardize
from pipelines.validate import rejected_files, validate

EXTENSIONS = (".csv", ".xlsx")
HEADER_SCAN_ROWS = 15  # title lines + blank lines above the header we are prepared to skip
_TOTAL = re.compile(r"^(合\s*计|总\s*计|小\s*计)")


@dataclass(frozen=True)
class ReadError:
    """A file (or folder) set aside, or a note about it. `file` is relative to the period folder."""

    file: str
    problem: str
    dept: str | None = None
    set_aside: bool = True  # False for notes (duplicate file read once, duplicated header)

    @property
    def message(self) -> str:
        return f"{self.file}: {self.problem}"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def discover(period_dir: Path, cfg: Config) -> tuple[pl.DataFrame, list[ReadError]]:
    """List the period's department files: `dept, file, sha256, size, duplicate_of`.

    Folders map to their canonical name via `cfg.folder_of` (Chinese or English alias). Unknown
    folders, files outside a department folder and non-CSV/XLSX files are reported, not listed.
    A file byte-identical to an earlier one (sorted order) gets `duplicate_of` and is read once.
    """
    period_dir = Path(period_dir)
    problems: list[ReadError] = []
    found: list[tuple[str, str, Path]] = []
    for top in sorted(period_dir.iterdir()):
        if top.name.startswith("."):
            continue
        if top.is_file():
            problems.append(ReadError(top.name, "不在部门文件夹中 not in a department folder"))
            continue
        dept = cfg.folder_of(top.name)
        if dept is None:
            problems.append(ReadError(top.name + "/", "未知文件夹，已跳过 unknown folder, set aside"))
            continue
        for p in top.rglob("*"):
            if p.is_file():
                found.append((dept, p.relative_to(period_dir).as_posix(), p))
    rows, seen = [], {}
    for dept, rel, p in sorted(found, key=lambda t: (t[0], t[1])):
        if p.suffix.lower() not in EXTENSIONS:
            problems.append(ReadError(rel, "文件类型不对，已搁置 set aside: wrong file type", dept))
            continue
        sha = _sha256(p)
        dup = seen.setdefault(sha, rel)
        dup = None if dup == rel else dup
        if dup:
            problems.append(ReadError(rel, f"与 {dup} 完全相同，只读一次 file {rel} identical to {dup}", dept, False))
        rows.append({"dept": dept, "file": rel, "sha256": sha, "size": p.stat().st_size, "duplicate_of": dup})
    schema = {"dept": pl.String, "file": pl.String, "sha256": pl.String, "size": pl.Int64, "duplicate_of": pl.String}
    return pl.DataFrame(rows, schema=schema), problems


def missing_departments(files: pl.DataFrame, cfg: Config) -> list[str]:
    """Folders of the config (departments, roster, grid) with no file this period."""
    have = set(files["dept"].to_list())
    wanted = [cfg.kinds["roster"].folder, cfg.kinds["grid"].folder, *cfg.departments]
    return [d for d in wanted if d not in have]


# ------------------------------------------------------------------------------------------
# Reading one file


def _cell(v) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


_OLE2 = bytes.fromhex("D0CF11E0A1B11AE1")  # legacy Office container (.xls, .doc, encrypted .xlsx)
MAX_CSV_FIELD = 1 << 28  # read over-long fields (validation sets their rows aside) instead of losing the file


def _utf16(name: str) -> bytes:
    return name.encode("utf-16-le")


def _sniff(data: bytes) -> str | None:
    """What a file really is when it is not the CSV/XLSX its name says (a one-line problem), or None."""
    if data.startswith(_OLE2):
        if _utf16("EncryptionInfo") in data or _utf16("EncryptedPackage") in data:
            return "Excel文件设有密码（加密），无法读取 password-protected (encrypted) Excel file: ask for an unprotected copy"
        if _utf16("WordDocument") in data:
            return "这是改了扩展名的Word文档(.doc) a Word .doc renamed, not a data table"
        if _utf16("Workbook") in data or _utf16("Book") in data:
            return "这是改了扩展名的旧版Excel(.xls) legacy Excel .xls renamed: save it as .xlsx or CSV"
        return "旧版Office文件(OLE2)，不是CSV/XLSX legacy Office (OLE2) file, not CSV/XLSX"
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (
        len(head) >= 8 and max(head[0::2].count(0), head[1::2].count(0)) > len(head) // 4
    ):
        return "文件编码为UTF-16，请另存为UTF-8或GB18030 text encoded as UTF-16 (expected UTF-8 or GB18030)"
    if head.startswith(b"PK\x03\x04"):
        return "ZIP/XLSX内容，不是文本CSV ZIP/XLSX content, not a text CSV"
    if head.startswith(b"%PDF"):
        return "这是PDF文件 a PDF file, not a data table"
    return None


def _one_line(e: BaseException, path: Path, rel: str) -> str:
    """An exception as one short line, naming the file by its inbox path (not the server's)."""
    text = " ".join(f"{type(e).__name__}: {e}".replace(str(path), rel).split())
    return text[:200]


def _decode(data: bytes) -> tuple[str, str | None] | None:
    """Text of a UTF-8 (BOM or not) or GB18030 file, and a note when its last character is cut
    off (a truncated file); None when neither encoding fits."""
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc), None
        except UnicodeDecodeError as e:
            if e.reason in ("unexpected end of data", "incomplete multibyte sequence") and e.start >= len(data) - 4:
                try:
                    return data[: e.start].decode(enc), "文件末尾字符不完整（可能被截断） file ends mid-character (truncated?)"
                except UnicodeDecodeError:
                    pass
    return None


def _csv_rows(path: Path, notes: list | None = None, rel: str | None = None) -> Iterable[tuple[int, list[str]]] | str:
    """(line, cells) of a CSV in UTF-8 (BOM or not) or GB18030; or a problem message."""
    data = path.read_bytes()
    if not data.strip():
        return "空文件 empty file"
    sniffed = _sniff(data)
    if sniffed:
        return sniffed
    if b"\x00" in data[:4096]:
        return "不是文本CSV文件 not a text CSV (binary content)"
    decoded = _decode(data)
    if decoded is None:
        return "无法识别文件编码 unknown encoding (not UTF-8 or GB18030)"
    text, note = decoded
    if note and notes is not None:
        notes.append(ReadError(rel or path.name, note, None, False))
    if csv.field_size_limit() < MAX_CSV_FIELD:
        csv.field_size_limit(MAX_CSV_FIELD)

    def rows():
        reader = csv.reader(io.StringIO(text, newline=""))
        start = 1
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1

    return rows()


def _xlsx_sheets(path: Path, rel: str = "") -> Iterable[Iterable[tuple[int, Sequence]]] | str:
    """Per sheet, (Excel row number, cells as text); or a problem message.

    fastexcel reads cells as strings (numbers as their string, dates as `YYYY-MM-DD HH:MM:SS`);
    its range starts at the first non-empty row, which openpyxl (read-only, early stop) locates.
    """
    import fastexcel
    import openpyxl

    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    if not head.startswith(b"PK"):
        return _sniff(head) or "不是XLSX文件（内容不是ZIP） not an XLSX file (no ZIP content)"
    try:
        book = fastexcel.read_excel(str(path))
        wb = openpyxl.load_workbook(path, read_only=True)
    except Exception as e:  # truncated or corrupt zip, broken workbook XML ...
        return f"XLSX文件损坏，无法打开 corrupt XLSX, cannot open: {_one_line(e, path, rel)}"

    def sheet(ws):
        offset = 0
        ws.reset_dimensions()  # a wrong <dimension> would otherwise truncate rows
        for cells in ws.iter_rows(values_only=True):
            if any(c not in (None, "") for c in cells):  # as calamine: a blank-looking " " counts
                break
            offset += 1
        df = book.load_sheet(ws.title, header_row=None, dtypes="string").to_polars()
        return ((offset + j + 1, r) for j, r in enumerate(df.iter_rows()))

    return (sheet(ws) for ws in wb.worksheets)


def _is_header(cells: list[str | None], known: Callable[[str], bool] | None) -> bool:
    filled = [c for c in cells if c]
    if len(filled) < 3:
        return False
    return known is None or sum(known(c) for c in filled) >= 2


def _table(rows: Iterable[tuple[int, Sequence]], known, rel: str, notes: list | None) -> pl.DataFrame | None:
    it = iter(rows)
    header = None
    for _ in range(HEADER_SCAN_ROWS):
        try:
            _, cells = next(it)
        except StopIteration:
            break
        cells = [_cell(c) for c in cells]
        if _is_header(cells, known):
            header = cells
            break
    if header is None:
        return None
    keep: dict[str, int] = {}
    for i, h in enumerate(header):
        if h is None:
            continue
        if h in keep:
            if notes is not None:
                notes.append(ReadError(rel, f"表头重复，保留第一列 duplicated header '{h}': kept the first", None, False))
            continue
        keep[h] = i
    width = len(header)
    data: list[list] = []
    lines: list[int] = []
    for line, cells in it:
        text = "".join(filter(None, cells)).lstrip()
        if not text.strip() or _TOTAL.match(text):
            continue  # blank row, or a 合计/总计/小计 row
        cells = list(cells[:width])
        data.append(cells + [None] * (width - len(cells)))
        lines.append(line)
    grid = pl.DataFrame(data, schema={f"c{i}": pl.String for i in range(width)}, orient="row")
    return grid.select(
        *[pl.col(f"c{i}").str.strip_chars().replace("", None).alias(h) for h, i in keep.items()],
        line=pl.Series(lines, dtype=pl.Int64),
    )


def read_table(
    path: Path,
    rel: str,
    known: Callable[[str], bool] | Collection[str] | None = None,
    notes: list | None = None,
) -> pl.DataFrame | ReadError:
    """Read one CSV/XLSX into String columns named as in its header row, plus `line`
    (1-based line in the file; Excel row number for XLSX).

    `known`: header names (any alias form, e.g. `known_headers(cfg)`) or a predicate; the
    header is the first of the top rows with >=3 filled cells of which >=2 are known. Title
    lines, blank rows and 合计/总计/小计 rows are dropped; values stripped, empty -> null.
    Non-fatal findings (duplicated header names) are appended to `notes`. Never raises.
    """
    if known is not None and not callable(known):
        names = {normalize_header(k) for k in known}
        known = lambda h: normalize_header(h) in names  # noqa: E731
    path = Path(path)
    try:
        if path.suffix.lower() == ".xlsx":
            if path.stat().st_size == 0:
                return ReadError(rel, "空文件 empty file")
            sheets = _xlsx_sheets(path, rel)
        else:
            sheets = _csv_rows(path, notes, rel)
            sheets = sheets if isinstance(sheets, str) else [sheets]
        if isinstance(sheets, str):
            return ReadError(rel, sheets)
        for rows in sheets:
            df = _table(rows, known, rel, notes)
            if df is not None:
                return df
        return ReadError(rel, f"前{HEADER_SCAN_ROWS}行未找到表头 no header row found")
    except Exception as e:  # last resort: a file must never stop the run
        return ReadError(rel, f"无法读取 unreadable: {_one_line(e, path, rel)}")


def read_period(period_dir: Path, cfg: Config) -> tuple[dict[str, pl.DataFrame], pl.DataFrame, list[ReadError]]:
    """discover -> read -> detect kind -> standardise -> validate every file of a period.

    Returns (valid rows per kind, files in sorted order, not yet superseded; `Rejected` rows,
    including whole files set aside with line null; every problem and note, for the report).
    """
    period_dir = Path(period_dir)
    files, problems = discover(period_dir, cfg)
    known = known_headers(cfg)
    parts: dict[str, list[pl.DataFrame]] = {}
    rejected: list[pl.DataFrame] = []
    for f in files.filter(pl.col("duplicate_of").is_null()).iter_rows(named=True):
        raw = read_table(period_dir / f["file"], f["file"], known, problems)
        if isinstance(raw, ReadError):
            problems.append(replace(raw, dept=f["dept"]))
            continue
        headers = [c for c in raw.columns if c != "line"]
        spec = detect_kind(headers, f["dept"], cfg)
        if spec is None:
            problems.append(ReadError(f["file"], f"表头不符合{f['dept']}任何数据种类 headers fit no kind: {headers[:15]}", f["dept"]))
            continue
        valid, bad = validate(standardize(raw, spec), spec, f["dept"], f["file"])
        parts.setdefault(spec.name, []).append(valid)
        rejected.append(bad)
    rejected.insert(0, rejected_files([p for p in problems if p.set_aside]))
    return {k: pl.concat(v) for k, v in parts.items()}, pl.concat(rejected), problems
