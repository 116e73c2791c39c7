"""Reading the inbox: period folder -> department files -> frames of strings (SPEC §1).

Nothing here raises on bad data: an unreadable file becomes a `ReadError`, which
`pipelines.validate.rejected_files` turns into `Rejected` rows (line null).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import itertools
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from config import Config, usable_cpus
from pipelines.calendar import period_end
from pipelines.standardize import (describe_misfit, detect_kind, field_columns, known_headers, normalize_header, says_unit,
                                   standardize)
from pipelines.validate import (ASIDE_PERSON, EXTRA, REJECTED_SCHEMA, SET_ASIDE, SHOWN, SUPERSEDED_SCHEMA, TEMPLATE, TEMPLATE_ROW,
                                TOO_LONG, approximate_lines, dates_in_order, delivery_place, delivery_ranks, keep_latest, mask_value,
                                month_only_lines, numbered_within_households, old_id_lines, older_versions, periods_named,
                                persons_set_aside, rejected_files, set_aside_future_dates, sheet_label, sheet_of, stand_ins,
                                template_rows, validate, years_of_period)
from schemas.inputs import EXTRACT_MODELS, record_key
from schemas.outputs import REJECTED_HEADERS, RETURNED_COLUMNS, Finding

EXTENSIONS = (".csv", ".xlsx")
HEADER_SCAN_ROWS = 15  # title lines + blank lines above the header we are prepared to skip
HIDDEN_TABLE_NAMES = 4  # known column names that make a hidden sheet's table look like records (a lookup list has fewer)
# A ".csv" whose header is not found between commas is tried with these in turn (a system's
# export, or Excel's "Text (tab delimited)" renamed .csv); the one that finds it is noted.
SEPARATORS = {",": None, "\t": ("制表符", "tabs"), ";": ("分号", "semicolons"), "|": ("竖线", "vertical bars"),
              "，": ("全角逗号", "full-width commas")}  # (a file typed by hand with a Chinese input method)
_TOTAL_WORD = r"(合\s*计|总\s*计|小\s*计|汇\s*总)"  # (汇总: the total row of a Chinese Excel's or WPS's table, Ctrl+T)
_TOTAL = re.compile(rf"^(本页|本表)?{_TOTAL_WORD}")
# ... or a place's (or page's) subtotal, the place before the word: 大营镇小计, 李洼村 合计, 第1页小计
_PLACE_TOTAL = re.compile(rf"^\S{{0,12}}?(镇|乡|村|街道|社区|区|县|组|页)\s*{_TOTAL_WORD}")
# a label and its colon, as a form's footer or a system's export writes under a table (填表人：,
# 审核人：, 导出时间：, 打印人：, 数据来源：, 报送单位：, 单位（盖章）：)
_LABEL = r"[一-龥（）()]{2,12}\s*[:：]"
# a footer under the table (填表人：… 审核人：…, 注：…, 导出时间：…, 共 200 条, 第 1 页 共 3 页), on a row
# of at most FOOTER_CELLS filled cells
_FOOTER = re.compile(rf"^((填表|填报|制表|审核|负责|联系|统计|经办|打印|导出)人|(填表|填报|制表|统计|打印|导出)(日期|时间|单位)"
                     rf"|{_LABEL}|注\s*\d*\s*[:：]|共\s*\d+\s*(条|行|笔|人|户|项|页)|第\s*\d+\s*页)")
FOOTER_CELLS = 2
# ... or on a row of any width each of whose filled cells is such a label (填表人：张三 | 审核人：李四 |
# 填报日期：2026-11-05, one per cell)
_SIGNATURE = re.compile(rf"^{_LABEL}")
# the first cell of a row that may be one of these (the others, nearly all, skip the test)
_MAYBE_FOOTER = rf"^[合总小汇本填制审负联统经打导注说备共第]|[:：]|{_TOTAL_WORD}$"


@dataclass(frozen=True)
class ReadError:
    """A file (or folder) set aside, or a note about it. `file` is relative to the period folder."""

    file: str
    problem: str
    dept: str | None = None
    set_aside: bool = True  # False for notes (duplicate file read once, duplicated header)
    category: str | None = None  # a note's 数据质量报告 category, when not 文件说明 (`Finding`)

    @property
    def message(self) -> str:
        return f"{self.file}: {self.problem}"


@dataclass(frozen=True)
class OnlyDropped(ReadError):
    """The note on a table holding no record under its header but `lines` dropped as 合计/小计/汇总
    or footer lines (填表说明：…, 说明：…, 填表人：…; `_frame_table`). A department's file is said
    once, by `header_only`, which counts them (`read_department` takes this note in)."""

    lines: int = 0


@dataclass(frozen=True)
class Unheaded(ReadError):
    """The note on a table with columns under an empty header cell, between named ones, holding
    values (a header cell deleted by accident: `姓名,,身份证号`): not read (`_unheaded`).
    `columns`: each as a misfit's reason asks whether it is the required column missing
    (`describe_misfit`)."""

    columns: tuple[str, ...] = ()


# The run's own lists put back into the inbox (a township sending its 反馈退回 back filled in, a
# department its 搁置行及原因 corrected): their header (columns added beside it or not) -> what the
# sender is told instead of "no header" or of the columns a department's table misses
OWN_LISTS = {
    frozenset(RETURNED_COLUMNS): (
        "这是本系统发回乡镇的《反馈退回》（上次未被采纳的答复及原因），不是答复，未读取：请在预警清单中改正这些行后放回 反馈/",
        "the run's own 反馈退回 (answers not taken, and why), not an answer: not read; correct those rows in the "
        "township's 预警清单 and put that back"),
    frozenset(REJECTED_HEADERS.values()): (
        "这是本系统输出的《搁置行及原因》，不是部门报送的数据，未读取：请按其中原因改正原文件中的这些行后重报",
        "the run's own 搁置行及原因 (rows set aside, and why), not a department's extract: not read; correct those "
        "rows in the department's file and deliver it again"),
}


def own_list(cells: Iterable) -> str | None:
    """What a sender is told when a row of these cells is the header of one of the run's own lists
    (`OWN_LISTS`), else None."""
    filled = {c for c in map(_cell, cells) if c}
    return next((" ".join(words) for own, words in OWN_LISTS.items() if own <= filled), None)


def _not_headed(rel: str, rows: Iterable[Sequence]) -> ReadError:
    """The file set aside for want of a header among its first rows (`rows`: its cells), saying
    so, or that it is one of the run's own lists put back (`own_list`)."""
    said = next((s for cells in itertools.islice(rows, HEADER_SCAN_ROWS) if (s := own_list(cells))), None)
    return ReadError(rel, said or f"前{HEADER_SCAN_ROWS}行未找到表头 no header row found")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def discover(period_dir: Path, cfg: Config) -> tuple[pl.DataFrame, list[ReadError]]:
    """List the period's department files: `dept, file, sha256, size, modified, duplicate_of`, in
    the order they were put in within each department (`delivery_ranks`).

    Folders map to their canonical name via `cfg.folder_of` (Chinese or English alias). Unknown
    folders, files outside a department folder and non-CSV/XLSX files are reported, not listed;
    hidden files, Office lock files and Windows' own (`.DS_Store`, `~$表.xlsx`, `Thumbs.db`) are noted and ignored.
    A file byte-identical to an earlier one of its folder gets `duplicate_of` and is read once (a
    copy in another department's folder is read there, and set aside when it fits no kind of it).
    """
    period_dir = Path(period_dir)
    problems: list[ReadError] = []
    found: list[dict] = []
    for top in sorted(period_dir.iterdir()):
        if top.name.startswith("."):
            continue
        if top.is_file():
            problems.append(ReadError(top.name, "不在部门文件夹中 not in a department folder"))
            continue
        dept = cfg.folder_of(top.name)
        if dept is None:
            # (an archive unpacked into a folder of its own: the department folders one level down)
            inner = sorted(p.name for p in top.iterdir() if p.is_dir() and cfg.folder_of(p.name))
            more = (f"：其中有部门文件夹 {'、'.join(inner)}，请移到 {period_dir.name}/ 下后重跑 unknown folder, set aside: it "
                    f"holds department folders ({', '.join(inner)}): move them up into {period_dir.name}/ and run again"
                    ) if inner else ""
            like = "、".join(f + "/" for f in _named_in(top.name, cfg)) if not more else ""
            if like:  # (民政局2026年10月/: its department then reported missing, nothing joining the two)
                more = (f"：名称含部门名，如是 {like} 的数据，请改名为 {like} 后重跑 unknown folder, set aside: its name holds "
                        f"a department's: if it is {like}, rename it so and run again")
            problems.append(ReadError(top.name + "/", f"未知文件夹，已跳过{more}" if more else
                                      "未知文件夹，已跳过 unknown folder, set aside"))
            continue
        for p in top.rglob("*"):
            if p.is_file():
                found.append({"dept": dept, "file": p.relative_to(period_dir).as_posix(), "path": p,
                              "modified": datetime.fromtimestamp(p.stat().st_mtime)})
    rows, seen = [], {}
    # the first put in is the one read, a later copy (表(1).csv, 表 - 副本.csv) the one reported as repeating it
    place = delivery_ranks(pl.DataFrame({"file": [f["file"] for f in found], "modified": [f["modified"] for f in found]},
                                        schema={"file": pl.String, "modified": pl.Datetime("us")}), cfg.inbox.later_marks)
    for f in sorted(found, key=lambda f: (f["dept"], place[f["file"]])):
        dept, rel, p = f["dept"], f["file"], f["path"]
        if _hidden_or_temporary(p):
            problems.append(ReadError(rel, "隐藏或临时文件（如Excel打开时的~$锁文件），已忽略 hidden or temporary file "
                                           "(e.g. the ~$ lock file of an open workbook), ignored", dept, False))
            continue
        if p.suffix.lower() not in EXTENSIONS:
            problems.append(ReadError(rel, _wrong_type(p.suffix), dept))
            continue
        sha = _sha256(p)
        dup = seen.setdefault((dept, sha), rel)
        dup = None if dup == rel else dup
        if dup:
            problems.append(ReadError(rel, f"与 {dup} 完全相同，只读一次 file {rel} identical to {dup}", dept, False))
        rows.append({"dept": dept, "file": rel, "sha256": sha, "size": p.stat().st_size, "modified": f["modified"],
                     "duplicate_of": dup})
    schema = {"dept": pl.String, "file": pl.String, "sha256": pl.String, "size": pl.Int64,
              "modified": pl.Datetime("us"), "duplicate_of": pl.String}
    return pl.DataFrame(rows, schema=schema), problems


def _named_in(name: str, cfg: Config) -> list[str]:
    """The folders whose name or alias an unknown folder's name holds (民政局2026年10月: 民政);
    English aliases of 5 letters or more only (hr, agri, grid are in too many words)."""
    text = unicodedata.normalize("NFKC", name).lower()
    return [canon for canon, aliases in cfg.folders.items()
            if any(a.lower() in text for a in (canon, *aliases) if not a.isascii() or len(a) >= 5)]


def _hidden_or_temporary(p: Path) -> bool:
    """A file no one delivered: hidden, the ~$ lock file of an open workbook, .DS_Store, Thumbs.db."""
    return p.name.startswith((".", "~$")) or p.name.lower() in SYSTEM_FILES


def answer_files(period_dir: Path, cfg: Config, folders: Collection[str]) -> pl.DataFrame:
    """The .csv/.xlsx files now in a period's answer folders (`folders`: canonical names, 反馈 and
    复核, under any alias), hidden and lock files aside, as `dept, file, sha256` (`file` relative
    to the period folder, as `discover` lists it). For telling the files put into an earlier
    period's folder after that period ran, which no run reads until it is run again."""
    rows = []
    period_dir = Path(period_dir)
    if period_dir.is_dir():
        for top in sorted(period_dir.iterdir()):
            dept = cfg.folder_of(top.name) if top.is_dir() and not top.name.startswith(".") else None
            if dept not in folders:
                continue
            for p in sorted(top.rglob("*")):
                if p.is_file() and p.suffix.lower() in EXTENSIONS and not _hidden_or_temporary(p):
                    rows.append({"dept": dept, "file": p.relative_to(period_dir).as_posix(), "sha256": _sha256(p)})
    return pl.DataFrame(rows, schema={"dept": pl.String, "file": pl.String, "sha256": pl.String})


# a spreadsheet saved in another format than .xlsx (Excel 97-2003, WPS 表格's own, with macros,
# binary, OpenDocument, Apple Numbers): the person who sent it can save it again as .xlsx
OTHER_SPREADSHEETS = (".xls", ".et", ".ett", ".xlsm", ".xlsb", ".ods", ".numbers")
ARCHIVES = (".zip", ".rar", ".7z", ".gz", ".tar")


def _wrong_type(suffix: str) -> str:
    """The problem of a file that is neither .csv nor .xlsx, saying what to do with it."""
    if suffix.lower() in OTHER_SPREADSHEETS:
        return (f"文件类型不对（{suffix}），请另存为.xlsx或CSV后重报，已搁置 set aside: wrong file type "
                f"({suffix}): save it as .xlsx or CSV and deliver it again")
    if suffix.lower() in ARCHIVES:
        return (f"文件类型不对（{suffix}，压缩包），请解压后将其中的表放入本文件夹，已搁置 set aside: wrong file type "
                f"({suffix}, an archive): unpack it and put its tables in this folder")
    return (f"文件类型不对（{suffix or '无扩展名'}），只读取 .csv 和 .xlsx，已搁置 set aside: wrong file type "
            f"({suffix or 'no extension'}): only .csv and .xlsx files are read")


# ------------------------------------------------------------------------------------------
# Reading one file


def _cell(v) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


# files the systems themselves leave in a folder (Windows' picture cache and folder settings)
SYSTEM_FILES = {"thumbs.db", "ehthumbs.db", "desktop.ini"}
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
    # what many systems export as "Excel" (a .xls Excel opens after a warning): a web page, Excel 2003's XML
    lead = head.lstrip(codecs.BOM_UTF8 + b" \t\r\n").lower()
    if lead.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in head:
        return ("这是Excel 2003 XML表格，不是CSV/XLSX：请用Excel打开后另存为.xlsx an Excel 2003 XML spreadsheet, not "
                "CSV/XLSX: open it in Excel and save it as .xlsx")
    if lead.startswith((b"<html", b"<!doctype html")) or (lead.startswith(b"<") and b"<table" in lead):
        return ("这是网页（HTML）表格，不是CSV/XLSX（系统导出的“Excel”常是网页）：请用Excel打开后另存为.xlsx a web page (HTML) "
                "table, not CSV/XLSX (as many systems export 'Excel'): open it in Excel and save it as .xlsx")
    return None


def _text_table(head: bytes) -> str | None:
    """The problem of a `.xlsx` whose content is a text table (a CSV renamed), or None."""
    decoded = _decode(head) if not _binary(head) else None
    if decoded and any(sep in decoded[0].partition("\n")[0] for sep in (",", "\t", "，")):
        return "内容是文本表格（CSV），不是XLSX：请把扩展名改为.csv a text (CSV) table, not an XLSX file: rename it .csv"
    return None


# What an old system or a copy cut short leaves after a CSV's last line: DOS's end-of-file mark
# (Ctrl-Z) and NUL padding. No record (read, it made a row of one odd value, set aside as a
# record missing its fields, or a small file sniffed as UTF-16): taken off, the file noted.
END_PADDING = b"\x1a\x00"


def _without_end_padding(data: bytes) -> tuple[bytes, list[tuple[str, str | None]]]:
    """`data` without the `END_PADDING` bytes it ends with, and the note saying so (none when there were none)."""
    body = data.rstrip(END_PADDING)
    if len(body) == len(data):
        return data, []
    n = len(data) - len(body)
    return body, [(f"文件末尾有 {n} 个字节的结束符（Ctrl-Z）或空字节（NUL），不是数据，已忽略；空字节多时文件可能未复制完整，"
                   f"请核对最后几行 the file ends in {n} byte(s) of end mark (Ctrl-Z) or NULs, no data: ignored; many "
                   "NULs may mean a copy cut short, check its last lines", None)]


# Control bytes no text holds (a text may hold TAB, LF, CR, VT, FF, Ctrl-Z): in a file's first 4 KB
# more than this many (and more than 1%) make it binary content, not a CSV with a stray one.
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x19\x1b-\x1f]")
BINARY_CONTROLS = 8


def _binary(data: bytes) -> bool:
    head = data[:4096]
    return len(_CONTROL.findall(head)) > max(BINARY_CONTROLS, len(head) // 100)


def _without_nul_bytes(data: bytes) -> tuple[bytes, list[tuple[str, str | None]]]:
    """A text file's stray NUL bytes (a legacy system's fixed-width field padded with them) taken
    out, and the note naming their first lines; `data` as it is when it holds none. Read, the first
    4 KB holding one set the whole file aside as binary, and one further down stayed in its value
    (a record number JS1\\x00 another record than JS1)."""
    if b"\x00" not in data:
        return data, []
    a = np.frombuffer(data, dtype=np.uint8)
    ends = (a == 10) | ((a == 13) & np.append(a[1:] != 10, True))  # (LF, CR LF or a lone CR ends a line)
    lines = np.unique(1 + np.searchsorted(np.flatnonzero(ends), np.flatnonzero(a == 0))).tolist()
    shown = _first_lines(lines)
    return data.replace(b"\x00", b""), [(f"第 {shown} 行有空字节（NUL），已去掉 line(s) {shown} hold NUL bytes: taken out", None)]


def _text_bytes(path: Path) -> tuple[bytes, list[tuple[str, str | None]]] | str:
    """A CSV's bytes as `_csv_rows` and `_fast_csv` decode them — without the end padding and the
    stray NULs it holds, with the notes saying so — or the problem message: an empty file, a binary
    file's own signature (`_sniff`), binary content."""
    data = whole = path.read_bytes()
    padded: list[tuple[str, str | None]] = []
    if data.endswith(tuple(bytes([b]) for b in END_PADDING)):  # (no copy of a file that does not end so)
        data, padded = _without_end_padding(data)
    if not data or data.isspace():  # (no stripped copy of a large file)
        return "空文件 empty file"
    sniffed = _sniff(data) and _sniff(whole)  # (a binary file's signature may end in NULs too: said as the whole says)
    del whole
    if sniffed:
        return sniffed
    if _binary(data):
        return "不是文本CSV文件 not a text CSV (binary content)"
    data, nuls = _without_nul_bytes(data)
    return data, padded + nuls


def _one_line(e: BaseException, path: Path, rel: str) -> str:
    """An exception as one short line, naming the file by its inbox path (not the server's)."""
    text = " ".join(f"{type(e).__name__}: {e}".replace(str(path), rel).split())
    return text[:200]


CUT = "文件末尾字符不完整（可能被截断） file ends mid-character (truncated?)"
DAMAGED_LINES = 10  # lines of a file neither encoding reads that are taken as damaged (more: another encoding)
LINES_SHOWN = 10  # line numbers a note names (the first ones; … when there are more)


def _first_lines(ns: Sequence[int]) -> str:
    """A note's line numbers: the first LINES_SHOWN, joined by 、, … when there are more."""
    return "、".join(str(n) for n in ns[:LINES_SHOWN]) + ("…" if len(ns) > LINES_SHOWN else "")


def _decode(data: bytes) -> tuple[str, list[tuple[str, str | None]]] | None:
    """Text of a UTF-8 (BOM or not) or GB18030 file, and its notes as (problem, category): its
    last character cut off (a truncated file), or those of `_by_line`; None when neither
    encoding fits."""
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc), []
        except UnicodeDecodeError as e:
            if e.reason in ("unexpected end of data", "incomplete multibyte sequence") and e.start >= len(data) - 4:
                try:
                    return data[: e.start].decode(enc), [(CUT, None)]
                except UnicodeDecodeError:
                    pass
    return _by_line(data)


def _by_line(data: bytes) -> tuple[str, list[tuple[str, str | None]]] | None:
    """A file neither encoding reads whole, read line by line, each line in the one that fits
    (UTF-8 first): two exports joined byte for byte, one saved by Excel in GB18030 and one by a
    system in UTF-8 (`copy /b a.csv+b.csv`), noted naming the GB18030 lines; a line neither fits
    (a character cut by an export's byte limit) is read in the encoding of the others with its
    broken bytes as �, noted (`Finding.DAMAGED_BYTES`) naming it. None when more than
    DAMAGED_LINES lines fit neither, or all fit one (then the file's fault is elsewhere)."""
    lines, gb, bad = [], [], []
    for n, raw in enumerate(data.splitlines(keepends=True), 1):
        try:
            lines.append(raw.decode("utf-8-sig" if n == 1 else "utf-8"))
        except UnicodeDecodeError:
            loose = raw.decode("utf-8", errors="replace")
            broken = loose.count("\ufffd")
            if sum(ord(c) > 127 for c in loose) - broken >= max(broken, 1):  # UTF-8 but for a cut character
                lines.append(loose)
                bad.append(n)
                continue
            try:
                lines.append(raw.decode("gb18030"))
                gb.append(n)
            except UnicodeDecodeError:
                lines.append(raw)
                bad.append(n)
    if len(bad) > DAMAGED_LINES or (not bad and (not gb or len(gb) == len(lines))):
        return None
    enc = "gb18030" if len(gb) > len(lines) - len(gb) - len(bad) else "utf-8"
    notes: list[tuple[str, str | None]] = []
    if gb and len(gb) + len(bad) < len(lines):
        notes.append((f"文件混有 UTF-8 与 GB18030 两种编码的行（两次导出拼接？），已逐行识别，GB18030 的行：第 {_first_lines(gb)} 行 "
                      f"lines in two encodings (two exports joined?), each read in its own: GB18030 lines {_first_lines(gb)}", None))
    if bad:
        notes.append((f"第 {_first_lines(bad)} 行有无法识别的字节（字符被截断或文件损坏？），按 � 读取，请核对这些行 line(s) "
                       f"{_first_lines(bad)} hold bytes of neither encoding (a character cut, a damaged file?): read with �, check "
                       "them", Finding.DAMAGED_BYTES))
    return "".join(ln.decode(enc, errors="replace") if isinstance(ln, bytes) else ln for ln in lines), notes


# Characters that show nothing and mean nothing in a table, taken out of a CSV's text: a BOM inside
# it (exports joined byte for byte, each with its BOM: `copy /b a.csv+b.csv`) and zero-width spaces
# pasted along with a value.
INVISIBLE = ("\ufeff", "\u200b", "\u200c", "\u200d", "\u2060")


def _visible(text: str | bytes) -> str | bytes:
    """`text` (str, or UTF-8 bytes) without the INVISIBLE characters."""
    for ch in INVISIBLE:
        c = ch if isinstance(text, str) else ch.encode()
        if c in text:
            text = text.replace(c, type(text)())
    return text


def _separated(sep: str) -> str | None:
    """The note on a CSV read with another separator than the comma."""
    if SEPARATORS[sep] is None:
        return None
    zh, en = SEPARATORS[sep]
    return f"字段以{zh}分隔（不是逗号），已按此读取 fields separated by {en}, not commas: read so"


def _csv_rows(path: Path, notes: list | None = None, rel: str | None = None,
              sep: str = ",") -> Iterable[tuple[int, list[str]]] | str:
    """(line, cells) of a CSV in UTF-8 (BOM or not) or GB18030, fields separated by `sep`; or a
    problem message."""
    raw = _text_bytes(path)
    if isinstance(raw, str):
        return raw
    data, padded = raw
    decoded = _decode(data)
    if decoded is None:
        return "无法识别文件编码 unknown encoding (not UTF-8 or GB18030)"
    text, said = decoded
    said = said + padded
    text = _visible(text)
    if notes is not None:
        notes.extend(ReadError(rel or path.name, note, None, False, category) for note, category in said)
    if csv.field_size_limit() < MAX_CSV_FIELD:
        csv.field_size_limit(MAX_CSV_FIELD)

    def records(strays: list[int]):
        lines = io.StringIO(text, newline="").readlines()  # physical lines, as the reader counts them
        # quotes from each line to the end: an odd count, one opens a field and is never closed
        # (`"石集`), taking the lines under it into that field up to the next quote (or the end)
        after = np.cumsum([line.count('"') for line in reversed(lines)])[::-1] if lines else []
        first = 0  # lines read so far
        row = 0  # records read so far: a record's number is the row Excel and WPS show it on (`_fast_csv`)
        while first < len(lines):
            odd = after[first] % 2 == 1
            reader = csv.reader((lines[i] for i in range(first, len(lines))), delimiter=sep)
            start = first + 1
            for cells in reader:
                end = first + reader.line_num
                row += 1
                if end > start and _swallowed(lines[start - 1:end], sep, odd):
                    # that quote's line is read on its own, the quote aside; the lines under it are records again
                    cells = next(csv.reader([lines[start - 1]], delimiter=sep, quoting=csv.QUOTE_NONE), [])
                    strays.append(row)
                    yield row, [c.strip('"') for c in cells]
                    first = start
                    break
                yield row, cells
                start = end + 1
            else:
                return

    def rows():
        strays: list[int] = []
        yield from records(strays)
        if strays and notes is not None:  # (one note for the file, naming the first lines)
            shown = _first_lines(strays)
            notes.append(ReadError(rel or path.name, f"第 {shown} 行的引号未配对（其下的行曾被读进该行的一个值），这些行已单独"
                                                     f"读取、去掉引号 line(s) {shown}: an unmatched quote took the lines under it "
                                                     "into one value: each read on its own, without the quote", None, False))

    return rows()


def _swallowed(lines: Sequence[str], sep: str, odd: bool) -> bool:
    """Whether a record read over several physical `lines` is a field opened by a quote never
    closed, holding the lines under it: in a file of an odd count of quotes, a line under the
    first holds a separator; in any, a line between its first and last holds as many separators
    as its first, and 2 or more (whole records: a value broken over lines, an address in quotes,
    holds no such line)."""
    if odd and any(sep in line for line in lines[1:]):
        return True
    least = max(2, lines[0].count(sep))
    return any(line.count(sep) >= least for line in lines[1:-1])


TRANSCODE_CHUNK = 8 << 20  # GB18030 -> UTF-8 in 8 MiB steps (no whole-file str in memory)


def _to_utf8(data: bytes) -> tuple[bytes, list[tuple[str, str | None]]] | None:
    """`data` as UTF-8 bytes without BOM (UTF-8 taken as is, GB18030 transcoded chunk by chunk),
    with the notes of `_decode`; None when neither encoding fits. Same choices as
    `_decode`: UTF-8 (BOM or not) first, then GB18030; a character cut at the very end is dropped."""
    body = data[3:] if data.startswith(codecs.BOM_UTF8) else data
    try:
        codecs.utf_8_decode(body, "strict", True)
        return body, []
    except UnicodeDecodeError as e:
        if e.reason in ("unexpected end of data", "incomplete multibyte sequence") and e.start >= len(body) - 4:
            try:
                codecs.utf_8_decode(body[: e.start], "strict", True)
                return body[: e.start], [(CUT, None)]
            except UnicodeDecodeError:
                pass
    dec = codecs.getincrementaldecoder("gb18030")("strict")
    out = bytearray()
    said: list[tuple[str, str | None]] = []
    try:
        for i in range(0, len(data), TRANSCODE_CHUNK):
            out += dec.decode(data[i:i + TRANSCODE_CHUNK], False).encode("utf-8")
        out += dec.decode(b"", True).encode("utf-8")
    except UnicodeDecodeError as e:
        pending = len(dec.getstate()[0])  # bytes the decoder held back at the end
        if not (e.reason in ("unexpected end of data", "incomplete multibyte sequence") and 0 < pending <= 4):
            mixed = _by_line(data)
            return None if mixed is None else (mixed[0].encode("utf-8"), mixed[1])
        said = [(CUT, None)]
    return bytes(out), said


def _fast_csv(path: Path, known, rel: str, notes: list | None) -> list[pl.DataFrame] | ReadError | None:
    """A CSV read by polars (its table, or its tables set side by side: `_frame_tables`): transcoded to UTF-8, header found among the first records (as
    `_table`), the rest parsed by `pl.read_csv` with every column a String. Line numbers are the
    rows Excel and WPS show the records on (as a workbook's are: a sheet's row), counted from the
    newline positions outside quotes: a quoted value over several lines (a 备注 typed with line
    breaks) is one row, and the records under it keep the rows the user sees. None when the file is unusual enough (lone CR, unbalanced quotes, a record count that
    disagrees with polars) for the exact Python csv path to read it instead."""
    raw = _text_bytes(path)
    if isinstance(raw, str):
        return ReadError(rel, raw)
    data, padded = raw
    del raw
    got = _to_utf8(data)
    del data
    if got is None:
        return ReadError(rel, "无法识别文件编码 unknown encoding (not UTF-8 or GB18030)")
    buf, said = got
    said = said + padded
    buf = _visible(buf)
    if b"\r" in buf and buf.count(b"\r") != buf.count(b"\r\n"):
        return None
    a = np.frombuffer(buf, dtype=np.uint8)
    nl = np.flatnonzero(a == 10)
    quotes = np.flatnonzero(a == 34)
    if len(quotes) % 2:
        return None
    if len(quotes):
        ends = nl[np.searchsorted(quotes, nl) % 2 == 0]  # newlines outside quotes end records
    else:
        ends = nl
    del a
    starts = np.concatenate([[0], ends + 1])
    if starts[-1] >= len(buf):
        starts = starts[:-1]  # the file ends with a newline: no record after it
    # header: the first records, read by the csv module exactly as the slow path does
    head_end = int(ends[HEADER_SCAN_ROWS - 1]) + 1 if len(ends) >= HEADER_SCAN_ROWS else len(buf)
    head = buf[:head_end].decode("utf-8")
    for sep in SEPARATORS:
        reader = csv.reader(io.StringIO(head, newline=""), delimiter=sep)
        titled: list[str] = []
        h, header = _find_header(reader, known, titled)
        if header is not None:
            break
    if header is None:
        return _not_headed(rel, csv.reader(io.StringIO(head, newline="")))
    first = h + 1
    if merged := _sub_header(header, next(reader, None), known):
        header, first = merged, h + 2
    width = len(header)
    lines = np.arange(first + 1, len(starts) + 1, dtype=np.int64)  # (the rows Excel shows them on)
    physical = (1 + np.searchsorted(nl, starts[first:])).astype(np.int64)
    if len(quotes) and len(physical):
        # a record over three lines or more (rare): whole records taken into a field by stray quotes?
        spans = np.diff(np.append(physical, 1 + len(nl) + (int(starts[-1]) > int(nl[-1]) if len(nl) else 1)))
        for i in np.flatnonzero(spans >= 3):
            a = int(starts[first + i])
            b = int(nl[physical[i] + spans[i] - 2]) if physical[i] + spans[i] - 2 < len(nl) else len(buf)
            if _swallowed(buf[a:b].decode("utf-8").split("\n"), sep, False):
                return None
    if first < len(starts):
        grid = pl.read_csv(
            io.BytesIO(buf[int(starts[first]):]) if first else io.BytesIO(buf), has_header=False, separator=sep,
            schema={f"c{i}": pl.String for i in range(width + 1)}, truncate_ragged_lines=True,
            infer_schema=False, quote_char='"', raise_if_empty=False, extra_columns="ignore", missing_columns="insert",
        ).rename({f"c{width}": EXTRA})
    else:
        grid = pl.DataFrame(schema={f"c{i}": pl.String for i in range(width)})
    if grid.height != len(lines):
        return None
    # polars reads one field past the header's width (`EXTRA`); a record holding more (a note typed
    # beside the table, past an empty field) is longer in bytes than the fields read: it is read
    # again by the csv module for its first value further right (`PAST`), as on the csv module's path
    if len(lines):
        a = np.frombuffer(buf, dtype=np.uint8)
        stop = np.append(ends, len(buf))[first:len(starts)]
        size = stop - starts[first:] - (a[np.maximum(stop - 1, 0)] == 13)
        if len(quotes):  # (a record's quotes, less the quotes its values hold: `"a""b"` is a"b)
            size = size - np.bincount(np.searchsorted(starts, quotes, "right") - 1, minlength=len(starts))[first:]
        fields = [f"c{i}" for i in range(width)] + [EXTRA]
        got = grid.select(pl.sum_horizontal(pl.col(c).str.len_bytes().fill_null(0) - pl.col(c).str.count_matches('"', literal=True)
                                            .fill_null(0) for c in fields)).to_series().to_numpy()
        longer = np.flatnonzero(size > got + width * len(sep.encode()))
        if len(longer) and len(sep.encode()) == 1:
            # ... but a record longer by empty fields alone (`…,县医院,,,`: an export padding every row
            # past a shorter header) has nothing past them: its trailing separators and spaces are not counted
            end = stop[longer] - (a[np.maximum(stop[longer] - 1, 0)] == 13)
            begin, pad = starts[first:][longer], np.zeros(len(longer), dtype=np.int64)
            alive = np.arange(len(longer))
            while len(alive):
                pos = end[alive] - pad[alive] - 1
                alive = alive[(pos >= begin[alive]) & np.isin(a[np.maximum(pos, 0)], (ord(sep), 32))]
                pad[alive] += 1
            longer = longer[size[longer] - pad > got[longer] + width]
        if len(longer):
            past = []
            for i in longer.tolist():
                row = next(csv.reader([buf[int(starts[first + i]):int(stop[i])].decode("utf-8").rstrip("\r\n")], delimiter=sep), [])
                past.append(next((c for c in row[width + 1:] if c and c.strip()), None))
            grid = grid.with_columns(pl.repeat(None, grid.height, dtype=pl.String, eager=True).scatter(longer, past).alias(PAST))
    found: list = [ReadError(rel, n, None, False, category) for n, category in said]
    found += [ReadError(rel, n, None, False) for n in (_separated(sep), *titled) if n]
    dfs = _frame_tables(header, grid.with_columns(line=pl.Series(lines, dtype=pl.Int64)), known, rel, found)
    if notes is not None:
        notes.extend(found)
    return dfs


# a header said again, renamed with a number: 核实结果2 (an Excel/WPS table), 核实结果.1 (pandas),
# 核实结果_1, 核实结果(2) / 核实结果（2）
_RENAMED_TWIN = re.compile(r"^(.*\D)\s*(?:\d{1,2}|[(（]\d{1,2}[)）])$")


def _header_columns(header: list[str | None], rel: str, notes: list | None) -> dict[str, list[int]]:
    """Header name -> its column indexes; of a repeated name (noted) `_frame_table` reads the
    first column holding any value: a clerk who added a column 核实结果 beside the list's own and
    filled that one is answering, not sending the list back empty (a column with values is never
    mixed with another: two 证件号码 of an export, the head's and a member's, keep the first). So
    is a name said again as an Excel table (Ctrl+T), WPS or pandas renames it, a number appended
    (核实结果2, 核实结果.1, 核实结果_1, 核实结果(2) beside 核实结果)."""
    keep: dict[str, list[int]] = {}
    names = {h for h in header if h is not None}
    for i, h in enumerate(header):
        if h is None:
            continue
        said = h
        if (m := _RENAMED_TWIN.match(h)) and (base := m.group(1).rstrip(" ._-")) in names:
            h = base
        if h in keep and notes is not None:
            notes.append(ReadError(rel, f"表头「{said}」重复：读其中第一个有内容的「{h}」列 duplicated header '{said}': "
                                        f"the first '{h}' column holding values is read", None, False))
        keep.setdefault(h, []).append(i)
    return keep


# what a system's database export writes in an empty cell (SQL's NULL, as tools spell it; MySQL's \N)
NULL_WORDS = ("NULL", "null", "Null", "(null)", "(NULL)", "<null>", "<NULL>", "\\N")
# ... and what pandas writes for one (an analyst's df.astype(str).to_csv: NaN, None, pd.NA, NaT)
PANDAS_WORDS = ("nan", "NaN", "None", "<NA>", "NaT")
EMPTY_WORDS = NULL_WORDS + PANDAS_WORDS  # (whole cells only: Nana, <NA>医院 are values)


def _value(cell: pl.Expr) -> pl.Expr:
    """A raw cell as a value: stripped, empty (or a database's NULL or pandas' nan, `EMPTY_WORDS`) -> null, and
    Excel's text-formula form `="…"` (how many systems export a long number or a date to CSV so
    that Excel shows it as text: `="341302199001011234"`) read as the text inside, as Excel shows it."""
    v = cell.str.strip_chars()
    formula = v.str.starts_with('="') & v.str.ends_with('"') & (v.str.len_chars() >= 3)
    v = pl.when(formula).then(v.str.slice(2, v.str.len_chars() - 3).str.strip_chars()).otherwise(v)
    return v.replace(["", *EMPTY_WORDS], None)


def _frame_table(header: list[str | None], grid: pl.DataFrame, rel: str, notes: list | None) -> pl.DataFrame:
    """The tail of every read path (polars' CSV reader, the csv module's `_table`, a workbook's
    `_sheet_table`): String columns c0..c{n-1} (raw cells) + `line` (+ `EXTRA`, a field past the
    header) -> the header-named, stripped frame without blank, 合计/总计/小计 and footer
    (填表人：…, 注：…) rows (counted in an `OnlyDropped` note when no record is left under the
    header); `EXTRA` is kept only when some row has one (validation sets those rows aside)."""
    keep = _header_columns(header, rel, notes)
    cols = [c for c in grid.columns if c not in ("line", MERGED)]
    # (a cell holding an empty word, NULL or nan, is the empty cell it stands for: a row of them
    # alone is blank, an empty row of an analyst's frame; a footer beside them is a footer)
    shown = [pl.when(pl.col(c).str.strip_chars().is_in(EMPTY_WORDS)).then(None).otherwise(pl.col(c)) for c in cols]
    text = pl.concat_str(shown, ignore_nulls=True).fill_null("").str.strip_chars_start()
    filled = pl.sum_horizontal([(c.fill_null("").str.strip_chars() != "").cast(pl.Int32) for c in shown])
    signed = pl.all_horizontal([c.fill_null("").str.strip_chars().str.contains(rf"^$|{_SIGNATURE.pattern}") for c in shown])
    totalled = text.str.contains(_TOTAL.pattern) | text.str.contains(_PLACE_TOTAL.pattern)
    drop = ((text.str.strip_chars() == "") | totalled | (text.str.contains(_FOOTER.pattern) & ((filled <= FOOTER_CELLS) | signed)))
    # a row holding values only outside the header's named columns (a 填表说明 or 备注 typed in a
    # column right of the table, past its last row) is no record, nor a footer dropped uncounted:
    # set aside as a template's own row is (`TEMPLATE`), the note shown
    # ... and so is a note merged across the table's columns under it (`_merged_notes`)
    named = {f"c{i}" for ix in keep.values() for i in ix}
    outside = [e for c, e in zip(cols, shown) if c not in named]
    if outside or MERGED in grid.columns:
        inside = [e for c, e in zip(cols, shown) if c in named]
        nothing = pl.all_horizontal([e.fill_null("").str.strip_chars() == "" for e in inside]) if inside else pl.lit(True)
        beside = pl.when(nothing & ~totalled).then(pl.coalesce([pl.when(e.str.strip_chars() != "").then(e.str.strip_chars())
                                                                 for e in outside] or [pl.lit(None, pl.String)]))
        if MERGED in grid.columns:
            beside = pl.coalesce(pl.col(MERGED), beside)
        grid = grid.with_columns(beside.alias(BESIDE))
        drop = drop & pl.col(BESIDE).is_null()
    # Only a row whose first cell is blank (or an empty word) or starts like 合计/总计/小计 or a
    # footer can be any of these: the others (nearly all) skip building the row's text.
    first = pl.col(cols[0]).fill_null("").str.strip_chars_start() if cols else pl.lit("")
    maybe = grid.select((first == "") | first.str.strip_chars().is_in(EMPTY_WORDS) | first.str.contains(_MAYBE_FOOTER)
                        ).to_series().arg_true()
    totals = 0  # (the lines dropped as 合计/汇总 rows or footers; a blank one is nothing)
    if maybe.len():
        marks = grid[maybe].select(drop.alias("drop"), (drop & (text.str.strip_chars() != "")).alias("said"))
        dropped = pl.repeat(False, grid.height, eager=True).scatter(maybe, marks["drop"])
        totals = int(marks["said"].sum())
        grid = grid.filter(~dropped)
    if grid.height and (what := _under_header(grid.row(0, named=True), [i[0] for i in keep.values()])):
        grid = grid.slice(1)
        if notes is not None:
            notes.append(ReadError(rel, what, None, False))
    extra = grid[EXTRA].str.strip_chars().replace("", None) if EXTRA in grid.columns else None
    template = _template_cells(grid, [f"c{i}" for ix in keep.values() for i in ix])
    if BESIDE in grid.columns:
        if grid[BESIDE].is_not_null().any():
            template = grid[BESIDE] if template is None else template.fill_null(grid[BESIDE])
        grid = grid.drop(BESIDE, MERGED, strict=False)
    # a record with a value right of the table's named columns (past an empty field on a CSV: right
    # after the header's width, `EXTRA`, its values have shifted) is read, the value said: a note beside it
    if notes is not None and (right := [c for c in cols if c != EXTRA and c not in named and (
            not c.startswith("c") or int(c[1:]) > max((i for ix in keep.values() for i in ix), default=-1))]):
        record = (pl.lit(True) if extra is None else pl.lit(extra).is_null()) & (
            pl.lit(True) if template is None else pl.lit(template).is_null())
        beside = grid.select("line", pl.coalesce([pl.when(pl.col(c).str.strip_chars() != "").then(pl.col(c).str.strip_chars())
                                                  for c in right]).alias("v")).filter(record & pl.col("v").is_not_null())
        if beside.height:
            texts = "」「".join(mask_value(v[:BESIDE_CHARS] + ("…" if len(v) > BESIDE_CHARS else ""))
                                for v in beside["v"].unique(maintain_order=True).head(3))
            shown = _first_lines(beside["line"].to_list())
            notes.append(ReadError(rel, f"第 {shown} 行在表格右侧另有文字（「{texts}」），不是表中的列，未读取；记录照常读取 line(s) "
                                        f"{shown}: text typed right of the table beside the record ('{texts}'), no column of "
                                        "the table: not read; the records are read", None, False))
    if notes is not None and (note := _unheaded(header, grid, keep, extra, template, rel)):
        notes.append(note)
    no_record = not grid.height if template is None else template.is_not_null().all()
    if totals and no_record and notes is not None:  # (the file's note counts what was there, 合计 and footers alike)
        notes.append(OnlyDropped(rel, f"表头下只有 {totals} 行合计、小计或表尾说明（填表说明：、填表人：等），不是记录，没有数据行 "
                                      f"holds under its header {totals} total or footer line(s) alone (填表说明：…, "
                                      f"填表人：…), no record", None, False, Finding.NO_ROWS, totals))

    def first_filled(ix: list[int]) -> int:
        if len(ix) == 1:
            return ix[0]
        filled = grid.select(_value(pl.col(f"c{i}")).is_not_null().any().alias(str(i)) for i in ix).row(0)
        return next((i for i, f in zip(ix, filled) if f), ix[0])

    read = {h: f"c{first_filled(ix)}" for h, ix in keep.items()}
    if notes is not None and read and grid.height:
        # (read as empty, it no longer sets a row aside as an unparseable date or amount: said once)
        # (each cell stripped once, both kinds counted in one pass over the table)
        cells = [pl.col(c).str.strip_chars() for c in read.values()]
        counts = grid.select(*(pl.sum_horizontal(c.is_in(words).fill_null(False).cast(pl.Int64) for c in cells).sum()
                               .alias(str(i)) for i, words in enumerate((NULL_WORDS, PANDAS_WORDS)))).row(0)
        for said, zh, en in zip(counts, ("NULL（数据库导出的空值）", "nan、NaN、None、<NA> 或 NaT（pandas 等程序导出的空值）"),
                                ("NULL (a database's empty value)", "nan, NaN, None, <NA> or NaT (the empty value pandas writes)")):
            if said:
                notes.append(ReadError(rel, f"{said} 个单元格为 {zh}，已按空值读取 {said} cell(s) hold {en}: read as empty",
                                       None, False))
    return grid.select(
        *[_value(pl.col(c)).alias(h) for h, c in read.items()],
        pl.col("line").cast(pl.Int64),
    ).with_columns(([extra.alias(EXTRA)] if extra is not None and extra.is_not_null().any() else [])
                   + ([template.alias(TEMPLATE)] if template is not None else []))


def _unheaded(header: list[str | None], grid: pl.DataFrame, keep: dict[str, list[int]], extra: pl.Series | None,
              template: pl.Series | None, rel: str) -> Unheaded | None:
    """The note on the columns of a table's records under an empty header cell between two named
    ones that hold values (`_frame_table`; the header's name lost, their values were dropped
    unsaid): each by its position and the names beside it, how many values, the first; None when
    there is none. An empty column (a spacer) is no loss; one right of the last name is a note
    beside the records, said as such; one left of the first (an analyst's row numbers) is not said."""
    named = sorted(i for ix in keep.values() for i in ix)
    inner = [i for i in range(named[0] + 1, named[-1]) if i not in named and f"c{i}" in grid.columns] if named else []
    if not inner or not grid.height:
        return None
    record = pl.repeat(True, grid.height, eager=True)
    for aside in (extra, template):  # (a row set aside whole: shifted values, a template's row, a note beside the table)
        if aside is not None:
            record = record & aside.is_null()
    values = grid.filter(record).select(
        *[_value(pl.col(f"c{i}")).count().alias(f"n{i}") for i in inner],
        *[_value(pl.col(f"c{i}")).drop_nulls().first().alias(f"v{i}") for i in inner]).row(0, named=True)
    lost = [i for i in inner if values[f"n{i}"]]
    if not lost:
        return None
    zh, en, asked = [], [], []
    for i in lost:
        left, right = header[max(j for j in named if j < i)], header[min(j for j in named if j > i)]
        n, v = values[f"n{i}"], mask_value(values[f"v{i}"][:BESIDE_CHARS] + ("…" if len(values[f"v{i}"]) > BESIDE_CHARS else ""))
        zh.append(f"表格第 {i + 1} 列（「{left}」与「{right}」之间）表头为空，其 {n} 个值（如「{v}」）未读取")
        en.append(f"the table's column {i + 1} (between '{left}' and '{right}') has no header: its {n} value(s) (e.g. '{v}') not read")
        asked.append(f"「{left}」与「{right}」之间无表头的表格第 {i + 1} 列（{n} 个值）")
    return Unheaded(rel, f"{'；'.join(zh)}；请补上表头后重报 {'; '.join(en)}: restore the header and deliver again",
                    None, False, None, tuple(asked))


BESIDE_CHARS = 30  # (of a note beside a record, shown in the file's note)
PAST = "_past"  # (while a CSV's table is read: a row's first value further right than `EXTRA`, past an empty field)
BESIDE = "_beside"  # (while a table is read: the note a row holds beside the table, outside its named columns)
MERGED = "_merged"  # (while a sheet's table is read: the note a row holds alone in a cell merged across columns)
TEMPLATE_ROWS = 5  # rows right under the header a template's own (its 填表说明, its 示例 rows) may take
# a cell of such a row: the template's instructions (填表说明, 填报说明, 填写说明), or its example
# (示例, 样例, 范例 in the record number, the name or the 序号 column; 例：JS…, 例 alone)
_TEMPLATE_CELL = r"^(填表|填报|填写)说明|示例|样例|范例|^例\s*[:：]|^[(（]?例[)）]?$"


def _template_cells(grid: pl.DataFrame, columns: list[str]) -> pl.Series | None:
    """Per row of a table (its raw cells, `columns` those under a header), the cell saying the row
    is its template's own — of the first rows under the header, up to the first row that is a
    record — else null; None when no row is. A department filling in its template leaves them
    in; `validate.template_rows` sets them aside (the 栏次 row under a form's header, which holds
    no value of a record, is only noted: `_under_header`)."""
    if not grid.height or not columns:
        return None
    cells = [pl.col(c).str.strip_chars() for c in columns]
    said = grid.head(TEMPLATE_ROWS).select(pl.coalesce([pl.when(c.str.contains(_TEMPLATE_CELL)).then(c) for c in cells]))
    said = said.to_series()
    lead = said.is_not_null().cum_min()  # (the first rows only: the same words further down are a record's)
    if not lead.any():
        return None
    return pl.concat([said.zip_with(lead, pl.Series([None] * said.len(), dtype=pl.String)),
                      pl.Series([None] * (grid.height - said.len()), dtype=pl.String)])


UNDER_HEADER_CELLS = 3  # filled cells of a row under the header that make it the field codes or column numbers
_COLUMN_LABEL = re.compile(r"栏次|栏号|[甲乙丙丁戊己]|[A-F]")  # what a form writes before its columns' numbers


def _under_header(row: dict, columns: list[int]) -> str | None:
    """The note on the row right under the header when it is no record but the header's codes:
    the system's field names (xm, sfzh, settle_no: every filled cell an ASCII identifier) or the
    columns' numbers (栏次 1, 2, 3 …, as a form prints them); None for a record. At least
    UNDER_HEADER_CELLS filled cells, and half the columns read."""
    cells = [str(row.get(f"c{i}") or "").strip() for i in columns]
    filled = [c for c in cells if c]
    if len(filled) < max(UNDER_HEADER_CELLS, len(columns) / 2):
        return None
    line = row["line"]
    if all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", c) for c in filled):
        return (f"第 {line} 行为表头的英文字段名（{'、'.join(filled[:3])}…），不是记录，未读取 line {line} holds the "
                "header's field codes, not a record: not read")
    # (after a label, as a statistical form prints it: 栏次 under 序号, or 甲, 乙 over its text columns)
    numbers = list(itertools.dropwhile(_COLUMN_LABEL.fullmatch, filled))
    if len(numbers) >= 2 and numbers in ([str(n) for n in range(1, len(numbers) + 1)], [str(n) for n in range(len(numbers))]):
        return f"第 {line} 行为栏次（1、2、3…），不是记录，未读取 line {line} numbers the columns, not a record: not read"
    return None


REPEATED_HEADER_CELLS = 3  # filled cells a row must hold, each its own column's name, to be the header again
TITLE_LINES = 5  # title lines above a header (SPEC §1: 1-5), also above a header said again


def _without_repeated_header(df: pl.DataFrame, rel: str, notes: list | None) -> pl.DataFrame:
    """A table without the rows that say its header again (tables pasted one under another,
    each with its header: a township's risk-type sheets put on one sheet, a department's
    exports appended): every filled cell of such a row is its own column's name (as
    `normalize_header` reads it), at least REPEATED_HEADER_CELLS of them; and the title lines
    exported with each (up to TITLE_LINES lines right above it, each of one filled cell holding
    words). They are not records: dropped, and noted with their lines."""
    names = [c for c in df.columns if c not in ("line", EXTRA, TEMPLATE)]
    if len(names) < REPEATED_HEADER_CELLS or df.is_empty():
        return df
    # (only a row whose first filled cell is a column's name, as `normalize_header` reads it, can
    # be one: the others skip the test; a value with a digit, a record number or an amount, is
    # no column's name, so a city's millions of record numbers are not read one by one)
    first = df.select(pl.coalesce([pl.col(c) for c in names])).to_series()
    heads = {normalize_header(c) for c in names}
    words = first.filter(~first.str.contains(r"\d")).unique()
    maybe = first.is_in([v for v in words.to_list() if v is not None and normalize_header(v) in heads]).fill_null(False)
    if not maybe.any():
        return df
    cand = df.filter(maybe)
    same = [
        pl.when(pl.col(c).is_null()).then(None).otherwise(
            pl.col(c).map_elements(normalize_header, return_dtype=pl.String) == normalize_header(c))
        for c in names
    ]
    again = cand.filter(pl.all_horizontal(pl.coalesce(e, True) for e in same)
                        & (pl.sum_horizontal(e.fill_null(False).cast(pl.Int32) for e in same) >= REPEATED_HEADER_CELLS))
    if again.is_empty():
        return df
    lines = again["line"].to_list()
    # each header's title lines exported with it: the lines right above it of one filled cell
    # holding words (宿州市医疗保障局2026年10月结算明细, （补报）; not a record number alone)
    titled = df.select((pl.sum_horizontal(pl.col(c).is_not_null().cast(pl.Int32) for c in names) == 1)
                       & pl.coalesce(names).str.contains(r"[一-龥]")).to_series()
    at, titles, line = df.with_row_index("_i").filter(pl.col("line").is_in(lines))["_i"].to_list(), [], df["line"]
    for i in at:
        k = i - 1
        while k >= 0 and i - k <= TITLE_LINES and line[k] == line[k + 1] - 1 and titled[k]:
            titles.append(line[k])
            k -= 1
    if notes is not None:
        above = _first_lines(sorted(titles))
        zh, en = (f"，其上第{above}行是标题", f", line(s) {above} above it the title") if titles else ("", "")
        notes.append(ReadError(rel, f"第{_first_lines(lines)}行重复表头（多张表粘贴在一起？）{zh}，不是记录，已跳过 line(s) "
                                    f"{_first_lines(lines)} repeat the header row (tables pasted together?){en}: not records, skipped",
                               None, False))
    return df.filter(~pl.col("line").is_in(lines + titles))


def _xlsx_sheets(path: Path, rel: str = "") -> Iterable[tuple[str, int, pl.DataFrame, bool, int, dict[int, str]]] | str:
    """Per sheet, (its name, rows above its first non-empty one, its cells as a String frame,
    whether it is visible, how many of its formula cells hold no computed value, the text of each
    row a cell merged across columns holds alone, by its row in the frame: `_merged_notes`); or a problem
    message. The cells stay in a polars frame (never a Python string per cell), so a large
    workbook costs what calamine needs to hold it.

    fastexcel reads cells as strings (numbers as their string, dates as `YYYY-MM-DD HH:MM:SS`);
    its range starts at the first non-empty row, which openpyxl (read-only, early stop) locates.
    """
    import fastexcel
    import openpyxl

    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    if not head.startswith(b"PK"):
        return _sniff(head) or _text_table(head) or "不是XLSX文件（内容不是ZIP） not an XLSX file (no ZIP content)"
    try:
        book = fastexcel.read_excel(str(path))
        wb = openpyxl.load_workbook(path, read_only=True)
    except Exception as e:  # truncated or corrupt zip, broken workbook XML ...
        return f"XLSX文件损坏，无法打开 corrupt XLSX, cannot open: {_one_line(e, path, rel)}"

    def sheet(ws):
        offset = 0
        ws.reset_dimensions()  # a wrong <dimension> would otherwise truncate rows
        for cells in ws.iter_rows(values_only=True):
            if any(c is not None for c in cells):  # as calamine: a blank-looking " ", an empty text "" count
                break
            offset += 1
        cells = _with_errors(book.load_sheet(ws.title, header_row=None, dtypes="string"))
        # a zero-width space pasted along with a value (from a chat message) is no part of it, as in a CSV
        cells = cells.with_columns(pl.col(pl.String).str.replace_all("[" + "".join(INVISIBLE) + "]", ""))
        long = [i for i, c in enumerate(cells.columns) if cells[c].str.contains(LONG_NUMBER).any()]
        if long:  # which of those cells are numbers: a boolean read leaves text cells null
            numeric = book.load_sheet(ws.title, header_row=None, use_columns=long,
                                      dtypes={i: "boolean" for i in long}).to_polars()
            cells = _as_spreadsheet_numbers(cells, numeric)
        merges, across, uncomputed = _sheet_xml_facts(path, getattr(ws, "_worksheet_path", None))
        if merges or across:
            # (calamine's frame also starts at the first non-empty column)
            left = min((next(i for i, c in enumerate(r) if c is not None) for r in ws.iter_rows(values_only=True)
                        if any(c is not None for c in r)), default=0)
            cells = _fill_merged(cells, merges, offset, left)
        notes = _merged_notes(cells, across, offset, left) if across else {}
        return ws.title, offset, cells, getattr(ws, "sheet_state", "visible") == "visible", uncomputed, notes

    return (sheet(ws) for ws in wb.worksheets)


# A formula's error value, as Excel shows it in the cell and writes it into a CSV (calamine's name -> Excel's)
CELL_ERRORS = {"NA": "#N/A", "Div0": "#DIV/0!", "Value": "#VALUE!", "Ref": "#REF!", "Name": "#NAME?",
               "Num": "#NUM!", "Null": "#NULL!", "GettingData": "#GETTING_DATA"}


def _with_errors(sheet) -> pl.DataFrame:
    """A fastexcel sheet's cells as a String frame, a cell holding a formula's error value (a
    VLOOKUP that found nothing: #N/A) as the text Excel shows (and a CSV saved from it holds), not
    as an empty cell: validation then sets its row aside naming it, instead of reading nothing there.
    A row holding error values alone (a formula filled down past the table) stays a blank row."""
    if not hasattr(sheet, "to_arrow_with_errors"):  # (an older fastexcel: errors read as empty)
        return sheet.to_polars()
    batch, errors = sheet.to_arrow_with_errors()
    cells = pl.DataFrame(batch)
    if not errors or not errors.errors:
        return cells
    filled = cells.select(pl.any_horizontal(pl.all().is_not_null())).to_series()
    at: dict[int, tuple[list[int], list[str]]] = {}
    for e in errors.errors:
        m = re.search(r"Error\((\w+)\)", e.detail)
        row, col = e.offset_position
        if m and 0 <= col < cells.width and 0 <= row < cells.height and filled[row]:
            rows, texts = at.setdefault(col, ([], []))
            rows.append(row)
            texts.append(CELL_ERRORS.get(m.group(1), f"#{m.group(1).upper()}"))
    return cells.with_columns(cells[:, c].scatter(rows, texts) for c, (rows, texts) in at.items())


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')
# a formula cell holding no computed value (a workbook a program wrote and no spreadsheet computed):
# <f>E2-F2</f><v/>, <f>…</f></c>, a shared formula <f t="shared" si="0"/></c>
_UNCOMPUTED = re.compile(rb'<(?:\w+:)?f(?:\s[^>]*)?(?:/>|>[^<]*</(?:\w+:)?f>)\s*(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>|</(?:\w+:)?c>)')


def _sheet_xml_facts(path: Path, member: str | None) -> tuple[list[tuple[int, int, int]], list[tuple[int, int]], int]:
    """What the cells read by calamine do not tell, from the sheet's XML in one pass: its merged
    ranges one column wide and more than one row high, as (column, first row, last row), 0-based
    (a value typed once for several rows: a 网格员 merged over the households of their grid;
    they follow the cells); those over several columns, as (first row, first column) (a note
    under the table merged across it); and how many formula cells hold no computed value (they read empty)."""
    if not member:
        return [], [], 0
    col = lambda letters: sum((ord(ch) - 64) * 26 ** i for i, ch in enumerate(reversed(letters))) - 1  # noqa: E731
    out, across, uncomputed, tail = [], [], 0, b""
    try:
        with zipfile.ZipFile(path) as z, z.open(member.lstrip("/")) as fh:
            while chunk := fh.read(1 << 22):
                text = tail + chunk
                if b"f>" in text or b"f " in text:  # (a formula in this chunk: nearly never)
                    uncomputed += sum(1 for m in _UNCOMPUTED.finditer(text) if m.end() > len(tail))
                if b"mergeCell " in text:  # (nearly every chunk holds only cells)
                    for m in _MERGE.finditer(text):
                        c1, r1, c2, r2 = m.group(1).decode(), int(m.group(2)), m.group(3).decode(), int(m.group(4))
                        if c1 == c2 and r2 > r1:
                            out.append((col(c1), r1 - 1, r2 - 1))
                        elif c1 != c2:
                            across.append((r1 - 1, col(c1)))
                tail = text[-200:]  # (a tag cut by the chunk's end is found whole next time; found twice, kept once)
    except (KeyError, OSError, zipfile.BadZipFile):  # (the cells were read: the file is read without these)
        return [], [], 0
    return sorted(set(out)), sorted(set(across)), uncomputed


# what a form or a system prints under its table, signed or counted (填表人：…, 导出时间：…, 共 N 条, 第 1 页):
# a footer, merged across the table or not; a note merged across it (填表说明：…, 备注：…) is set aside
_SIGNED = re.compile(r"^((填表|填报|制表|审核|负责|联系|统计|经办|打印|导出)人|(填表|填报|制表|统计|打印|导出)(日期|时间|单位)"
                     r"|共\s*\d+\s*(条|行|笔|人|户|项|页)|第\s*\d+\s*页|数据来源|报送单位|单位)")


def _merged_notes(cells: pl.DataFrame, across: list[tuple[int, int]], top: int, left: int) -> dict[int, str]:
    """The rows of `cells` (a sheet's frame from row `top` and column `left`, 0-based) that a cell
    merged across columns holds alone (a 填表说明 or 备注 typed under the table over its width), by
    row in the frame: its text, but a footer's (`_SIGNED`) or a total's."""
    out = {}
    for r, c in across:
        i, j = r - top, c - left
        if 0 <= i < cells.height and 0 <= j < cells.width:
            row = cells.row(i)
            v = (row[j] or "").strip()
            if v and sum(x is not None and str(x).strip() != "" for x in row) == 1 and not _SIGNED.match(v) \
                    and not _TOTAL.match(v) and not _PLACE_TOTAL.match(v):
                out[i] = v
    return out


def _fill_merged(cells: pl.DataFrame, merges: list[tuple[int, int, int]], top: int, left: int) -> pl.DataFrame:
    """`cells` (a sheet's frame from row `top` and column `left`, 0-based) with every cell of a
    merged column range holding the value its first cell shows, as the person reading it sees."""
    columns = cells.columns
    fills: dict[str, list[tuple[int, int]]] = {}
    for c, r1, r2 in merges:
        if 0 <= c - left < len(columns) and r1 - top >= 0 and r1 - top < cells.height:
            fills.setdefault(columns[c - left], []).append((r1 - top, min(r2 - top, cells.height - 1)))
    out = []
    for name, ranges in fills.items():
        v = cells[name]
        for a, b in ranges:
            v = v.scatter(list(range(a + 1, b + 1)), [v[a]] * (b - a))
        out.append(v)
    return cells.with_columns(out) if out else cells


EXACT_DIGITS = 15  # significant digits a spreadsheet number keeps (Excel shows and stores 15)
LONG_NUMBER = rf"^\d{{{EXACT_DIGITS + 1},}}$"


def _as_spreadsheet_numbers(cells: pl.DataFrame, numeric: pl.DataFrame) -> pl.DataFrame:
    """A long number stored in a numeric cell (an ID typed into a number-formatted column,
    written by a program that keeps every digit) is read through a float: its digits past the
    15th are noise (341302201603043325 reads 341302201603043328). Such a cell is written as
    Excel would have kept it (15 digits, then zeros), so that it counts as an ID destroyed by
    Excel (`matchers.ids`) and not as a mistyped one; a text cell keeps every character.
    `cells`: the sheet as strings; `numeric`: some of its columns read as booleans (non-null
    where the cell is a number), row for row."""
    if numeric.height != cells.height:  # (not expected: both reads start at the same first row)
        raise ValueError(f"cell types read for {numeric.height} rows, values for {cells.height}")
    # (evaluated on every cell, short ones too: the count of zeros is signed and never below 0; as
    # an unsigned length minus 15 it wrapped round to ~4 billion zeros under polars 2.2)
    kept = lambda c: pl.concat_str(c.str.slice(0, EXACT_DIGITS), pl.lit("0").repeat_by(  # noqa: E731
        (c.str.len_chars().cast(pl.Int64) - EXACT_DIGITS).clip(lower_bound=0)).list.join(""))
    return cells.with_columns(
        pl.when(numeric[c].is_not_null() & pl.col(c).str.contains(LONG_NUMBER)).then(kept(pl.col(c)))
        .otherwise(pl.col(c)).alias(c) for c in numeric.columns)


def _sheet_table(offset: int, df: pl.DataFrame, known, rel: str, notes: list | None, across: Mapping[int, str] | None = None
                 ) -> tuple[pl.DataFrame | None, tuple[list[str | None], list[frozenset[str]]] | None]:
    """A sheet's frame -> (the table below its header row (as `_table`, vectorised), its header
    and the kinds of value in each of its columns (`_column_kinds`: what a sheet continuing it
    must show)); (None, None) when no header is among its first rows. `line` is the Excel row
    number. `across`: the notes a cell merged across columns holds alone on its row (`_merged_notes`),
    by row of `df`: set aside as a note beside the table is (`_frame_table`)."""
    titled: list[str] = []
    h, header = _find_header(df.head(HEADER_SCAN_ROWS).iter_rows(), known, titled)
    if header is None:
        return None, None
    if notes is not None:
        notes.extend(ReadError(rel, t, None, False) for t in titled)
    if merged := _sub_header(header, df.row(h + 1) if h + 1 < df.height else None, known):
        header, h = merged, h + 1
    grid = df.slice(h + 1).select([pl.col(c).cast(pl.String).alias(f"c{i}") for i, c in enumerate(df.columns)])
    grid = grid.with_columns(line=pl.int_range(offset + h + 2, offset + h + 2 + grid.height, dtype=pl.Int64))
    kinds = _column_kinds(grid.drop("line"))
    if below := {i - h - 1: v for i, v in (across or {}).items() if i > h}:
        grid = grid.with_columns(pl.Series(MERGED, [below.get(i) for i in range(grid.height)], dtype=pl.String))
    return _frame_table(header, grid, rel, notes), (header, kinds)


KIND_ROWS = 50  # rows of a column whose values tell its kinds (`_column_kinds`)
KIND_SHARE = 0.2  # share of those values a kind must hold to be one of the column's
# a value's kind: a date; a code (an ID, a phone number, a long record number: digits, masked or not);
# a number (an amount, a count); else text (a name, a place, a code word)
_KINDS = (("date", r"^(19|20)\d{2}\s*[-/.年]\s*\d{1,2}"), ("code", r"^'?[\dXx*＊#●]{7,}$"),
          ("number", r"^[-+]?\d[\d,]*(\.\d+)?$"))
CONTINUED_COLUMNS = 3  # columns holding values of one kind under both sheets that make a sheet without a header the previous one's


def _column_kinds(grid: pl.DataFrame) -> list[frozenset[str]]:
    """Per column of a table's cells, the kinds (`_KINDS`, or text) at least KIND_SHARE of its
    first KIND_ROWS values are (an ID column masked on some rows is codes all the same); empty for a
    column without a value there."""
    out: list[frozenset[str]] = []
    for c in grid.columns:
        v = grid[c].head(KIND_ROWS).cast(pl.String).str.strip_chars().replace("", None).drop_nulls()
        if v.is_empty():
            out.append(frozenset())
            continue
        kinds = v.to_frame("v").select(pl.coalesce([pl.when(pl.col("v").str.contains(p)).then(pl.lit(k)) for k, p in _KINDS]
                                                   + [pl.lit("text")]).alias("k"))["k"].value_counts(normalize=True)
        out.append(frozenset(kinds.filter(pl.col("proportion") >= KIND_SHARE)["k"].to_list()))
    return out


def _continued(offset: int, frame: pl.DataFrame, shape: tuple[list[str | None], list[frozenset[str]]], rel: str,
               notes: list | None) -> pl.DataFrame | None:
    """A sheet without a header row that continues the table of the sheet before it (a long
    extract split over Sheet1 and Sheet2, its header on the first alone) -> its rows read under
    that table's header (`shape`: the header and its columns' kinds, `_sheet_table`'s), or None
    when it does not fit it: more columns than the header names, or a column whose values (or its
    first row's value) are of no kind the header's table has there (at least CONTINUED_COLUMNS
    columns compared)."""
    header, kinds = shape
    named = max((i + 1 for i, h in enumerate(header) if h), default=0)
    if not frame.width or frame.width > named:
        return None
    grid = frame.select([pl.col(c).cast(pl.String).alias(f"c{i}") for i, c in enumerate(frame.columns)])
    # (its first row of values too: a header of its own in words no kind reads, settle_no | name …, is no continuation)
    first = next((r for r in grid.iter_rows() if sum(bool(c and c.strip()) for c in r) >= CONTINUED_COLUMNS), None)
    if first is None:
        return None
    for own in (_column_kinds(grid), _column_kinds(pl.DataFrame([list(first)], schema=grid.columns, orient="row"))):
        pairs = [(a, b) for a, b in zip(kinds, own) if a and b]
        if len(pairs) < CONTINUED_COLUMNS or any(not (a & b) for a, b in pairs):
            return None
    grid = grid.with_columns(line=pl.int_range(offset + 1, offset + 1 + grid.height, dtype=pl.Int64))
    return _frame_table(header[:frame.width], grid, rel, notes)


SIDE_BY_SIDE_NAMES = 2  # header names two tables of one sheet, apart by an empty column, both give: one kind of table twice


def _blocks(header: list[str | None], cells: pl.DataFrame, known) -> list[tuple[int, int]] | None:
    """The tables a header row sets side by side (a clerk's layout: one batch in A:I, the next
    in K:S, a column left empty between) as (first, past last) column indexes: two or more
    blocks of columns apart by a column empty from the header down (`cells`, its columns in the
    header's order), each block's names a header, the others giving `SIDE_BY_SIDE_NAMES` names
    of the first; or, with no such column, one table's names said over again (`_repeated`). Read
    as one table, the second block's columns were the first's names said again and its records
    were lost. None for one table."""
    empty = [i for i, c in enumerate(header) if not c and i < cells.width]
    if not empty or empty == list(range(empty[0], len(header))):  # (no gap, or empty columns after the table alone)
        return _repeated(header, known)
    cols = [cells.columns[i] for i in empty]
    used = cells.select(pl.col(cols).cast(pl.String).str.strip_chars().fill_null("").ne("").any()).row(0)
    gaps = [i for i, u in zip(empty, used) if not u]
    blocks = [(a + 1, b) for a, b in zip([-1, *gaps], [*gaps, len(header)]) if b > a + 1]
    heads = [[_cell(c) for c in header[a:b]] for a, b in blocks]
    if len(blocks) < 2 or not all(_is_header(c, known) for c in heads):
        return None
    names = [{c for c in cells if c} for cells in heads]
    return None if any(len(names[0] & other) < SIDE_BY_SIDE_NAMES for other in names[1:]) else blocks


def _repeated(header: list[str | None], known) -> list[tuple[int, int]] | None:
    """The blocks of a header that is one table's names said two or more times over with no
    column between (a narrow list printed two-up: 序号 姓名 金额 序号 姓名 金额), or None."""
    names = [_cell(c) for c in header]
    while names and names[-1] is None:
        names.pop()
    for k in range(SIDE_BY_SIDE_NAMES + 1, len(names) // 2 + 1):
        if (len(names) % k == 0 and None not in names[:k] and len(set(names[:k])) == k
                and all(names[i] == names[i % k] for i in range(k, len(names))) and _is_header(names[:k], known)):
            return [(a, a + k) for a in range(0, len(names), k)]
    return None


def _side_by_side_note(rel: str, n: int, sheet: str | None = None) -> ReadError:
    where = f"工作表「{sheet}」中" if sheet else "文件中"
    return ReadError(rel, f"{where}有并排的 {n} 个表，各自读取 {f'sheet {sheet!r}' if sheet else 'the file'} "
                          f"holds {n} tables side by side: each is read", None, False)


def _side_by_side(frame: pl.DataFrame, known, rel: str, sheet: str, notes: list | None) -> list[pl.DataFrame]:
    """A sheet's cells -> its tables set side by side (`_blocks`), each with the title rows
    above; otherwise the sheet whole. The file is told (its tables are named `并排第2个表` ...)."""
    h, header = _find_header(frame.head(HEADER_SCAN_ROWS).iter_rows(), known)
    if header is None or (blocks := _blocks(header, frame.slice(h), known)) is None:
        return [frame]
    if notes is not None:
        notes.append(_side_by_side_note(rel, len(blocks), sheet))
    return [frame.select(frame.columns[a:b]) for a, b in blocks]


def _frame_tables(header: list[str | None], grid: pl.DataFrame, known, rel: str, notes: list | None) -> list[pl.DataFrame]:
    """A CSV's header and cells (`_frame_table`'s) -> its table, or its tables set side by side
    (`_blocks`, a sheet so laid out saved as CSV), each read as a table of its own, the file told;
    the fields past the header's width (`EXTRA`, `PAST`) are the last one's."""
    blocks = _blocks(header, grid.select(f"c{i}" for i in range(len(header))), known)
    if blocks is None:
        return [_frame_table(header, grid, rel, notes)]
    if notes is not None:
        notes.append(_side_by_side_note(rel, len(blocks)))
    return [_frame_table(header[a:b], grid.select(*[pl.col(f"c{i}").alias(f"c{i - a}") for i in range(a, b)], "line",
                                                  *[c for c in (EXTRA, PAST) if c in grid.columns and b == len(header)]),
                         rel, notes) for a, b in blocks]


TABLE_ROWS = 2  # rows of 3 values or more that make a sheet without a header found a table set aside (not a cover sheet)
FIELD_LIST_ROWS = 50  # rows of such a sheet looked at for a table of the fields (a 说明 sheet's 字段 | 说明 | 是否必填)


def _lists_fields(frame: pl.DataFrame, known: Callable[[str], frozenset | None] | None) -> bool:
    """Whether a column of the sheet's first rows names two fields or more, one a cell (a
    template's 说明 sheet tabling its fields, a row per field): it describes the columns, it
    holds no records."""
    if known is None:
        return False
    for c in frame.columns:
        named = [f for v in frame[c].head(FIELD_LIST_ROWS).cast(pl.String).drop_nulls() if (f := known(v))]
        if any(not (a & b) for a, b in itertools.combinations(named, 2)):
            return True
    return False


def _table_rows(frame: pl.DataFrame) -> int:
    """How many rows of a sheet's cells hold 3 values or more."""
    if frame.width < 3:
        return 0
    return int(frame.select((pl.sum_horizontal(
        (pl.col(c).cast(pl.String).str.strip_chars().fill_null("") != "").cast(pl.Int32) for c in frame.columns) >= 3).sum()).item())


def _is_header(cells: list[str | None], known: Callable[[str], frozenset | None] | None) -> bool:
    """Three filled cells, two of them known column names of two fields; or two, both known, of two
    fields (a township's answers cut down to 预警编号 and 核实结果: all a returned list needs). Names of
    one field (a 说明 sheet listing 姓名 | 患者姓名, 证件号码 | 身份证号) are no header."""
    filled = [c for c in cells if c]
    if len(filled) < 3 and (len(filled) < 2 or known is None):
        return False
    if known is None:
        return True
    fields = [f for f in map(known, filled) if f]
    return any(not (a & b) for a, b in itertools.combinations(fields, 2))


def _find_header(rows: Iterator[Sequence], known, told: list | None = None) -> tuple[int, list[str | None] | None]:
    """(index, cells) of the header among the first HEADER_SCAN_ROWS rows, or (-1, None), its
    amounts' names given the unit a title line above says (`_title_unit`; what it did to `told`).
    Reads no row past the header, so the caller's iterator continues with the first data row."""
    above: list[list[str | None]] = []
    for h, cells in enumerate(itertools.islice(rows, HEADER_SCAN_ROWS)):
        cells = [_cell(c) for c in cells]
        if _is_header(cells, known):
            return h, _title_unit(cells, above, known, told)
        above.append(cells)
    return -1, None


# a title line's unit of the table's amounts (填报单位：区农业农村局　单位：万元, 金额单位：万元); 元 changes nothing
_TITLE_UNIT = re.compile(r"单位\s*[:：]\s*万元(?=$|[\s,，;；、)）])")
# the amounts: every kind's fields read as numbers with decimals (`kind.field`, as `known_headers` names them)
AMOUNTS = frozenset(f"{kind}.{f}" for kind, model in EXTRACT_MODELS.items()
                    for f, c in model.to_schema().columns.items() if c.dtype.type == pl.Float64)


def _title_unit(header: list[str | None], above: list[list[str | None]], known, told: list | None) -> list[str | None]:
    """The header with `(万元)` after the names of its amounts that say no unit of their own when
    a title line above it says 单位：万元 (`standardize` then reads them in 元, as under 损失金额（万元）):
    read as 元, a loss of 1.5 万元 was 1.5 元. What was done is said in `told`."""
    if known is None or not any(c and _TITLE_UNIT.search(c) for row in above for c in row):
        return header
    amounts = {i for i, h in enumerate(header) if h and (known(h) or frozenset()) & AMOUNTS and not says_unit(h)}
    if amounts and told is not None:
        names = "、".join(header[i] for i in sorted(amounts))
        told.append(f"标题行注明「单位：万元」：{names} 按万元读取 the title says the unit is 万元: {names} read so, in 元")
    return [f"{h}(万元)" if i in amounts else h for i, h in enumerate(header)]


def _sub_header(header: list[str | None], cells: Sequence | None, known) -> list[str | None] | None:
    """A header on two rows (a merged 地址 over 乡（镇）/行政村/村民小组, a merged 费用信息（元）
    over the amounts): the row after the header is its second row when it names a known column
    under a header cell that is empty or unknown, and holds only known names under the header's
    known ones (a record has its values there). Its names are put in, known or not (an added
    其中：自费 under 费用信息 is then an extra column like any other); else None."""
    if cells is None or known is None:
        return None
    cells = [_cell(c) for c in cells]
    if units := _with_units(header, cells):
        return units
    merged = list(header) + [None] * (len(cells) - len(header))
    filled = [(i, c, merged[i] is None or not known(merged[i])) for i, c in enumerate(cells) if c]
    if not any(under_open and known(c) for _, c, under_open in filled):
        return None
    if not all(under_open or known(c) for _, c, under_open in filled):
        return None
    for i, c, _ in filled:
        merged[i] = c
    return merged


# a unit alone in a cell, as written on a row of its own under the header: （元）, 元, 万元, 单位：元, (元/人)
_UNIT_CELL = re.compile(r"^[(（]?\s*(?:单位\s*[:：]\s*)?(元|万元|人|户|个|个月|月|天|次|岁|%|亩)(/(人|户|年|月))?\s*[)）]?$")


def _with_units(header: list[str | None], cells: list[str | None]) -> list[str | None] | None:
    """The header with the units of the row under it (`（元）` under 医疗总费用, `万元` under 损失金额)
    put in its names, as they are written in one cell (医疗总费用（元）: `standardize` reads a
    column in 万元 in 元); None unless every filled cell of that row is a unit under a named column."""
    units = {i: _UNIT_CELL.match(c) for i, c in enumerate(cells) if c}
    if not units or not all(i < len(header) and header[i] and m for i, m in units.items()):
        return None
    return [f"{h}({units[i].group(1)}{units[i].group(2) or ''})" if i in units else h for i, h in enumerate(header)]


def _table(rows: Iterable[tuple[int, Sequence]], known, rel: str, notes: list | None) -> list[pl.DataFrame] | None:
    it = iter(rows)
    titled: list[str] = []
    _, header = _find_header((cells for _, cells in it), known, titled)
    if header is None:
        return None
    if notes is not None:
        notes.extend(ReadError(rel, t, None, False) for t in titled)
    nxt = next(it, None)
    merged = _sub_header(header, nxt[1] if nxt else None, known)
    if merged:
        header = merged
    elif nxt is not None:
        it = itertools.chain([nxt], it)
    width = len(header)
    data: list[list] = []
    lines: list[int] = []
    extras: list[str | None] = []
    past: list[str | None] = []
    for line, cells in it:
        extras.append(cells[width] if len(cells) > width else None)
        past.append(next((c for c in cells[width + 1:] if c and c.strip()), None))
        cells = list(cells[:width])
        data.append(cells + [None] * (width - len(cells)))
        lines.append(line)
    grid = pl.DataFrame(data, schema={f"c{i}": pl.String for i in range(width)}, orient="row").with_columns(
        line=pl.Series(lines, dtype=pl.Int64), **({EXTRA: pl.Series(extras, dtype=pl.String)} if any(extras) else {}),
        **({PAST: pl.Series(past, dtype=pl.String)} if any(past) else {}))
    return _frame_tables(header, grid, known, rel, notes)


def _fields_of(known: Callable[[str], bool] | Mapping[str, Collection[str]] | Collection[str] | None
               ) -> Callable[[str], frozenset | None] | None:
    """`read_tables`' `known` as a function of a header: the fields it names (a `known_headers`
    mapping's), itself for a name of a collection or one the predicate knows; None when unknown."""
    if known is None:
        return None
    if callable(known):
        return lambda h: frozenset({normalize_header(h)}) if known(h) else None
    if isinstance(known, Mapping):
        names = {normalize_header(k): frozenset(v) for k, v in known.items()}
    else:
        names = {normalize_header(k): frozenset({normalize_header(k)}) for k in known}
    return lambda h: names.get(normalize_header(h))


def read_tables(
    path: Path,
    rel: str,
    known: Callable[[str], bool] | Mapping[str, Collection[str]] | Collection[str] | None = None,
    notes: list | None = None,
    summary_sheets: Collection[str] = (),
) -> list[tuple[str, pl.DataFrame]] | ReadError:
    """Read one CSV/XLSX into (label, frame) per table: String columns named as in its header
    row, plus `line` (1-based line in the file; Excel row number for XLSX), plus `EXTRA` when a
    CSV row has a value right after the header's width (an unquoted comma, e.g. 1,234.50: the
    values have shifted; a value further right, past an empty field, is a note beside the table,
    said in `notes` as a workbook's is: `_frame_table`). A CSV is one table labelled `rel`; a
    workbook has one per sheet with a header row (a returned township list: one sheet per risk type, the 汇总 sheet has none), labelled `rel`
    when it is the only one, else `sheet_label(rel, sheet)`.

    `known`: header names (any alias form; `known_headers(cfg)` also says which fields each
    names) or a predicate; the header is the first of the top rows with >=3 filled cells of which
    >=2 are known names of two fields, or 2 both so (`_is_header`; a second
    header row under it, as below a merged 地址 or 费用信息, lends it its names: `_sub_header`). Title
    lines, blank rows, 合计/总计/小计 rows and footers (填表人：…, 注：… alone on their row) are
    dropped; values stripped, empty -> null.
    Non-fatal findings (duplicated header names) are appended to `notes`. A sheet named as a
    summary (`summary_sheets`: 汇总, 统计 …) whose header is not found is noted there, not set
    aside. Never raises.
    """
    known = _fields_of(known)
    path = Path(path)
    try:
        if path.suffix.lower() == ".xlsx":
            if path.stat().st_size == 0:
                return ReadError(rel, "空文件 empty file")
            sheets = _xlsx_sheets(path, rel)
            if isinstance(sheets, str):
                return ReadError(rel, sheets)
            found, unread, hidden, said = [], [], [], []
            blank = True  # (no value on any visible sheet: a workbook made and never filled)
            sheets = ((name if not i else f"{name} 并排第{i + 1}个表", offset, part, visible, 0 if i else uncomputed,
                       merged if len(parts) == 1 else {})
                      for name, offset, frame, visible, uncomputed, merged in sheets
                      for parts in [_side_by_side(frame, known, rel, name, notes) if visible else [frame]]
                      for i, part in enumerate(parts))
            shape = before = None  # (the header and column kinds of the table on the visible sheet before, and its name)
            tops = None  # (the first visible sheet's first rows: what a file without a header is said to be)
            for name, offset, frame, visible, uncomputed, merged in sheets:
                if visible and tops is None:
                    tops = frame.head(HEADER_SCAN_ROWS).rows()
                if visible and blank and frame.width and frame.height:
                    blank = not frame.select(pl.any_horizontal(pl.all().is_not_null())).to_series().any()
                start = len(notes) if notes is not None else 0
                df, own = _sheet_table(offset, frame, known, rel, notes if visible else None, merged)
                if df is None and visible and shape is not None and not is_summary_sheet(name, summary_sheets) and (
                        df := _continued(offset, frame, shape, rel, notes)) is not None and notes is not None:
                    notes.append(ReadError(rel, f"工作表「{name}」没有表头，其各列与工作表「{before}」的表相符，按「{before}」的表头读取"
                                                f"（同一张表分在两个工作表？请核对） sheet '{name}' has no header row; its columns fit "
                                                f"the table on sheet '{before}': read under that header (one table split over "
                                                f"two sheets? please check)", None, False))
                if visible:
                    shape, before = (own, name) if own is not None else (shape, before) if df is not None else (None, None)
                said.append((name, start, len(notes) if notes is not None else 0))
                if df is None:
                    if visible and (rows := _table_rows(frame)) >= TABLE_ROWS and not _lists_fields(frame, known):
                        if is_summary_sheet(name, summary_sheets):
                            if notes is not None:
                                notes.append(summary_note(sheet_label(rel, name), rows))
                            continue
                        unread.append(ReadError(sheet_label(rel, name), f"前{HEADER_SCAN_ROWS}行未找到表头，工作表未读取（{rows} 行有3个以上"
                                                                        f"的值） no header row found in the sheet's first "
                                                                        f"{HEADER_SCAN_ROWS} rows: not read ({rows} rows of 3 values or more)"))
                    continue
                if visible:
                    found.append((name, _without_repeated_header(df, sheet_label(rel, name), notes)))
                    if uncomputed and notes is not None:
                        notes.append(ReadError(rel, f"工作表「{name}」有 {uncomputed} 个公式单元格没有计算结果，读作空值（由程序生成、"
                                                    f"未经Excel计算？请在Excel中打开并保存后重报） sheet '{name}': {uncomputed} "
                                                    "formula cells hold no computed value and read empty (written by a "
                                                    "program? open and save it in Excel, then deliver again)", None, False))
                elif sum(bool((known or bool)(c)) for c in df.columns if c != "line") >= HIDDEN_TABLE_NAMES:
                    # a hidden sheet holds a workbook's lookup lists (乡镇/村 for its drop-downs), not its
                    # records; one whose header reads like a table of records is said, not read
                    hidden.append(name)
                    if notes is not None:
                        notes.append(ReadError(rel, f"隐藏的工作表「{name}」有表头（{df.height} 行），未读取；如是数据请取消隐藏 "
                                                    f"hidden sheet '{name}' holds a table ({df.height} rows): not read", None, False,
                                               Finding.HIDDEN_TABLE))
            if not found and hidden:  # (its only table hidden: not "no header", which sends the sender looking in vain)
                shown = "」「".join(hidden)
                return ReadError(rel, f"表格在隐藏的工作表「{shown}」中，未读取：请取消隐藏后重报 the table is on hidden "
                                      f"sheet(s) '{shown}', not read: unhide and deliver again")
            if not found:
                return (ReadError(rel, "空文件（工作簿中没有任何值） empty file (a workbook without any value)") if blank
                        else _not_headed(rel, tops or []))
            if len(found) > 1 and notes is not None:  # (the notes on a sheet's table name its sheet, as its rows do)
                for name, start, end in said:
                    notes[start:end] = [replace(n, file=sheet_label(rel, name)) if n.file == rel else n for n in notes[start:end]]
            # a sheet that reads like a table but whose header is not found is set aside, not skipped
            return ([(rel, found[0][1])] if len(found) == 1 else [(sheet_label(rel, name), df) for name, df in found]) + [
                (e.file, e) for e in unread]
        try:
            fast = _fast_csv(path, known, rel, notes)
        except Exception:  # noqa: BLE001 - anything odd: the exact csv-module path below decides
            fast = None
        if isinstance(fast, ReadError):
            return fast
        if fast is not None:
            return [(_part_label(rel, i), _without_repeated_header(df, rel, notes)) for i, df in enumerate(fast)]
        for sep in SEPARATORS:
            found = [] if sep == "," else [ReadError(rel, _separated(sep), None, False)]
            rows = _csv_rows(path, found, rel, sep)
            if isinstance(rows, str):
                return ReadError(rel, rows)
            if (dfs := _table(rows, known, rel, found)) is not None:
                dfs = [(_part_label(rel, i), _without_repeated_header(df, rel, found)) for i, df in enumerate(dfs)]
                if notes is not None:
                    notes.extend(found)
                return dfs
        rows = _csv_rows(path, None, rel)
        return _not_headed(rel, [] if isinstance(rows, str) else (cells for _, cells in rows))
    except Exception as e:  # last resort: a file must never stop the run
        return ReadError(rel, f"无法读取 unreadable: {_one_line(e, path, rel)}")


def _part_label(rel: str, i: int) -> str:
    """A CSV's label (`rel`), or its i-th table's set side by side after the first's (`_frame_tables`)."""
    return sheet_label(rel, f"并排第{i + 1}个表") if i else rel


def is_summary_sheet(sheet: str, words: Collection[str]) -> bool:
    """Whether a sheet's name says it holds a department's totals (`[inbox] summary_sheets`)."""
    return any(w in sheet for w in words)


def summary_note(label: str, rows: int) -> ReadError:
    """The note on a summary sheet not read as records (文件说明)."""
    return ReadError(label, f"汇总表，不是记录，未读取（{rows} 行） a summary sheet (totals, not records): not read ({rows} "
                     f"row{'' if rows == 1 else 's'})",
                     None, False)


def read_table(
    path: Path,
    rel: str,
    known: Callable[[str], bool] | Mapping[str, Collection[str]] | Collection[str] | None = None,
    notes: list | None = None,
) -> pl.DataFrame | ReadError:
    """The first table of `read_tables` (a CSV's only one): for single-table files such as a
    truth file or a hand-labelled sample."""
    tables = read_tables(path, rel, known, notes)
    return tables if isinstance(tables, ReadError) else tables[0][1]


def read_delivery(path: Path, rel: str, dept: str, cfg: Config, known, notes: list | None = None,
                  latest: date | None = None, blanked: list | None = None, aside: list | None = None,
                  period_year: int | None = None
                  ) -> tuple[list[tuple[str, pl.DataFrame]], pl.DataFrame, list[tuple[str, pl.DataFrame]], int]:
    """One delivered file of folder `dept` -> read, detect each table's kind, standardise,
    validate: ([(kind, valid rows)] per table, `Rejected` rows, [(kind, `stand_ins` of its rows
    set aside)] per table, data rows read). A file that cannot be read is one rejected row (line
    null); a table whose header fits no kind of `dept` has every row rejected, naming the missing
    columns (one without rows is rejected whole, as a file). Notes (duplicated header names) go to
    `notes`. `latest`: the latest date a record may carry (a date people typed without its year in
    their answers takes the year that puts it on or before it). `blanked`: an answer's cells whose
    unreadable value was left empty, its row kept (`kinds.*.blank_unreadable`: a 核实日期 `11月`),
    appended as `Rejected` rows saying why (not set aside: told back to who wrote them; an
    extract's such cells are only noted, per column). A table of no kind on a sheet
    named as a summary (`[inbox] summary_sheets`) beside other tables is noted, not read: its
    rows are totals, not records, and count as no row read. `aside`: who a roster table's rows set
    aside show (`persons_set_aside`), appended. `period_year`: the period's year, which a 参保年度
    given as the years it spans (2026-2027) is read as when they hold it (`years_of_period`)."""
    found: list[ReadError] = []
    tables = read_tables(path, rel, known, found, cfg.inbox.summary_sheets)
    if notes is not None:
        notes.extend(found)
    # (a column under an empty header cell, holding values: a table missing a required column is asked whether it is that one)
    unheaded = {n.file: n.columns for n in found if isinstance(n, Unheaded)}
    if isinstance(tables, ReadError):
        return [], rejected_files([replace(tables, dept=dept)]), [], 0
    valid, rejected, set_aside, summaries = [], [pl.DataFrame(schema=REJECTED_SCHEMA)], [], 0
    rejected += [rejected_files([replace(t, dept=dept)]) for _, t in tables if isinstance(t, ReadError)]
    tables = [(label, t) for label, t in tables if not isinstance(t, ReadError)]
    for label, table in tables:  # a workbook: one table per sheet with a header
        headers = [c for c in table.columns if c not in ("line", EXTRA, TEMPLATE)]
        spec = detect_kind(headers, dept, cfg)
        misfit = None if spec is not None else own_list(headers) or describe_misfit(headers, dept, cfg, unheaded.get(label, ()))
        sheet = sheet_of(label)
        if spec is None and sheet is not None and is_summary_sheet(sheet, cfg.inbox.summary_sheets):
            if notes is not None:
                notes.append(replace(summary_note(label, table.height), dept=dept))
            summaries += table.height
            continue
        if spec is None and table.is_empty():  # no row to set aside: the table itself is
            rejected.append(rejected_files([ReadError(label, misfit, dept)]))
            continue
        if spec is None:
            rejected.append(table.select(
                pl.lit(dept).alias("dept"), pl.lit(None, pl.String).alias("kind"), pl.lit(label).alias("file"),
                pl.col("line").cast(pl.Int64), *[pl.lit(None, pl.String).alias(c) for c in ("record_id", "field", "value")],
                pl.lit(misfit).alias("reason")))
            continue
        columns = field_columns(headers, spec)  # each field's headers, in the order read
        if notes is not None:
            for f, hs in columns.items():
                if len(hs) > 1:
                    also = "」「".join(hs[1:])
                    notes.append(ReadError(label, f"「{also}」与「{hs[0]}」都读作{spec.fields[f][0]}：先读「{hs[0]}」，"
                                                  f"其为空的行读「{also}」 columns '{also}' read as '{hs[0]}' too: "
                                                  f"where '{hs[0]}' is empty", None, False))
        std, template = template_rows(standardize(table, spec), spec, dept, label)
        rejected.append(template)
        std, within = numbered_within_households(std, spec)
        if within and notes is not None:
            header = (columns.get(spec.record_id) or [spec.record_id])[0]
            example = std.filter(pl.col("line") == within[0])[spec.record_id][0]
            notes.append(ReadError(label, f"「{header}」为户内编号（多数户都有同样的编号），已按「户编号-{header}」读作人编号（如 "
                                          f"{example}，{len(within)} 行） '{header}' numbers persons within each household: "
                                          f"read as 户编号-{header}", dept, False))
        std, spans = years_of_period(std, spec, period_year)
        if spans and notes is not None:
            header = (columns.get(spec.snapshot_year) or [spec.snapshot_year])[0]
            notes.append(ReadError(label, f"「{header}」{len(spans)} 个为跨年区间（如 2026-2027），含本期所在的 {period_year} 年，按 {period_year} "
                                          f"读取（第 {_first_lines(spans)} 行） {len(spans)} values of '{header}' span two years "
                                          f"holding the period's: read as {period_year}", dept, False))
        std, orders = dates_in_order(std, spec)
        if notes is not None:
            for f, (order, line, value) in orders.items():
                header, zh = (columns.get(f) or [f])[0], {"M/D/Y": "月/日/年", "D/M/Y": "日/月/年"}[order]
                notes.append(ReadError(label, f"「{header}」的日期写作年份在后，按“{zh}”读取（第 {line} 行的 {value} 定此顺序） dates of "
                                              f"'{header}' written with the year last: read as {order}, as line {line} ({value}) "
                                              f"shows", dept, False))
        cells: list[pl.DataFrame] = []
        ok, bad = validate(std, spec, dept, label, latest if spec.name in cfg.ANSWER_KINDS else None, cells)
        if blanked is not None and spec.name in cfg.ANSWER_KINDS:
            blanked.extend(cells)
        if notes is not None:
            notes.extend(blanked_notes(cells, columns, label, dept))
            if spec.name not in cfg.ANSWER_KINDS:
                notes.extend(month_notes(month_only_lines(std, spec), columns, label, dept))
            for f, ns in approximate_lines(std, spec).items():
                header = (columns.get(f) or [f])[0]
                notes.append(ReadError(label, f"「{header}」{len(ns)} 个值为约数（约500、500左右），按所写数值读取（第 {_first_lines(ns)} 行），"
                                              f"请核对 {len(ns)} values of '{header}' are approximate (约500, 500左右): read as "
                                              f"the number written", dept, False))
            if lines := old_id_lines(std):
                header = (columns.get("id_number") or ["身份证号"])[0]
                notes.append(ReadError(label, f"「{header}」{len(lines)} 个为15位旧号，已按国家标准升为18位（补19、算校验位）读取，请在底册中"
                                              f"更正为现用18位号码（第 {_first_lines(lines)} 行） {len(lines)} old 15-digit ID "
                                              f"numbers read as the 18-character IDs they became", dept, False))
        if aside is not None and spec.name == "roster":
            aside.append(persons_set_aside(std.with_columns(file=pl.lit(label)), bad))
        valid.append((spec.name, ok))
        set_aside.append((spec.name, stand_ins(std, bad, spec, dept, label)))
        rejected.append(bad)
    return (valid, pl.concat([r.cast(REJECTED_SCHEMA) for r in rejected]), set_aside,
            sum(t.height for _, t in tables) - summaries)


def blanked_notes(blanked: list[pl.DataFrame], headers: dict[str, list[str]], label: str, dept: str
                  ) -> list[ReadError]:
    """`validate`'s cells left empty -> one note per field of the table: how many, the lines (the
    first ten) and the reason with the value; values that differ (a clerk's 核实日期 `11月`,
    `上周五`) each after its line."""
    found = []
    for (field,), cells in (pl.concat(blanked).partition_by("field", as_dict=True, maintain_order=True).items()
                            if blanked else ()):
        header = (headers.get(field) or [field])[0]
        first = cells.head(10)
        reason = cells["reason"][0]
        # (a 备注 too long is a clerk's words about a family, not a value to show on the console)
        if cells["value"].n_unique() > 1 and not reason.startswith(TOO_LONG):
            reason = reason.replace(f": '{cells['value'][0]}'", "", 1)  # (each value is said after its line)
            lines = "、".join(f"第 {n} 行“{v}”" for n, v in first.select("line", "value").iter_rows())
        else:
            lines = f"第 {'、'.join(str(n) for n in first['line'])} 行"
        lines += " …" if cells.height > 10 else ""
        found.append(ReadError(label, f"「{header}」{cells.height} 个值读不出，已按空值处理、这些行照常使用（{lines}；"
                                      f"{reason}） {cells.height} unreadable values of '{header}' taken as empty, "
                                      f"the rows kept", dept, False, Finding.VALUES_BLANKED))
    return found


def month_notes(lines: dict[str, list[int]], headers: dict[str, list[str]], label: str, dept: str) -> list[ReadError]:
    """`validate.month_only_lines` -> one note per field: its dates that name only a month, read
    as the month's first day (the lines, the first ten)."""
    found = []
    for field, ns in lines.items():
        header = (headers.get(field) or [field])[0]
        shown = _first_lines(ns)
        found.append(ReadError(label, f"「{header}」{len(ns)} 个日期只有年月，按当月1日读取（第 {shown} 行） {len(ns)} dates of "
                                      f"'{header}' name a month without its day: read as its first day", dept, False))
    return found


def read_department(period_dir: Path, files: pl.DataFrame, dept: str, cfg: Config, notes: list,
                    blanked: list | None = None, copies: Mapping[str, tuple[str, str]] | None = None,
                    aside: list | None = None, linked: Callable[[str, list[str], pl.Series], int] | None = None,
                    copied: dict[str, int] | None = None
                    ) -> tuple[dict[str, pl.DataFrame], pl.DataFrame, pl.DataFrame, int, pl.DataFrame]:
    """Every file of department folder `dept` (`files`: `discover`'s rows of it, in the order put
    in; a byte-identical repeat of another, `duplicate_of`, is not read) -> `read_delivery` each, side by side (a city's 15 医保
    files on one core left the other idle; largest first, taken in the folder's order), then the
    latest delivery of each record, valid or set aside (`keep_latest`), and the rows nobody can
    identify set aside (`set_aside_unidentifiable`): (rows per kind, `Rejected` rows file by file
    as put in, superseded rows, data rows read, the records of `complete_snapshot_kinds` whose
    latest delivery was set aside: dept, kind, record_id, id_raw, name as delivered). The files' notes go to `notes`, in order,
    their answers' cells left empty to `blanked` (`read_delivery`; answers are kept whole). A file
    byte for byte one of an earlier period (`copies`: file -> that period and its file,
    `accounting.earlier_copies`) is not read again unless it holds a list delivered whole every
    period (`[inbox] snapshot_kinds`): its records were delivered then, and read again they would
    replace that period's corrections (SPEC §1: the same file delivered twice must not count
    twice); it is named (往期文件). So is one of earlier months' records exported again (not byte
    for byte; a month's, or a quarter's): a department file dated in earlier months
    (`accounting.export_months`) of whose record numbers at least `[inbox] earlier_records_share`
    those months' runs linked (`linked`: dept, months, record keys -> how many; the warehouse's,
    asked of such a file only) and whose rows those months' folders hold every one as it is
    (`delivered_then`) is not read but for its lists, its rows counted as a copy's are, and named
    (往期记录); a correction of them (other content), one holding fewer of them, or one whose
    months' files are gone is read and named; `[inbox] read_again` lists the files read all the same. The roster's
    households are keyed here, once for the whole run:
    a 户编号 shared by persons of several villages is one household per village
    (`split_shared_households`). `aside`: who the roster's rows set aside in the end show
    (`persons_set_aside`: not those a later delivery of the person replaced), appended.
    `copied`: each file left out as a copy (a repeat, 往期文件, 往期记录; a workbook's sheets
    delivered then) -> its data rows not read, for the row accounting (`accounting.account`): a
    repeat has its first's."""
    from pipelines.accounting import export_months
    from pipelines.identify import set_aside_unidentifiable
    from pipelines.reference import split_shared_households

    known = known_headers(cfg)
    repeats = files.filter(pl.col("duplicate_of").is_not_null())
    files = files.join(repeats, on="file", how="anti", maintain_order="left")
    rows_of: dict[str, int] = {}  # (each file's data rows, read or not)
    copied = {} if copied is None else copied
    delivered: dict[str, list[pl.DataFrame]] = {}
    rejected: list[pl.DataFrame] = []
    rows_read = 0
    # the period folder is named for its period (YYYY-MM): its last day, and the days allowed after
    period = period_dir.name if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period_dir.name) else None
    latest_date = period_year = None
    if period:
        latest_date = period_end(period) + timedelta(days=cfg.inbox.days_after_period)
        period_year = int(period[:4])

    def read(rel: str):
        found: list[ReadError] = []
        cells: list[pl.DataFrame] = []
        people: list[pl.DataFrame] = []
        return (*read_delivery(period_dir / rel, rel, dept, cfg, known, found, latest_date, cells, people, period_year),
                found, cells, people)

    shown: list[pl.DataFrame] = []  # (who the roster's rows set aside show)
    records, headed_only = 0, []  # (data rows other than a template's own; the files of a header and no such row)
    read_files: list[str] = []  # (the files read: not those identical to an earlier period's)

    with ThreadPoolExecutor(max_workers=usable_cpus()) as pool:
        reading = {rel: pool.submit(read, rel) for rel in files.sort("size", descending=True, maintain_order=True)["file"]}
        for rel in files["file"].to_list():
            tables, bad, set_aside, rows, found, cells, people = reading.pop(rel).result()
            rows_of[rel] = rows
            shown.extend(people)
            snapshot, said = cfg.inbox.snapshot_kinds, None  # (said: why its records were delivered then)
            if rel in (copies or {}):
                then, was = copies[rel]
                said = (Finding.EARLIER_COPY, f"与 {then} 期的 {was} 完全相同", f"identical to {was} of {then}",
                        f"误放了往期文件？请核对；若它属于本期，请从 {then} 期移走后重跑 {then} 期",
                        f"an earlier period's file put in again? check it; if it is this period's, take it out of "
                        f"{then} and run {then} again")
            elif (linked is not None and period and dept in cfg.departments and rel not in cfg.inbox.read_again
                  and (months := export_months([df for kind, df in tables if kind not in snapshot], period,
                                               cfg.inbox.earlier_dates_share))
                  and len(months) <= cfg.inbox.earlier_months):
                keys, mine = _record_keys(tables, bad, cfg), [(kind, df) for kind, df in tables if kind not in snapshot]
                month = "、".join(months)  # (as said: one month's extract, or a quarter's)
                then, linked_n, share = month, linked(dept, months, keys), cfg.inbox.earlier_records_share
                valid = sum(df.height for _, df in mine)
                # (its numbers those months': are its rows as they were then? a correction's are not)
                same, gone = (delivered_then([period_dir.parent / m for m in months], dept, mine, cfg, known)
                              if linked_n >= share * keys.len() else None) or (None, [])
                head = f"日期多在 {month}、早于本期，其 {keys.len()} 个记录编号中 {linked_n} 个 {month} 期已报送"
                head_en = f"dated mostly in {month}, before this period, and {linked_n} of its {keys.len()} record numbers {month}'s"
                alike = same is not None and same == valid  # (a row changed since: a correction, read)
                if alike and not any(kind in cfg.inbox.standing_kinds for kind, _ in mine):
                    n = _rows_of(tables, bad, snapshot)
                    said = (Finding.EARLIER_RECORDS, f"{head}、{same} 行内容与该期相同", f"{head_en}, {same} rows as they were then",
                            f"是 {month} 期的文件重新导出后又放入本期？其 {n} 行不作本期记录（行数核对中计为重复文件未读）；若确属本期，请加 "
                            f"--set 'inbox.read_again=[\"{rel}\"]' 重跑本期",
                            f"{month}'s extract exported again and put in here? its {n} rows are not this "
                            f"period's records (copies in 行数核对); if it is this period's, run again with --set 'inbox.read_again=[\"{rel}\"]'")
                elif linked_n:
                    zh, en = ((f"{same} 行内容与该期相同：是 {month} 期的文件重报？其记录所述情况（房屋鉴定、供水问题）可能仍在，故未略去；"
                               f"若是重报，请移走后重跑本期",
                               f"{same} rows as they were then: {month}'s file sent again? what its records state "
                               f"(a house's assessment, a water problem) may still hold, so it is not left out; if "
                               f"sent again, take it out and run this period again")
                              if alike else
                              (f"其中 {valid - same} 行内容与该期不同：是对 {month} 期记录的更正？"
                               + (f"（{'、'.join(gone)} 期的文件已不在收件箱，未能比对）" if gone else ""),
                               f"{valid - same} rows other than then: a correction of {month}'s records?"
                               + (f" ({', '.join(gone)}'s files are no longer in the inbox to compare)" if gone else ""))
                              if same is not None else
                              (f"{month} 期的文件已不在收件箱、未能比对内容：是该期文件重报？",
                               f"{month}'s files are no longer in the inbox to compare: sent again?")
                              if linked_n >= share * keys.len() else
                              (f"部分为 {month} 期记录重报？", f"partly {month}'s records sent again?"))
                    notes.append(ReadError(rel, f"{head}，{zh}已按本期读入，请核对 {head_en}: {en} read as this period's; "
                                                f"check it", dept, False, Finding.EARLIER_RECORDS))
            if said:
                category, zh, en, ask, ask_en = said
                if not any(kind in snapshot for kind, _ in tables + set_aside):
                    notes.append(ReadError(rel, f"{zh}，未读入（其记录已在 {then} 期报送）：{ask} {en}: not read (its records "
                                                f"were delivered then); {ask_en}", dept, False, category))
                    copied[rel] = rows
                    continue
                if any(kind not in snapshot for kind, _ in tables):  # (a workbook's other sheets: delivered then)
                    other = ~pl.col("kind").is_in(list(snapshot)) | pl.col("kind").is_null()
                    copied[rel] = _rows_of(tables, bad, snapshot)
                    rows -= copied[rel]
                    tables = [(kind, df) for kind, df in tables if kind in snapshot]
                    set_aside = [(kind, df) for kind, df in set_aside if kind in snapshot]
                    bad = bad.filter(~other)
                    notes.append(ReadError(rel, f"{zh}，仅读入其中每期整体报送的名单（其余记录已在 {then} 期报送）：{ask} {en}: only "
                                                f"its list delivered whole every period is read (its other records were "
                                                f"delivered then); {ask_en}", dept, False, category))
            rows_read += rows
            read_files.append(rel)
            own = bad.filter(pl.col("reason") == TEMPLATE_ROW).height
            records += rows - own
            dropped = sum(n.lines for n in found if isinstance(n, OnlyDropped))  # (said by `header_only`)
            if tables and rows == own:
                headed_only.append((rel, own, dropped))
            notes.extend(n for n in found if not isinstance(n, OnlyDropped))
            if blanked is not None:
                blanked.extend(cells)
            rejected.append(bad)
            for kind, df in tables + set_aside:
                delivered.setdefault(kind, []).append(df)
    copied.update({r["file"]: rows_of.get(r["duplicate_of"], 0) for r in repeats.iter_rows(named=True)})
    # (a grid or roster without any row has its own finding; a returned list or review queue
    # without an answer row is said as such, the township or analyst told like other bad returns)
    if dept in {cfg.kinds[k].folder for k in cfg.ANSWER_KINDS}:
        notes.extend(ReadError(rel, NO_ANSWER_ROWS, dept, False, Finding.NO_ROWS) for rel, _, _ in headed_only)
    elif dept in cfg.departments or records:
        notes.extend(header_only(rel, own, dept, records, dropped) for rel, own, dropped in headed_only)
    if period and dept in cfg.departments:
        # (a file named for another period: last month's extract put in again, its records read as this period's)
        for rel in read_files:
            if (named := periods_named(rel)) and period not in named:
                said = "、".join(sorted(named))
                notes.append(ReadError(rel, f"文件名标明 {said} 期，却在 {period} 期中，其记录按 {period} 期读取：误放了其他期的文件？请核对"
                                            f" the file's name gives period {said}, but it is in {period}'s folder: its records "
                                            f"are read as {period}'s; another period's file put in by mistake? please check",
                                       dept, False, Finding.OTHER_PERIOD))
    ranks = delivery_ranks(files, cfg.inbox.later_marks, period)
    latest, bad, superseded = keep_latest(
        delivered, pl.concat([pl.DataFrame(schema=REJECTED_SCHEMA), *rejected]).cast(REJECTED_SCHEMA), ranks, cfg, period_year)
    for kind in [k for k in latest if k in cfg.inbox.snapshot_kinds]:
        key = cfg.kinds[kind].record_id
        for o in older_versions(latest[kind], superseded.filter(pl.col("kind") == kind), key):
            ids = "、".join(str(i) for i in o["shown"]) + ("…" if o["only"] > len(o["shown"]) else "")
            notes.append(ReadError(o["file"], f"其中 {o['again']} 条记录在 {o['by']} 中再次报送：是同一名单的旧版本？仅本文件有的 "
                                              f"{o['only']} 条仍读入（{ids}），如已不在名单中，请移走旧文件后重跑 {o['again']} of its "
                                              f"records are delivered again in {o['by']}: an older version of the list? the "
                                              f"{o['only']} only it holds are still read", dept, False, Finding.OLDER_VERSION))
    unread = [pl.DataFrame(schema={"dept": pl.String, "kind": pl.String, "record_id": pl.String,
                                   **{c: pl.String for c in SHOWN}})]
    unread += [f.join(bad, on=["dept", "kind", "file", "line"], how="semi").select(
        "dept", "kind", record_id=cfg.kinds[kind].record_id, **{c: pl.col(c) for c in SHOWN if c in f.columns})
        for kind, frames in delivered.items() if kind in cfg.matching.complete_snapshot_kinds
        for f in frames if SET_ASIDE in f.columns]
    unread = pl.concat(unread, how="diagonal_relaxed")
    rejected = [bad]
    for kind, df in latest.items():
        latest[kind], nobody = set_aside_unidentifiable(df)
        rejected.append(nobody)
        if latest_date and kind not in cfg.ANSWER_KINDS:  # (an answer's date is checked against when it came back)
            latest[kind], late = set_aside_future_dates(latest[kind], latest_date, cfg.inbox.planned_date_fields)
            rejected.append(late)
    if "roster" in latest:
        latest["roster"] = split_shared_households(latest["roster"], cfg.matching.places)
    rejected = pl.concat(rejected).cast(REJECTED_SCHEMA).sort(delivery_place(pl.col("file"), ranks), maintain_order=True)
    if aside is not None and "roster" in delivered:
        # (those set aside reading them, and persons of valid rows set aside since: one 人编号 given
        # to two persons by two files)
        rows = [*shown, *(f.select(list(ASIDE_PERSON)) for f in delivered["roster"] if SET_ASIDE not in f.columns)]
        aside.append(persons_set_aside(pl.concat(rows, how="diagonal_relaxed").cast(ASIDE_PERSON), rejected))
    return latest, rejected, superseded, rows_read, unread


def delivered_then(month_dirs: Sequence[Path], dept: str, tables: list[tuple[str, pl.DataFrame]], cfg: Config, known
                   ) -> tuple[int, list[str]] | None:
    """How many of one file's valid rows (`tables`, its lists aside) a file of folder `dept` of
    the earlier months' folders `month_dirs` delivered as they are (one record however its number
    is spelled, `record_key`; the same values read, however the file was exported: a title line,
    another encoding, XLSX for CSV; a late record of one month may have been delivered in the
    next's), and the months whose folder holds no file of `dept` (taken away since they ran);
    None when none does. Asked of a file dated in those months whose record numbers their runs
    linked: a re-export holds those months' rows, a correction of their records other content.
    The months are read one after another (a city's month of 医保 is 2M rows)."""
    # (each kind's frames, as several sheets may give them: their rows numbered one after another)
    now: dict[str, list[pl.DataFrame]] = {}
    for kind, df in tables:
        now.setdefault(kind, []).append(df.with_row_index("_i", offset=sum(d.height for d in now.get(kind, []))))
    hit = {kind: np.zeros(sum(d.height for d in dfs), dtype=bool) for kind, dfs in now.items()}
    gone = []
    for month_dir in month_dirs:
        files = discover(month_dir, cfg)[0] if month_dir.is_dir() else pl.DataFrame()
        files = files.filter(pl.col("dept") == dept, pl.col("duplicate_of").is_null()) if files.height else files
        if not files.height:
            gone.append(month_dir.name)
            continue
        latest = period_end(month_dir.name) + timedelta(days=cfg.inbox.days_after_period)
        with ThreadPoolExecutor(max_workers=usable_cpus()) as pool:
            read = list(pool.map(lambda rel: read_delivery(month_dir / rel, rel, dept, cfg, known, [], latest, [], [])[0],
                                 files["file"].to_list()))
        for kind, dfs in now.items():
            then = [t for found in read for k, t in found if k == kind]
            if not then:
                continue
            key = cfg.kinds[kind].record_id
            cols = sorted(set.intersection(*(set(t.columns) for t in dfs + then)) - {"dept", "kind", "file", "line", key, "_i"})

            def content(t: pl.DataFrame) -> pl.DataFrame:
                return t.select(record_key(pl.col(key).cast(pl.String)).alias("_k"), pl.struct(cols).hash().alias("_h"),
                                *(["_i"] if "_i" in t.columns else []))
            hit[kind][pl.concat([content(d) for d in dfs]).join(
                pl.concat([content(t) for t in then]).unique(), on=["_k", "_h"], how="semi")["_i"].to_numpy()] = True
        del read
    return None if len(gone) == len(month_dirs) else (int(sum(h.sum() for h in hit.values())), gone)


def _rows_of(tables: list[tuple[str, pl.DataFrame]], bad: pl.DataFrame, snapshot: Collection[str]) -> int:
    """One file's data rows but those of its lists delivered whole every period (`snapshot`)."""
    other = ~pl.col("kind").is_in(list(snapshot)) | pl.col("kind").is_null()
    return (sum(df.height for kind, df in tables if kind not in snapshot)
            + bad.filter(other, pl.col("line").is_not_null()).select("file", "line").n_unique())


def _record_keys(tables: list[tuple[str, pl.DataFrame]], bad: pl.DataFrame, cfg: Config) -> pl.Series:
    """One file's record numbers, valid rows and rows set aside alike, but its lists delivered whole
    every period (`[inbox] snapshot_kinds`): as `record_key` compares them, each once."""
    snapshot = cfg.inbox.snapshot_kinds
    ids = [df.get_column(cfg.kinds[kind].record_id).cast(pl.String) for kind, df in tables if kind not in snapshot]
    ids.append(bad.filter(pl.col("line").is_not_null(), ~pl.col("kind").is_in(list(snapshot)).fill_null(False))
               ["record_id"].cast(pl.String))
    return pl.concat(ids).alias("key").to_frame().select(record_key(pl.col("key"))).to_series().drop_nulls().unique()


# the note on a returned file (反馈, 复核) holding a header and no row: nothing in it was taken
NO_ANSWER_ROWS = ("只有表头、无答复行：文件中没有任何答复被采纳（误传了空表，或填写后未保存？），请填写后重报 holds a header "
                  "and no answer row: nothing in it was taken (an empty list sent, or not saved after filling it "
                  "in?): fill it in and send it again")


def header_only(rel: str, own: int, dept: str, records: int, dropped: int = 0) -> ReadError:
    """The note on a file of folder `dept` holding a header and no row (but `own` rows of its
    template's, `validate.template_rows`, and `dropped` 合计/小计/汇总 or footer lines, `OnlyDropped`:
    counted alike), saying whether the folder's other files held any (`records`, its data rows): an
    empty export sent beside the others, or the department sent nothing this month. Said, the
    analyst tells it from a file that was skipped."""
    zh, en = ("只有表头和填表模板的示例行或填表说明", "holds a header and its template's example or instructions "
              "rows") if own else ("只有表头", "holds a header")
    if dropped:
        zh, en = f"{zh}及 {dropped} 行合计或表尾说明", f"{en} and {dropped} total or footer line(s)"
    zh, en = f"{zh}、没有数据行", (f"{en}, no record" if own or dropped else f"{en} and no row")
    if records:
        return ReadError(rel, f"{zh}（{dept} 本期其他文件有 {records} 行数据）：误报了空表？请核对，有数据请重新导出后重报 {en} "
                              f"({records} rows in {dept}'s other files this period): an empty export sent by mistake? "
                              f"check it", dept, False, Finding.NO_ROWS)
    return ReadError(rel, f"{zh}，{dept} 本期没有其他有数据行的文件：该部门本期未报送任何记录，其规则未运行 {en}, and no "
                          f"other file of {dept} this period holds one: the department sent no record this month, its "
                          f"rules did not run", dept, False, Finding.NO_ROWS)


def read_period(period_dir: Path, cfg: Config) -> tuple[dict[str, pl.DataFrame], pl.DataFrame, pl.DataFrame, list[ReadError]]:
    """discover -> every department folder read as a run reads it (`read_department`), without
    Prefect.

    Returns (rows per kind; `Rejected` rows, including whole files set aside with line null;
    superseded rows; discover's problems and the files' notes).
    """
    period_dir = Path(period_dir)
    files, problems = discover(period_dir, cfg)
    latest: dict[str, pl.DataFrame] = {}
    rejected = [rejected_files([p for p in problems if p.set_aside])]
    superseded = [pl.DataFrame(schema=SUPERSEDED_SCHEMA)]
    for (dept,), mine in files.partition_by("dept", as_dict=True, maintain_order=True).items():
        last, wrong, sup, _, _ = read_department(period_dir, mine, dept, cfg, problems)
        latest.update(last)
        rejected.append(wrong)
        superseded.append(sup)
    return latest, pl.concat(rejected), pl.concat(superseded), problems


def read_linkable(period_dir: Path, cfg: Config) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A period's person records and roster as the matcher sees them in a run (latest delivery of
    each record, unidentifiable rows set aside): for evaluation scripts and accuracy tests that
    link without the Prefect flow."""
    from pipelines.validate import to_person_records

    latest, _, _, _ = read_period(period_dir, cfg)
    records = {k: df for k, df in latest.items() if k not in cfg.REFERENCE_KINDS}
    return to_person_records(records, cfg.matching.prior_groups), latest["roster"]
