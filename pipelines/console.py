"""What the console says of a run, as lines of text: the summary after each monthly run, the
review queue's line, the data-quality findings an operator must see, and a stored run's settings
in words. Pure: plain values and frames in, strings out (printed by `cli` and by the cascade
`flows.rerun_later_periods`)."""

from __future__ import annotations

import json
from collections.abc import Collection

import polars as pl

from pipelines.township import mask_full_ids
from schemas.outputs import Finding


def describe_settings(run: dict) -> str:
    """A stored run's settings in words: `--config PATH --set K=V ...`, `default settings`, or
    `not recorded` (a run stored before runs kept them)."""
    if run.get("overrides") is None:
        return "settings not recorded"
    said = ([f"--config {run['config_path']}"] if run.get("config_path") else []) + [
        f"--set {o}" for o in run["overrides"]]
    return " ".join(said) or "default settings"


def calendar_facts(then, now) -> list[str]:
    """`--set` values giving a period run with `then` (its `RunConfig`) the holiday schedule
    `now` knows as well (`[run] holidays` / `workdays`; a day `now` says otherwise of moves):
    [] when `then` knows it all already."""
    holidays = sorted((set(then.holidays) - set(now.workdays)) | set(now.holidays))
    workdays = sorted((set(then.workdays) - set(now.holidays)) | set(now.workdays))
    if (holidays, workdays) == (sorted(then.holidays), sorted(then.workdays)):
        return []
    return [f"run.holidays={json.dumps(holidays)}", f"run.workdays={json.dumps(workdays)}"]


def attention_lines(quality: pl.DataFrame, reference_folders: Collection[str], ids: pl.Series | None = None) -> list[str]:
    """The data-quality findings an operator must see on the console, not only in
    数据质量报告.csv: the grid missing (a department missing is said on its accounting line:
    `summary_lines`), files and folders set aside whole (with
    their reason), records a later file delivered again with other content (naming the file
    whose delivery is used), rules held back (`Finding.ATTENTION`), and the rows set aside of
    the roster and the grid (`reference_folders`: persons no record can be linked to, households
    whose grid worker the list will not name) and the roster's IDs failing their check, one line
    per file and reason with its count of rows. A 户编号 that is an ID number (named by findings
    about households; `ids`: the roster's 证件号码) is masked as the lists mask it: a console is
    logged and read over shoulders."""
    keep = quality.filter(pl.col("category").is_in(list(Finding.ATTENTION))
                          | (pl.col("category").is_in([Finding.ROWS_SET_ASIDE, Finding.CHECK_FAILS])
                             & pl.col("dept").is_in(list(reference_folders))))
    keep = mask_full_ids(keep, ["file", "detail"], ids)
    return [" ".join(x for x in (r["category"].split(" ")[0], r["dept"], r["file"], r["detail"]) if x)
            + (f"（{r['count']} 行 rows）" if r["count"] > 1 else "")
            for r in keep.iter_rows(named=True)]


def queue_counts(ages: list[dict], period: str) -> tuple[int, dict[str, int]]:
    """The review queue's records new this period, and those waiting since an earlier one per
    period first sent to review (`ages`: `matchers.review.queue_ages` rows, dept, first_queued,
    records)."""
    by_first: dict[str, int] = {}
    for a in ages:
        by_first[a["first_queued"]] = by_first.get(a["first_queued"], 0) + a["records"]
    return by_first.pop(period, 0), by_first


def queue_line(ages: list[dict], period: str) -> str:
    """The console's line on the review queue (`queue_counts`): its records, how many are new
    this period and how many have waited since an earlier one, by the period they were first
    sent to review; "" for an empty queue."""
    if not ages:
        return ""
    new, by_first = queue_counts(ages, period)
    waiting = sum(by_first.values())
    since = ", ".join(f"{p}: {n}" for p, n in sorted(by_first.items()))
    return (f"人工复核队列 review queue: {new + waiting} records = {new} new this period (首次列入复核 {period}) + "
            f"{waiting} waiting since an earlier period{f' ({since})' if since else ''}")


def delivery_words(state: tuple[str, str]) -> str:
    """A department's `accounting.delivery_states` words on the console: what it did, and that its
    rules did not run."""
    zh, en = state
    return f"{zh}，其规则未运行 {en}; its rules did not run"


def summary_lines(result: dict) -> list[str]:
    """The console's summary of a monthly run (`flows.monthly_run`'s result): accounting,
    warnings, answers taken, the review queue, the lists and what needs attention."""
    out: list[str] = []
    if result.get("departments"):
        out.append(f"部分重跑 partial run: re-read {', '.join(result['departments'])}; the other departments' "
              "results of this period were kept as they were")
    out.append("行数核对 accounting: rows read = copies + superseded + matched + review + unmatched + rejected")
    # (a department without a usable row says what it did, as the county report does:
    # `accounting.delivery_states`; its row of zeros told none of it)
    states = result.get("delivery") or {}
    for r in result["accounting"]:
        out.append(f"  {r['dept']}: {r['rows_read']} = {r.get('copies') or 0} + {r['superseded']} + {r['matched']} + {r['review']} + "
              f"{r['unmatched']} + {r['rejected']}  {'OK' if r['balanced'] else 'MISMATCH'}"
              + (f"  {delivery_words(states[r['dept']])}" if r["dept"] in states else ""))
    shown = {r["dept"] for r in result["accounting"]}
    out.extend(f"  {dept}: {delivery_words(state)}" for dept, state in states.items() if dept not in shown)
    # (a partial run counts the repeats its re-read departments' rules suppressed: the kept ones' are not stored)
    scope = f" in the re-read {', '.join(result['departments'])}" if result.get("departments") else ""
    out.append(f"预警 warnings issued: {result['warnings']} (repeats suppressed{scope}: {result['suppressed']})")
    fb = result["feedback"]
    if fb["returned"]:
        out.append(f"反馈 feedback rows: {fb['returned']} = accepted {fb['accepted']}"
              + (f" ({fb['without_result']} of them without 核实结果: they verify nothing, the next lists ask for it)"
                 if fb.get("without_result") else "")
              # (核实进度 counts them 待核实: the county's numbers would read as answers lost)
              + (f" ({fb['reopened']} of them answer warnings a re-run added a rule to since their row went out: "
                 f"they verify the rules it showed (a 属实 goes to 派单 for them), the warnings stay open for the others, "
                 f"核实进度 重新下发未核实)"
                 if fb.get("reopened") else "")
              + f" + unanswered {fb['unanswered']} + set aside {fb['set_aside']}")
    ra = result["review_answers"]
    renamed = ra.get("renamed", 0)  # (rows of tables whose reason asks whether a column was renamed)
    if ra["files"] or ra["confirmed"] or ra["excluded"] or ra["held"] or ra["pending"] or ra["withdrawn"]:
        out.append(f"复核 review answers: {ra['returned']} = used {ra['accepted']} + blank {ra['blank']} + set aside "
              f"{ra['set_aside']}; {'in the departments re-read, ' if result.get('departments') else ''}"
              f"records linked by answers {ra['confirmed']}, with candidates ruled out {ra['excluded']}"
              + (f"; {ra['pending']} wait for a run that re-reads their department" if ra["pending"] else "")
              + (f"; {ra['withdrawn']} records' answers no longer in 复核/ still shape their department's kept links "
                 f"until a run re-reads it" if ra["withdrawn"] else "")
              + (f"; {ra['gone']} answered 是 for persons no longer on the roster, not applied" if ra["gone"] else "")
              + (f"; {ra['misfiled'] - renamed} rows of tables in 复核/ that hold no answers set aside"
                 if ra["misfiled"] - renamed else "")
              + (f"; {renamed} rows of tables in 复核/ with a column renamed set aside (搁置行及原因.csv asks which)"
                 if renamed else "")
              + (f"; {ra['held']} answered 是 not taken (数据质量报告.csv)" if ra["held"] else ""))
    if line := queue_line(result.get("review_queue") or [], result["period"]):
        out.append(line)
    out.append(f"乡镇清单 township lists: {len(result['townships'])} townships, 下发日期 issued {result['issue_date']}"
          f"{' (kept from the period’s earlier run; --issue-date to change it)' if result.get('issue_date_kept') else ''}"
          f", 核实截止 deadline {result['deadline']}")
    if result.get("sent_now"):
        out.append(f"  {result['sent_now']} warnings the period's lists did not hold before go out now: 下发日期 "
              f"{result['sent_on']}, their own deadline")
    if result.get("sent_again"):  # (held before: said apart from those the lists never had)
        out.append(f"  {result['sent_again']} warnings sent again: the re-run added a rule their row did not show "
              f"(after their township answered it, or before): 下发日期 {result['sent_on']}, their own deadline")
    if result.get("rule_dropped"):  # (their rows keep their dates: only the 状态 note tells the township)
        out.append(f"  {result['rule_dropped']} warnings the re-run took a rule off before any answer: same 下发日期, "
                   f"状态 says which rule is no longer warned (重新运行后不再预警…)")
    if result.get("withdrawn"):
        out.append(f"撤回 withdrawn: {result['withdrawn']} warnings of the lists sent before are no longer warned "
              f"({result['withdrawn_all']} warnings 撤回 in all; answers to them kept; a warning a township found 属实 "
              f"stays dispatched)")
    if result.get("settings_before"):
        # (how this run is set too: a --set left out of a --dept run shows as such)
        now = f"this run with {result['settings_now']}" if result.get("settings_now") else "this run's settings differ"
        out.append(f"note: {result['period']} was last run with {result['settings_before']}; {now} "
              "(later periods re-run keep their own)")
    if result.get("attention"):
        out.append("请注意 attention (数据质量报告.csv):")
        for line in result["attention"]:
            out.append(f"  {line}")
    if result.get("dry_run"):
        out.append("试运行 dry run: nothing was written. A real run would write:")
        for line in result["would_write"]:
            out.append(f"  {line}")
        return out
    out.append(f"输出 outputs: {result['out']}/townships/  (county files: {result['out']}/county/)")
    return out
