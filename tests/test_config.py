"""config/: an analyst's `--set KEY=VALUE` or a bureau's own copy of default.toml gives exactly
the setting it names, or is refused with a ValueError naming the key and what is wrong (the CLI
prints it as one line, exit 2: tests/test_cli.py). Never a traceback, never a key ignored."""

from __future__ import annotations

import copy
import os
import re
import tomllib
from pathlib import Path

import pytest

from config import DEFAULT_CONFIG, apply_overrides, build_config, load_config

DEFAULT_RAW = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
CFG = load_config()


def _copy(tmp_path, text: str):
    path = tmp_path / "my_rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_set_replaces_only_the_value_it_names_in_a_copy():
    """`M1.threshold=8000` is rules.M1's threshold (spaces around key and value allowed); the
    default read once is not changed by it: the next run without --set has the default again."""
    raw = apply_overrides(DEFAULT_RAW, [" M1.threshold = 8000", "rules.M2.severity=低"])
    assert raw["rules"]["M1"]["threshold"] == 8000 and raw["rules"]["M2"]["severity"] == "低"
    # (a key part quoted as in TOML, or spaced: it was 'unknown key', naming the quotes)
    raw = apply_overrides(DEFAULT_RAW, ['dispatch."因病"=民政', "M1 . threshold = 7000", "'M2'.severity=中"])
    assert (raw["dispatch"]["因病"], raw["rules"]["M1"]["threshold"], raw["rules"]["M2"]["severity"]) == ("民政", 7000, "中")
    assert '"因病"' not in raw["dispatch"]
    assert DEFAULT_RAW["rules"]["M1"]["threshold"] == 5000 and DEFAULT_RAW["rules"]["M2"]["severity"] == "高"
    assert raw["rules"]["M3"] == DEFAULT_RAW["rules"]["M3"]


def test_a_set_value_is_read_as_toml_else_as_text():
    """`2GB` is no TOML value: it is the text 2GB (not an error, not a number, not ` 2GB`); `8_000`
    is 8000."""
    cfg = load_config(None, ["run.year_sum_memory = 2GB ", "M1.threshold=8_000"])
    assert cfg.run.year_sum_memory == "2GB" and cfg.rules["M1"]["threshold"] == 8000
    # a number typed full-width (８０００: 'must be a number, got ８０００', which reads as 8000) is the number
    cfg = load_config(None, ["M1.threshold=８０００", "M2.share_of_income=０．４", "M1.label=自付（元）"])
    assert (cfg.rules["M1"]["threshold"], cfg.rules["M2"]["share_of_income"], cfg.rules["M1"].label) == (8000, 0.4, "自付（元）")


@pytest.mark.parametrize("setting, key", [
    ("M1.threshhold=8000", "M1.threshhold"), ("matching.match_threshhold=0.9", "matching.match_threshhold"),
    ("rules.M1.threshold.high=1", "rules.M1.threshold.high"), ("rules.M9.threshold=1", "rules.M9.threshold"),
    ("nosuch=1", "nosuch")])
def test_a_set_naming_no_setting_is_refused_naming_what_was_typed(setting, key):
    """A typo never silently does nothing: the message quotes the key as the analyst typed it."""
    with pytest.raises(ValueError, match=f"^--set: unknown key '{key}'$"):
        apply_overrides(DEFAULT_RAW, [setting])
    with pytest.raises(ValueError, match="^--set expects KEY=VALUE, got 'M1.threshold'$"):
        apply_overrides(DEFAULT_RAW, ["M1.threshold"])


@pytest.mark.parametrize("setting, read", [
    ("matching.review_threshold=0.99", lambda c: c.matching.review_threshold),  # = match_threshold: no review band
    ("matching.match_threshold=1", lambda c: c.matching.match_threshold),
    ("matching.census_completeness=0", lambda c: c.matching.census_completeness),
    ("matching.census_completeness=1", lambda c: c.matching.census_completeness),
    ("matching.name_m_floor=1", lambda c: c.matching.name_m_floor),
    ("matching.name_m_strength=0", lambda c: c.matching.name_m_strength),
    ("matching.lookalike_prior=1", lambda c: c.matching.lookalike_prior),
    ("matching.place_hint_strength=0", lambda c: c.matching.place_hint_strength),
    ("matching.age_prior_strength=0", lambda c: c.matching.age_prior_strength),
    ("matching.record_id_slips=4", lambda c: c.matching.record_id_slips),
    ("matching.role_levels.head=1", lambda c: c.matching.role_levels["head"]),
    ("matching.name_levels.exact=0.8", lambda c: c.matching.name_levels["exact"]),  # (the rest: the default's)
    ('matching.match_threshold_by_dept={"hr"=1}', lambda c: c.matching.match_threshold_by_dept["人社"]),
    ("run.verify_working_days=1", lambda c: c.run.verify_working_days),
    ("run.suppress_days=0", lambda c: c.run.suppress_days),
    ("run.escalation_factor=1", lambda c: c.run.escalation_factor),
    ("run.busy_wait_minutes=0", lambda c: c.run.busy_wait_minutes),
    ("run.split_search_max_pairs=0", lambda c: c.run.split_search_max_pairs),
    ("run.year_sum_memory=\"512 MB\"", lambda c: c.run.year_sum_memory),
    ("inbox.days_after_period=0", lambda c: c.inbox.days_after_period),
    ("matching.census_coverage=1", lambda c: c.matching.census_coverage),
    ("M1.threshold=0", lambda c: c.rules["M1"]["threshold"]),
    ("M4.min_roster_share=1", lambda c: c.rules["M4"]["min_roster_share"]),
])
def test_a_setting_at_the_edge_of_its_range_is_taken_as_given(setting, read):
    """An analyst pinning a setting at its bound (every record to review, no repeat window, no
    wait) gets exactly that value, not a refusal."""
    value = tomllib.loads(f"v = {setting.split('=', 1)[1]}")["v"]
    assert read(load_config(None, [setting])) == (value if not isinstance(value, dict) else 1)


@pytest.mark.parametrize("setting, key", [
    ("matching.review_threshold=0", "matching.review_threshold"),
    ('matching.no_link_name_levels=["disagre"]', "matching.no_link_name_levels"),
    ('matching.name_readings={"仉"="zhang"}', "matching.name_readings"),  # a text, not a list of readings
    ('matching.name_readings={""=["du"]}', "matching.name_readings"),
    ("matching.typo_rate=0.06", "matching.typo_rate"),  # a rate per ID character: 1/17 would be every ID wrong
    ("matching.typo_strength=0", "matching.typo_rate"),
    ('matching.prior_groups={assistance_pay=""}', "matching.prior_groups"),
    ("matching.role_levels.member=0", "matching.role_levels"),
    ('matching.role_levels={head=0.95, member=0.05, other=0.1}', "matching.role_levels"),
    ("matching.roster_share=1.5", "matching.roster_share must be a share from 0 to 1, got 1.5"),
    ("matching.absentee_max_share=1.5", "matching.absentee_max_share must be a share from 0 to 1, got 1.5"),
    ("run.roster_min_usable_share=90", "run.roster_min_usable_share must be a share from 0 to 1, got 90"),
    ("M2.share_of_income=40", "rules.M2.share_of_income must be a share from 0 to 1 (40% = 0.4), got 40"),
    ("A1.share_of_income=30", "rules.A1.share_of_income must be a share from 0 to 1 (40% = 0.4), got 30"),
    ('M2.share_of_income="40%"', "rules.M2.share_of_income must be a number (40% is written 0.4), got '40%'"),
    ("matching.estimate_prior=1", "matching.estimate_prior must be true/false, got 1"),
    ("matching.census_completeness=true", "matching.census_completeness must be text, got True"),  # (nor a share)
    ("M1.threshold=true", "rules.M1.threshold must be a number, got True"),
    ("rules.M1=5", "rules.M1 must be a table"),
    ("kinds.med_enrollment.snapshot_year=status", "kinds.med_enrollment.snapshot_year: 'status' is not a field of whole"),
    ('H1.grades=["C", 4]', "rules.H1.grades must be a list of text items, got ['C', 4]"),
    ('matching.match_threshold_by_dept={"hr"=1.5}', "matching.match_threshold_by_dept"),
    ('matching.match_threshold_by_dept={"税务"=0.999}', "matching.match_threshold_by_dept: unknown department '税务'"),
    ("matching.record_id_slips=5", "matching.record_id_slips"),
    ("matching.record_id_slips=2.5", "matching.record_id_slips"),
    ("run.escalation_factor=0.5", "run.escalation_factor"),  # a warning repeated for a smaller signal
    ("run.max_grid_households=2.5", "run.max_grid_households must be a whole number of at least 1, got 2.5"),
    ("run.split_search_max_pairs=2.5", "run.split_search_max_pairs"),
    ("inbox.days_after_period=2.5", "inbox.days_after_period"),
    ("inbox.earlier_months=0", "inbox.earlier_months must be a whole number of at least 1, got 0"),
    ("inbox.earlier_records_share=95", "inbox.earlier_records_share must be a share from 0 to 1, got 95"),
    ("run.year_sum_memory=1,5GB", "run.year_sum_memory must be an amount of memory such as \"1GB\""),  # (failed in
    ("run.year_sum_memory=很多", "run.year_sum_memory must be an amount of memory"),  # year_to_date, after linking)
    ("run.year_sum_memory=\"1\"", "run.year_sum_memory must be an amount of memory"),  # (a unit: 1GB)
    ('run.holidays=["2027-02-05"]', None),  # (valid alone: with the same day a workday below)
])
def test_a_setting_past_the_edge_of_its_range_is_refused_naming_it(setting, key):
    """Each was taken (or, for some, failed after the records were read): a review band from 0
    sending every pair to review, a rate that calls every ID a typo, half a grid household, a
    share of income written as a percentage (40: M2 and A1 never fired)."""
    sets = [setting] + (['run.workdays=["2027-02-05"]'] if key is None else [])
    with pytest.raises(ValueError, match=re.escape(key or "run.holidays and run.workdays share ['2027-02-05']")):
        load_config(None, sets)


@pytest.mark.parametrize("setting, says", [
    ("run=5", "run must be a table, got 5"), ("dispatch=5", "dispatch must be a table, got 5"),
    ("folders.医保=医保局", "folders.医保 must be a list, got '医保局'"),
    ("kinds.roster.blank_unreadable=household_size", "kinds.roster.blank_unreadable must be a list"),
    ("kinds.housing.folder=住健", "kinds.housing.folder: '住健' is not a folder of [folders]"),
    ("rules.H1.kind=hosuing", "rules.H1.kind: 'hosuing' is not a kind of [kinds]"),
    ('matching.head_kinds=["hosuing"]', "matching.head_kinds: ['hosuing'] are not kinds of [kinds]"),
    ('inbox.snapshot_kinds=["rooster"]', "inbox.snapshot_kinds: ['rooster'] are not kinds of [kinds]"),
    ("matching.prior_iterations=2.5", "matching.prior_iterations must be a whole number of at least 0"),
    ("matching.prior_iterations=3.0", "matching.prior_iterations must be a whole number of at least 0"),
    ("matching.review_max_candidates=2.5", "matching.review_max_candidates must be a whole number"),
    ("matching.id_levels={}", "matching.id_levels must give kept-agree, one-differs, two-differ, disagree each a share"),
    ('matching.place_levels={village=0.9, township=0.1}', "matching.place_levels must give village, township, disagree"),
    ("matching.name_levels.exact=1.5", "matching.name_levels must give exact"),
    ("run.polars_engine=gpu", "run.polars_engine must be one of in-memory, auto, streaming, got 'gpu'"),
])
def test_a_set_the_pipeline_could_not_follow_is_refused_naming_it(setting, says):
    """Each was taken and then did something else than the analyst said, or failed later:
    `run=5` was an AttributeError's traceback (the CLI catches a ValueError only); an alias or a
    blank_unreadable given as text became one alias per character (医, 保, 局); a kind moved to
    no folder was no longer read from its own, a rule on no kind failed after linking (KeyError), a kind list
    naming no kind was ignored; 2.5 iterations failed after linking (range(2.5)); an ID level
    left out was taken as m = 1, a place level left out failed after linking (KeyError)."""
    with pytest.raises(ValueError, match=re.escape(says)):
        load_config(None, [setting])


@pytest.mark.parametrize("edit, says", [
    (lambda t: t + "\n[mathcing]\nmatch_threshold = 0.9\n", "mathcing: unknown table"),
    (lambda t: t.replace("blank_unreadable = [", "blank_unreadabel = [", 1), "kinds.roster.blank_unreadabel: unknown key"),
    (lambda t: t.replace('record_id = "person_id"\n', "", 1), "kinds.roster.record_id is missing"),
    (lambda t: t + '\n[kinds.tax]\nfolder = "医保"\nrecord_id = "x"\nrequired = ["x"]\nfields = {x = ["x"]}\n',
     "kinds.tax: unknown kind"),
    (lambda t: t + '\n[rules.X1]\nimpl = "M9"\nkind = "med_settlement"\nrisk_type = "因病"\n',
     "rules.X1: no rule of config/default.toml is called 'M9'"),
    (lambda t: t + '\n[rules.X1]\nkind = "med_settlement"\nrisk_type = "因病"\n',
     "rules.X1: no rule of config/default.toml is called 'X1'"),
    (lambda t: t.replace('share_of_income = 0.40\n', 'share_of_income = 0.40\nlead = "no"\n', 1),
     "rules.M2.lead must be true/false, got 'no'"),
])
def test_a_copy_the_pipeline_could_not_follow_is_refused_naming_it(edit, says, tmp_path):
    """A bureau's own copy: a table or a kind's key mistyped was silently left aside (the
    default's taken instead), a kind without its record_id was a bare KeyError 'record_id', a
    new kind failed on its first file (no model of it), a rule of no implementation after
    linking (KeyError), `lead = "no"` was a lead."""
    with pytest.raises(ValueError, match=re.escape(says)):
        load_config(_copy(tmp_path, edit(DEFAULT_CONFIG.read_text(encoding="utf-8"))))


@pytest.mark.parametrize("name", ["医保", "medical", " Medical ", "ＭＥＤＩＣＡＬ", "医 保 局", "医疗保障局"])
def test_a_folder_is_found_by_its_name_or_alias_however_typed(name):
    """A folder named by the department's own name, in full-width letters, with spaces or
    capitals, is 医保's; the departments are the eight folders that are not read by every run."""
    assert CFG.folder_of(name) == "医保"
    assert CFG.folder_of("医保科") is None
    assert CFG.departments == ["医保", "住建", "教育", "水利", "民政", "残联", "人社", "农业农村"]


def test_a_rule_leaving_out_its_description_and_flags_takes_the_defaults(tmp_path):
    """A bureau's own rule (impl = "M4", a second M4 with its own share) says no label, severity,
    lead or per_person: it is labelled with its name, 中, no lead, and a fact about persons as M4
    is; a code's spelling or a value allowed besides the SPEC's is compared as the cells are: NFKC,
    without spaces (Ｃ 级 is C级, 雪　灾 with an input method's full-width space is 雪灾)."""
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    m4 = DEFAULT_RAW["rules"]["M4"]
    own = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in m4.items()
                  if k not in ("label", "severity", "lead", "per_person", "explained_by_death", "min_roster_share"))
    text = text.replace('"C级" = "C"', '"Ｃ 级" = "C"') + f'\n[rules.M4B]\nimpl = "M4"\n{own}'
    text = text.replace("disaster_type = []", 'disaster_type = ["雪\u3000灾", "低温冻害"]')
    text = text.replace('risk_type_by_disaster = { "产业项目失败" = "因产业项目失败" }\n', "")  # (A1's, optional too)
    assert '"Ｃ 级" = "C"' in text and '"C级"' not in text and "雪\u3000灾" in text and "risk_type_by_disaster = " not in text
    assert "min_roster_share" in m4 and "min_roster_share" not in own
    cfg = load_config(_copy(tmp_path, text))
    rule = cfg.rules["M4B"]
    assert (rule.label, rule.severity, rule.lead, rule.per_person, rule.explained_by_death) == ("M4B", "中", False, True, True)
    assert rule["impl"] == "M4"
    assert cfg.kinds["housing"].codes["grade"]["C级"] == "C" and cfg.kinds["agri"].values["disaster_type"] == ("雪灾", "低温冻害")
    assert (cfg.rules["M3"].lead, cfg.rules["M2"].per_person, cfg.rules["M2"].severity) == (True, False, "高")
    assert cfg.rules["M1"].label == DEFAULT_RAW["rules"]["M1"]["label"] != "M1"


def test_the_fingerprint_is_of_the_settings_not_of_their_order():
    """The same settings written in another order are the same configuration on record."""
    reordered = {k: DEFAULT_RAW[k] for k in reversed(list(DEFAULT_RAW))}
    assert build_config(reordered, DEFAULT_RAW).fingerprint == CFG.fingerprint


def test_a_set_sends_a_risk_types_verified_warnings_to_another_department():
    """`[dispatch]`: 因病 sent to 民政 for a month; the other risk types keep their department."""
    cfg = load_config(None, ["dispatch.因病=民政"])
    assert (cfg.dispatch["因病"], cfg.dispatch["因残"]) == ("民政", "残联")


@pytest.mark.parametrize("encode", [lambda t: "\ufeff".encode() + t.encode("utf-8"), lambda t: t.encode("gb18030")],
                         ids=["utf-8 with BOM", "gb18030"])
def test_a_copy_saved_by_notepad_or_wps_is_read_as_written(encode, tmp_path):
    """Notepad saves UTF-8 with a BOM, an editor on Chinese Windows saves ANSI (GB18030): the
    first was 'Invalid statement (at line 1, column 1)', the second a bare UnicodeDecodeError
    naming no file. Both are the settings the analyst typed (a Chinese value included)."""
    text = DEFAULT_CONFIG.read_text(encoding="utf-8").replace('unmapped_department = "乡村振兴局"',
                                                              'unmapped_department = "县乡村振兴局"')
    path = tmp_path / "my_rules.toml"
    path.write_bytes(encode(text))
    assert load_config(path).feedback.unmapped_department == "县乡村振兴局"
    path.write_bytes(text.encode("utf-16"))
    with pytest.raises(ValueError, match=re.escape(f"{path}: 不是 UTF-8 或 GB18030 文本")):
        load_config(path)


@pytest.mark.parametrize("old, new, says", [
    ('later_marks = ["更正", "修正"', 'later_marks = ["更正"， "修正"', "inbox.later_marks 一行有中文标点 ，"),
    ('unmapped_department = "乡村振兴局"', "unmapped_department = “乡村振兴局”", "feedback.unmapped_department 一行有中文标点 “ ”"),
    ("threshold = 5000\n", "threshold ＝ 5000\n", "rules.M1.threshold 一行有中文标点 ＝"),
    ("threshold = 5000\n", "threshold = 5,000\n", "rules.M1.threshold 的数值请写成 5000 或 0.4（不带千位逗号或 %）"),
    ("share_of_income = 0.40\n", "share_of_income = 40%\n", "rules.M2.share_of_income 的数值请写成 5000 或 0.4"),
])
def test_a_copy_typed_with_a_chinese_input_method_is_refused_naming_the_key(old, new, says, tmp_path):
    """`，` in a list, “” around a text, `＝`, a number as on paper (5,000, 40%): TOML said only
    'Unclosed array (at line 46, column 20)'; the message now names the file, the key and what to
    retype."""
    path = _copy(tmp_path, DEFAULT_CONFIG.read_text(encoding="utf-8").replace(old, new, 1))
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: .*{re.escape(says)}"):
        load_config(path)


def test_a_set_adds_an_entry_to_a_table_of_the_countys_own_entries():
    """default.toml says a county adds its own name readings with --set: `name_readings.翟=…` was
    'unknown key', and the only way left, `name_readings={翟=[…]}`, dropped the default's 22
    readings without a word. An entry is added beside the others (a department's threshold, a
    risk type's department, a code's spelling too); it is checked as one in a copy is, and a
    mistyped setting is still unknown."""
    cfg = load_config(None, ['matching.name_readings.翟=["zhai"]', "matching.match_threshold_by_dept.民政=0.995",
                             "kinds.review_answer.codes.verdict.对=是"])
    assert cfg.matching.name_readings["翟"] == ["zhai"] and cfg.matching.name_readings["曾"] == ["zeng"]
    assert cfg.matching.match_threshold_by_dept == {"民政": 0.995}
    assert cfg.kinds["review_answer"].codes["verdict"]["对"] == "是" and cfg.kinds["review_answer"].codes["verdict"]["本人"] == "是"
    with pytest.raises(ValueError, match=re.escape("kinds.review_answer.codes.verdict: ['好'] are not among its values")):
        load_config(None, ["kinds.review_answer.codes.verdict.对=好"])
    with pytest.raises(ValueError, match="^--set: unknown key 'kinds.review_answer.codez.verdict.对'$"):
        apply_overrides(DEFAULT_RAW, ["kinds.review_answer.codez.verdict.对=是"])


@pytest.mark.parametrize("setting, says", [
    ('H1.grades=["c", "d"]', "rules.H1.grades: ['c', 'd'] are not among the values records are read as (A、B、C、D)"),
    ('M4.bad_status=["暂停", "终止参保"]', "rules.M4.bad_status: ['暂停'] are not among the values"),
    ('E1.stages=["小学", "初级中学"]', "rules.E1.stages: ['初级中学'] are not among the values"),
    ('C2.categories=["临时救助", "低保边缘"]', "rules.C2.categories: ['低保边缘'] are not among the values"),
])
def test_a_rule_listing_a_value_no_record_is_read_as_is_refused_naming_it(setting, says):
    """Records are read as the SPEC's values (C级 and c as C, 暂停 as 暂停参保): a rule's list
    spelled otherwise matched no record, and the rule never fired (exit 0, no word). A value the
    kind allows besides the SPEC's (`kinds.civil.values`) may be listed."""
    with pytest.raises(ValueError, match=re.escape(says)):
        load_config(None, [setting])
    cfg = load_config(None, ['kinds.civil.values.category=["低保边缘"]', 'C2.categories=["临时救助", "低保边缘"]'])
    assert cfg.rules["C2"]["categories"] == ["临时救助", "低保边缘"]


@pytest.mark.parametrize("setting, says", [
    ("C1.min_age=60", None),  # (a single age: taken)
    ("R1.min_age=61", "rules.R1.min_age must be at most max_age (no age lies between), got 61 > 60"),
    ('folders.住建=["housing", "医保局"]', "folders.住建: '医保局' also names folders.医保"),
    ('folders.住建=["housing", " Medical "]', "folders.住建: 'medical' also names folders.医保"),
    ("dispatch.因残疾=残联", "dispatch.'因残疾': no rule gives this risk type"),
    ('"dispatch.因病 =民政"', None),  # (--set strips the key: 因病)
])
def test_a_setting_that_silently_did_nothing_is_refused_naming_it(setting, says):
    """Each was taken, exit 0, and did nothing the analyst could see: C1/R1 with min_age above
    max_age warned no one; an alias listed under a second folder (医保局 under 住建) left that
    folder read as the first's; a [dispatch] key no rule gives (因残疾 for 因残) sent 因残's
    verified warnings to feedback.unmapped_department. A risk type of a bureau's own rule or
    disaster (risk_type_by_disaster) may be dispatched."""
    setting = setting.strip('"')
    if says is None:
        load_config(None, [setting])
    else:
        with pytest.raises(ValueError, match=re.escape(says)):
            load_config(None, [setting])
    load_config(None, ["A1.risk_type_by_disaster.雪灾=因雪灾", "dispatch.因雪灾=农业农村", "C1.risk_type=因亡故",
                       "dispatch.因亡故=民政"])


@pytest.mark.parametrize("setting, says", [
    ("R1.months_unpaid=0", "rules.R1.months_unpaid must be a whole number of at least 1, got 0"),
    ("R1.months_unpaid=2.5", "rules.R1.months_unpaid must be a whole number of at least 1, got 2.5"),
    ("M1.high_threshold=3000", "rules.M1.high_threshold must be at least threshold (below it every warning is 高), "
                               "got 3000 < 5000"),
    ('inbox.summary_sheets=["汇总", ""]', "inbox.summary_sheets: an empty word is in every name"),
    ('inbox.later_marks=["更正", " "]', "inbox.later_marks: an empty word is in every name"),
])
def test_a_setting_that_reaches_everything_or_no_whole_month_is_refused(setting, says, tmp_path):
    """Each was taken: R1 with months_unpaid = 0 warned every person of the 人社 extract (0 months
    unpaid is everyone's), 2.5 months is none a record counts; a high_threshold below threshold
    made every M1 warning 高; an empty word in summary_sheets or later_marks is in every sheet's
    or file's name (every sheet a summary, every file a correction). The default's own are taken,
    and so is a rule of one's own that runs R1 (checked as R1 is)."""
    with pytest.raises(ValueError, match=re.escape(says)):
        load_config(None, [setting])
    own = DEFAULT_CONFIG.read_text(encoding="utf-8") + (
        '\n[rules.R9]\nimpl = "R1"\nkind = "hr"\nrisk_type = "因务工就业不稳"\nevent_types = ["失业登记"]\n'
        'months_unpaid = 0\nmin_age = 16\nmax_age = 60\n')
    with pytest.raises(ValueError, match=re.escape("rules.R9.months_unpaid must be a whole number of at least 1, got 0")):
        load_config(_copy(tmp_path, own))
    cfg = load_config(None, ["R1.months_unpaid=1", "M1.high_threshold=5000", 'inbox.summary_sheets=["汇总"]'])
    assert (cfg.rules["R1"]["months_unpaid"], cfg.rules["M1"]["high_threshold"]) == (1, 5000)
    assert CFG.inbox.later_marks == tuple(DEFAULT_RAW["inbox"]["later_marks"])


@pytest.mark.parametrize("setting, says", [
    ("C1.min_age=60.5", "rules.C1.min_age must be a whole number of at least 0, got 60.5"),
    ("R1.max_age=17.5", "rules.R1.max_age must be a whole number of at least 0, got 17.5"),
    ("matching.county_population=12345.5", "matching.county_population must be a whole number of at least 0, got 12345.5"),
    ("run.suppress_days=90.5", "run.suppress_days must be a whole number of at least 0, got 90.5"),
])
def test_a_fraction_where_a_whole_age_count_or_number_of_days_is_read_is_refused(setting, says, tmp_path):
    """Each was taken, exit 0: ages are read in whole years (max_age 17.5 warned to 17, min_age
    60.5 from 61), people and days are counted whole (suppress_days 90.5 was 90). In a copy too;
    whole ones, and 60.0, are taken."""
    with pytest.raises(ValueError, match=re.escape(says)):
        load_config(None, [setting])
    text = DEFAULT_CONFIG.read_text(encoding="utf-8").replace("min_age = 16\nmax_age = 60", "min_age = 16\nmax_age = 17.5", 1)
    with pytest.raises(ValueError, match=re.escape("rules.C1.max_age must be a whole number of at least 0, got 17.5")):
        load_config(_copy(tmp_path, text))
    cfg = load_config(None, ["C1.min_age=18", "R1.max_age=60.0", "matching.county_population=12345", "run.suppress_days=30"])
    assert (cfg.rules["C1"]["min_age"], cfg.rules["R1"]["max_age"], cfg.run.suppress_days) == (18, 60.0, 30)


def test_a_copy_dispatching_a_risk_type_typed_with_a_space_is_refused(tmp_path):
    """`"因病 " = "医保"` in a copy: 因病's verified warnings went to 乡村振兴局, exit 0."""
    text = DEFAULT_CONFIG.read_text(encoding="utf-8").replace('"因病" = "医保"', '"因病 " = "医保"', 1)
    with pytest.raises(ValueError, match=re.escape("dispatch.'因病 ': no rule gives this risk type")):
        load_config(_copy(tmp_path, text))


@pytest.mark.parametrize("setting, says", [
    ("kinds.grid.record_id=householdid", "kinds.grid.record_id: ['householdid'] are not fields of kinds.grid.fields"),
    ('kinds.grid.required=["grid_id", "household_id", "网格员"]', "kinds.grid.required: ['网格员'] are not fields"),
    ('kinds.roster.blank_unreadable=["phon"]', "kinds.roster.blank_unreadable: ['phon'] are not fields"),
    ("kinds.roster.fields.person_id=[]", "kinds.roster.fields.person_id: a required field needs a header"),
    ('matching.prior_groups={assistance_py="医疗救助"}', "matching.prior_groups: ['assistance_py'] are not fields"),
    ('matching.place_hint_fields=["facilty"]', "matching.place_hint_fields: ['facilty'] are not fields"),
    ('inbox.planned_date_fields=["resolved"]', "inbox.planned_date_fields: ['resolved'] are not fields"),
    ('kinds.grid.fields={grid_id=["网格编号"], household_id=["户编号"], grid_worker=["网格员"], grid_wroker=["x"]}',
     "kinds.grid.fields.grid_wroker: not a field of grid (grid_id, township"),
])
def test_a_kind_naming_a_field_it_has_not_is_refused_naming_it(setting, says):
    """A record_id or required field that is no field of the kind's was taken and failed the run
    after every file was read (ColumnNotFoundError, KeyError: exit 1); a blank_unreadable field or
    a field mistyped was taken and did nothing (bad 联系电话 still set their persons aside); so was
    a setting naming records' columns mistyped (prior_groups' assistance_py: 医疗救助 records were
    no longer counted apart, and the sample county's review queue grew from 62 records to 70)."""
    with pytest.raises(ValueError, match=re.escape(says)):
        load_config(None, [setting])
    assert load_config(None, ["kinds.roster.fields.phone=[]"]).kinds["roster"].fields["phone"] == ()  # (not required)


def test_a_copy_made_before_review_answers_and_feedback_existed_reads_them_as_the_default(tmp_path):
    """A bureau's copy from before 复核/ (no [kinds.review_answer], no 复核 folder) or 反馈/ was
    taken, and the run failed on its first step, exit 1 'error: KeyError'. The kinds every run
    reads are the default's when a copy lacks them (folder included); its own settings stay, and
    a --set may name them."""
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    start, end = text.index("[kinds.feedback]"), text.index("# -----", text.index("[kinds.review_answer]"))
    text = (text[:start] + text[end:]).replace('"复核" = ["review"]\n', "").replace('"反馈" = ["feedback", "乡镇反馈"]\n', "")
    text = text.replace("threshold = 5000\n", "threshold = 6000\n", 1)
    assert "review_answer" not in text and '"复核" =' not in text
    cfg = load_config(_copy(tmp_path, text), ["kinds.review_answer.codes.verdict.对=是"])
    assert (cfg.kinds["review_answer"].folder, cfg.kinds["feedback"].folder) == ("复核", "反馈")
    assert cfg.departments == CFG.departments and cfg.reference_folders == CFG.reference_folders
    assert cfg.kinds["review_answer"].codes["verdict"]["对"] == "是" and cfg.rules["M1"]["threshold"] == 6000


def test_a_copy_without_dispatch_or_name_readings_takes_the_defaults(tmp_path):
    """Every setting a copy leaves out is the default's, but [dispatch] and matching.name_readings
    were none: every verified warning went to 乡村振兴局 and 曾 was no longer read zeng, exit 0.
    An empty table written so stays empty."""
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    no_dispatch = text[:text.index("[dispatch]")]
    start = text.index("\n[matching]\n")
    no_matching = text[:start] + text[text.index("\n[matching.places]", start):]
    for copy_ in (no_dispatch, no_matching):
        cfg = load_config(_copy(tmp_path, copy_))
        assert cfg.dispatch == CFG.dispatch and cfg.matching.name_readings == CFG.matching.name_readings
    assert load_config(None, ["dispatch={}"]).dispatch == {}


@pytest.mark.parametrize("edit, key, says", [
    (lambda t: t.replace("\nthreshold = 5000", '\nthreshold = "high"', 1), "threshold = ",
     "rules.M1.threshold must be a number, got 'high'"),
    (lambda t: t + '\n[rules.X1]\nimpl = "M9"\nkind = "med_settlement"\nrisk_type = "因病"\n', "[rules.X1]",
     "rules.X1: no rule of config/default.toml is called 'M9'"),
    (lambda t: t.replace('"农村低保" = "低保"', '"农村低保" = 5', 1), "category = {",
     "kinds.civil.codes.category"),
])
def test_a_value_refused_in_a_copy_names_the_file_and_the_line(edit, key, says, tmp_path):
    """`threshold = "high"` under [rules.M1] of an analyst's copy was refused naming the key alone:
    whether it was their file, a --set or default.toml, and where in 800 lines, was theirs to
    find. The file is named, with the line defining the key (a table refused: its header's; a
    key of an inline table: the line holding it)."""
    text = edit(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    path = _copy(tmp_path, text)
    line = next(n for n, s in enumerate(text.splitlines(), 1) if s.startswith(key) and (
        key != "threshold = " or "high" in s))
    with pytest.raises(ValueError, match=f"^{re.escape(f'{path}, line {line}: ')}.*{re.escape(says)}"):
        load_config(path)


def test_a_value_refused_from_a_set_names_that_set_not_the_file(tmp_path):
    """A refusal the `--set` made names that --set (KEY=VALUE as typed), not the file it was
    applied to, nor the other --set given; one that refuses a pair of values (high_threshold
    below threshold) names the --set that broke the pair. A value of the file a --set mends is
    not refused; one the file holds whatever the --set is named by the file's line."""
    path = _copy(tmp_path, DEFAULT_CONFIG.read_text(encoding="utf-8"))
    with pytest.raises(ValueError, match=re.escape("--set M1.threshold=high: rules.M1.threshold must be a number, "
                                                   "got 'high'")):
        load_config(path, ["M2.share_of_income=0.3", "M1.threshold=high"])
    with pytest.raises(ValueError, match="^--set M1.high_threshold=100: rules.M1.high_threshold must be at least"):
        load_config(None, ["M1.high_threshold=100"])
    with pytest.raises(ValueError, match="^--set M1.threshold=99999: rules.M1.high_threshold must be at least"):
        load_config(None, ["M1.high_threshold=20000", "M1.threshold=99999"])
    bad = _copy(tmp_path, DEFAULT_CONFIG.read_text(encoding="utf-8").replace("\nthreshold = 5000", '\nthreshold = "x"', 1))
    assert load_config(bad, ["M1.threshold=8000"]).rules["M1"]["threshold"] == 8000
    with pytest.raises(ValueError, match=f"^{re.escape(str(bad))}, line \\d+: rules.M1.threshold must be a number"):
        load_config(bad, ["M2.share_of_income=0.3"])


def test_the_year_sum_memory_is_asked_of_duckdb_once_per_value(monkeypatch):
    """Each time settings are made (the command, the flow, each period a cascade re-runs) the same
    amount is checked again: DuckDB is opened to ask only the first time, and a refused one is
    refused every time."""
    import duckdb

    opened = []
    real = duckdb.connect
    monkeypatch.setattr(duckdb, "connect", lambda *a, **k: opened.append(a) or real(*a, **k))
    for _ in range(3):
        assert load_config(None, ["run.year_sum_memory=1234MB"]).run.year_sum_memory == "1234MB"
        with pytest.raises(ValueError, match="run.year_sum_memory must be an amount of memory"):
            load_config(None, ["run.year_sum_memory=1,234MB"])
    assert len(opened) == 2


def test_a_death_explains_only_a_rule_about_persons_and_is_read_as_records_are():
    """M4 and R1 are explained by a person's death (民政 死亡注销), M1-M3 and the household rules
    not. A household rule told so is refused (one member's death does not explain a house or an
    income), and so is a 变动类型 no record is read as (死亡 knew no one dead, unseen)."""
    assert [n for n, rc in CFG.rules.items() if rc.explained_by_death] == ["M4", "R1"]
    assert CFG.run.death_change_types == ("死亡注销",)
    raw = copy.deepcopy(DEFAULT_RAW)
    raw["rules"]["M2"]["explained_by_death"] = True
    with pytest.raises(ValueError, match=r"rules\.M2\.explained_by_death: only a rule about persons"):
        build_config(raw, DEFAULT_RAW)
    with pytest.raises(ValueError, match=r"run\.death_change_types: \['死亡'\] are not among"):
        load_config(overrides=['run.death_change_types=["死亡"]'])
    assert not load_config(overrides=["R1.explained_by_death=false"]).rules["R1"].explained_by_death


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2,
                    reason="needs a machine of two cores or more with CPU affinity")
def test_a_process_given_one_core_sizes_its_threads_by_that_core_not_the_machine(tmp_path):
    """A county server's run started under `taskset -c 0` (or in a container given one core):
    its reading and writing threads, and the warehouse's DuckDB, number the cores it may use; a
    thread per machine core took turns on the one core (~30% more CPU a run; DuckDB's share ~13% in
    one measurement of single runs, not shown on two test files)."""
    import subprocess
    import sys

    code = ("import os, sys, pathlib; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
            "from config import usable_cpus; from adapters import warehouse; "
            "con = warehouse.connect(pathlib.Path(sys.argv[1])); "
            "print(usable_cpus(), os.cpu_count(), con.execute(\"SELECT current_setting('threads')\").fetchall()[0][0])")
    got = subprocess.run([sys.executable, "-c", code, str(tmp_path / "w.duckdb")], cwd=Path(__file__).resolve().parents[1],
                         capture_output=True, text=True, timeout=60)
    assert got.returncode == 0, got.stderr
    one, machine, duck = map(int, got.stdout.split())
    assert (one, machine > 1, duck) == (1, True, 1)
