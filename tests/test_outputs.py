import os

import polars as pl
import pytest

from adapters import outputs


def test_csv_has_bom_and_private_mode(tmp_path):
    target = outputs.write_csv(pl.DataFrame({"户编号": ["H01"], "核实结果": [None]}), tmp_path / "a" / "x.csv")
    assert target.read_bytes().startswith(b"\xef\xbb\xbf\xe6\x88\xb7")
    assert os.stat(target).st_mode & 0o077 == 0
    assert [p.name for p in target.parent.iterdir()] == ["x.csv"]


def test_failed_write_leaves_previous_file_and_no_temp(tmp_path):
    target = tmp_path / "x.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with outputs.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]


def test_xlsx_is_reproducible_and_keeps_codes_as_text(tmp_path):
    df = pl.DataFrame({"户编号": ["0012"], "金额": [1.5]})
    a = outputs.write_xlsx({"汇总": df, "因病": df}, tmp_path / "a.xlsx")
    b = outputs.write_xlsx({"汇总": df, "因病": df}, tmp_path / "b.xlsx")
    assert a.read_bytes() == b.read_bytes()
    back = pl.read_excel(a, sheet_name="因病")
    assert back["户编号"].to_list() == ["0012"]


def test_publish_dir_swaps_whole_folder(tmp_path):
    final = tmp_path / "2026-10"
    final.mkdir()
    (final / "old.csv").write_text("old")
    stage = outputs.new_staging_dir(final)
    (stage / "new.csv").write_text("new")
    outputs.publish_dir(stage, final)
    assert [p.name for p in final.iterdir()] == ["new.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-10"]


def test_csv_defuses_formulas_planted_in_text(tmp_path):
    df = pl.DataFrame({"学校名称": ["=HYPERLINK(\"http://x\")", "一中", "-1+2", "@cmd"], "n": [1, 2, 3, 4]})
    back = pl.read_csv(outputs.write_csv(df, tmp_path / "x.csv"), infer_schema=False)
    assert back["学校名称"].to_list() == ["'=HYPERLINK(\"http://x\")", "一中", "'-1+2", "'@cmd"]


def test_new_folders_are_private(tmp_path):
    target = outputs.write_csv(pl.DataFrame({"a": [1]}), tmp_path / "p" / "townships" / "大店镇" / "x.csv")
    for d in (tmp_path / "p", tmp_path / "p" / "townships", target.parent):
        assert os.stat(d).st_mode & 0o077 == 0


def test_many_workbooks_on_all_cores_are_the_same_bytes(tmp_path):
    """A city's township workbooks are written in parallel processes: the same files, byte for
    byte, as one at a time, each private."""
    from datetime import datetime

    jobs = lambda root: [({"汇总": pl.DataFrame({"户编号": [f"{t:03d}{i:04d}" for i in range(50 * t)]})},  # noqa: E731
                          root / f"镇{t}" / f"镇{t}.xlsx") for t in range(1, 5)]
    created = datetime(2026, 11, 2)
    outputs.write_xlsx_many(jobs(tmp_path / "serial"), created, parallel_rows=10**9)
    outputs.write_xlsx_many(jobs(tmp_path / "parallel"), created, parallel_rows=0)
    for (_, a), (_, b) in zip(jobs(tmp_path / "serial"), jobs(tmp_path / "parallel")):
        assert a.read_bytes() == b.read_bytes()
        assert os.stat(b).st_mode & 0o077 == 0
