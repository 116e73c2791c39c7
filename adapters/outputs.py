"""Writing outputs: every file is written to a temporary name beside its target and renamed into
place, so no reader ever sees a half-written file. A period's output folder is built whole in a
staging folder and swapped in at the end (`publish_dir`)."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import polars as pl

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
def atomic_path(target: Path):
    """Yield a temporary path in the target's folder; on success rename it onto the target."""
    target = Path(target)
    _private_dirs(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, PRIVATE_FILE_MODE)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def defuse_formulas(df: pl.DataFrame) -> pl.DataFrame:
    """Text cells starting with = + - @ TAB or CR get a leading apostrophe, so a value planted
    in a department extract (`=HYPERLINK(...)`) is shown as text, never run, in Excel/WPS."""
    return df.with_columns(pl.col(pl.Utf8).str.replace(r"^([=+\-@\t\r])", "'$1"))


def write_csv(df: pl.DataFrame, target: Path) -> Path:
    """CSV in UTF-8 with BOM, so Excel and WPS open Chinese text correctly; formulas defused."""
    with atomic_path(target) as tmp:
        defuse_formulas(df).write_csv(tmp, include_bom=True)
    return target


def write_text(text: str, target: Path) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target


def write_parquet(df: pl.DataFrame, target: Path) -> Path:
    with atomic_path(target) as tmp:
        df.write_parquet(tmp)
    return target


def _sheet_name(name: str, used: set[str]) -> str:
    clean = "".join("_" if c in '[]:*?/\\' else c for c in name)[:31] or "Sheet"
    base, i = clean, 2
    while clean in used:
        clean = f"{base[:28]}_{i}"
        i += 1
    used.add(clean)
    return clean


def write_xlsx(sheets: dict[str, pl.DataFrame], target: Path, created: datetime | None = None) -> Path:
    """One workbook, a sheet per entry (in order). Text stays text, so codes such as 户编号 and
    dates read exactly as in the CSV. `created` pins the workbook's timestamp so a re-run writes
    the same bytes."""
    import xlsxwriter

    with atomic_path(target) as tmp:
        # constant_memory: rows stream to disk as written (a city's lists would otherwise sit in RAM)
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_numbers": False, "strings_to_formulas": False,
                                            "constant_memory": True})
        wb.set_properties({"created": created or datetime(2000, 1, 1)})
        header_fmt = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        used: set[str] = set()
        for name, df in sheets.items():
            ws = wb.add_worksheet(_sheet_name(name, used))
            for j, col in enumerate(df.columns):
                ws.write_string(0, j, col, header_fmt)
                width = max([len(col) * 2] + [min(len(str(v)) * 2, 60) for v in df[col].head(200).to_list() if v is not None])
                ws.set_column(j, j, max(8, min(width, 60)))
            write_number, write_string = ws.write_number, ws.write_string
            for i, row in enumerate(df.iter_rows(), start=1):
                for j, v in enumerate(row):
                    if v is None:
                        continue
                    if type(v) is str:
                        write_string(i, j, v)
                    elif isinstance(v, (int, float)) and not isinstance(v, bool):
                        write_number(i, j, v)
                    else:
                        write_string(i, j, str(v))
            ws.freeze_panes(1, 0)
            if df.width:
                ws.autofilter(0, 0, max(df.height, 1), df.width - 1)
        wb.close()
    return target


def write_xlsx_many(jobs: list[tuple[dict[str, pl.DataFrame], Path]], created: datetime | None,
                    parallel_rows: int) -> None:
    """`write_xlsx` for many workbooks; when they hold more than `parallel_rows` rows in all (a
    city's township lists), on every core in fresh (spawned, not forked) processes."""
    rows = sum(df.height for sheets, _ in jobs for df in sheets.values())
    if rows <= parallel_rows or (os.cpu_count() or 1) < 2 or len(jobs) < 2:
        for sheets, target in jobs:
            write_xlsx(sheets, target, created)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=multiprocessing.get_context("spawn")) as pool:
        # largest first, so that no core is left with a big one at the end
        order = sorted(jobs, key=lambda j: -sum(df.height for df in j[0].values()))
        for done in [pool.submit(write_xlsx, sheets, target, created) for sheets, target in order]:
            done.result()


def new_staging_dir(final: Path) -> Path:
    """A fresh private folder beside `final`, to build a period's outputs in."""
    _private_dirs(final.parent)
    return Path(tempfile.mkdtemp(prefix=f".{final.name}.staging-", dir=final.parent))


def publish_dir(staging: Path, final: Path) -> Path:
    """Swap a fully written staging folder in as `final`; the previous one is removed after."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
    os.replace(staging, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return final


def recover(out_dir: Path) -> list[str]:
    """After a killed run (call while holding the warehouse lock): remove half-built staging
    folders, and put back a period folder whose swap was cut between its two renames.
    Returns what was done, for the log."""
    out_dir, done = Path(out_dir), []
    if not out_dir.is_dir():
        return done
    for d in sorted(out_dir.glob(".*.staging-*")):
        shutil.rmtree(d, ignore_errors=True)
        done.append(f"removed unfinished {d.name}")
    for d in sorted(out_dir.glob(".*.old-*")):
        final = out_dir / d.name[1:].rsplit(".old-", 1)[0]
        if final.exists():
            shutil.rmtree(d, ignore_errors=True)
            done.append(f"removed replaced {d.name}")
        else:
            os.replace(d, final)
            done.append(f"restored {final.name}")
    return done
