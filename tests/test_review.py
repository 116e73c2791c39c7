import polars as pl

from matchers.review import review_queue


def test_review_queue_shows_candidates_side_by_side_without_revealing_ids():
    review = pl.DataFrame({
        "dept": ["医保", "医保"], "kind": ["med_settlement"] * 2, "record_id": ["JS1", "JS1"], "rank": [1, 2],
        "person_id": ["H1-01", "H2-01"], "household_id": ["H1", "H2"], "score": [0.48, 0.47],
        "reason": ["ID 10/18 agree; name 张*~张明", "ID 10/18 agree; name 张*~张敏"],
    })
    records = pl.DataFrame({
        "dept": ["医保"], "kind": ["med_settlement"], "record_id": ["JS1"], "name": ["张*"],
        "id_raw": ["341302********1234"], "township": [None], "village": [None],
    }, schema_overrides={"township": pl.Utf8, "village": pl.Utf8})
    roster = pl.DataFrame({
        "person_id": ["H1-01", "H2-01"], "name": ["张明", "张敏"],
        "id_number": ["341302199001011234", "341302198502021234"],
        "township": ["大店镇", "时村乡"], "village": ["韩湖村", "刘圩村"], "group": ["1组", "2组"],
    })
    q = review_queue(review, records, roster)
    assert q["候选人姓名"].to_list() == ["张明", "张敏"]
    assert q["候选人证件号码（按记录保留位）"].to_list() == ["341302********1234"] * 2
    assert q["乡（镇）"].to_list() == ["大店镇", "时村乡"]
    assert q["记录证件号码（脱敏）"].to_list() == ["341302********1234"] * 2
