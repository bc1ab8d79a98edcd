"""Given/expect cases for CM-13 scheduling (§2 Schedule): maintenance windows, peak hours, notice,
time zones, DST and windows crossing midnight."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from flows.config import Config, ConfigError, load_config
from tests.controls.harness import Org
from tests.controls.test_evidence_quality import EVALUATED, GITHUB, SERVICENOW, _run

UTC = timezone.utc


def schedule(**knobs) -> Config:
    return Config.model_validate({"policy": {"schedule": knobs}})


def at(org: Org, when: datetime, ticket: str, ticket_type: str = "normal", risk: str = "3", repo: str | None = None) -> dict:
    return org.change(repo=repo or f"acme/{ticket.lower()}", at=when, ticket=ticket, ticket_type=ticket_type, risk=risk)


def test_default_policy_fails_peak_hours_and_passes_evenings_and_weekends():
    org = Org()
    peak = at(org, datetime(2026, 8, 4, 14, 0, tzinfo=UTC), "CHG0000001")              # Tue 14:00
    evening = at(org, datetime(2026, 8, 4, 19, 30, tzinfo=UTC), "CHG0000002")         # Tue 19:30
    weekend = at(org, datetime(2026, 8, 8, 11, 0, tzinfo=UTC), "CHG0000003", risk="2")  # Sat, Major
    edge = at(org, datetime(2026, 8, 4, 17, 0, tzinfo=UTC), "CHG0000004")             # end is exclusive
    got = org.evaluate("CM-13")
    assert got[peak["change_id"]] == ("fail", "deployed Tue 2026-08-04 14:00 UTC in peak hours (Mon-Fri 09:00-17:00)")
    assert got[evening["change_id"]] == ("pass", "deployed Tue 2026-08-04 19:30 UTC within the schedule, 48.0 h notice")
    assert got[weekend["change_id"]][0] == "pass"
    assert got[edge["change_id"]][0] == "pass"


def test_not_applicable_for_standard_emergency_unknown_no_ticket_and_rollback():
    org = Org()
    when = datetime(2026, 8, 4, 14, 0, tzinfo=UTC)   # in peak hours: would fail if it applied
    standard = at(org, when, "CHG0000001", ticket_type="standard")
    emergency = at(org, when, "CHG0000002", ticket_type="emergency")
    unknown = at(org, when, "CHG0000003", ticket_type="expedited")
    none = org.change(repo="acme/none", at=when, ticket=None)
    normal = at(org, when, "CHG0000004", repo="acme/r")
    rollback = org.deploy("acme/r", f"b{normal['pr']:039d}", when + timedelta(hours=1), task="deploy:rollback",
                          description="rollback CHG0000004")
    got = org.evaluate("CM-13")
    assert got[standard["change_id"]] == ("not_applicable", "Standard change: §2 scheduling applies to Normal and Major")
    assert got[emergency["change_id"]][0] == "not_applicable"
    assert got[unknown["change_id"]] == ("not_applicable", "ticket CHG0000003 has no recognizable category (see CM-10)")
    assert got[none["change_id"]] == ("not_applicable", "no change ticket (see CM-01)")
    assert got[f"acme/r@{rollback}"] == ("not_applicable", "rollback to a previously deployed commit (see CM-17)")


def test_notice_shorter_than_24_hours_or_unknown_fails():
    org = Org()
    when = datetime(2026, 8, 4, 20, 0, tzinfo=UTC)
    short = at(org, when, "CHG0000001")
    exact = at(org, when, "CHG0000002")
    unknown = at(org, when, "CHG0000003")
    org.find("stg_servicenow__change_requests", number="CHG0000001")["created_at"] = when - timedelta(hours=23, minutes=30)
    org.find("stg_servicenow__change_requests", number="CHG0000002")["created_at"] = when - timedelta(hours=24)
    org.find("stg_servicenow__change_requests", number="CHG0000003")["created_at"] = None
    got = org.evaluate("CM-13")
    assert got[short["change_id"]] == ("fail", "deployed Tue 2026-08-04 20:00 UTC stakeholders notified 23.5 h ahead "
                                               "(ticket CHG0000001 created 2026-08-03 20:30 UTC), less than 24 h")
    assert got[exact["change_id"]][0] == "pass"
    assert got[unknown["change_id"]] == ("fail", "deployed Tue 2026-08-04 20:00 UTC notice unknown: "
                                                 "ticket CHG0000003 has no creation time")
    assert org.evaluate("CM-13", config=schedule(notice_hours=0))[short["change_id"]][0] == "pass"


def test_window_crossing_midnight_in_a_time_zone():
    # Tue,Thu 22:00-02:00 Berlin (UTC+2 in summer): Tue 20:00 UTC .. Wed 00:00 UTC, Thu likewise
    cfg = schedule(time_zone="Europe/Berlin", maintenance_windows=["Tue,Thu 22:00-02:00"], peak_hours=[])
    org = Org()
    start = at(org, datetime(2026, 8, 4, 20, 0, tzinfo=UTC), "CHG0000001")        # Tue 22:00 local
    after_midnight = at(org, datetime(2026, 8, 4, 23, 30, tzinfo=UTC), "CHG0000002")  # Wed 01:30 local
    end = at(org, datetime(2026, 8, 5, 0, 0, tzinfo=UTC), "CHG0000003")           # Wed 02:00 local: closed
    wednesday = at(org, datetime(2026, 8, 5, 20, 30, tzinfo=UTC), "CHG0000004")   # Wed 22:30 local
    utc_evening = at(org, datetime(2026, 8, 4, 19, 30, tzinfo=UTC), "CHG0000005")  # Tue 21:30 local
    got = org.evaluate("CM-13", config=cfg)
    assert got[start["change_id"]] == ("pass", "deployed Tue 2026-08-04 22:00 Europe/Berlin within the schedule, 48.0 h notice")
    assert got[after_midnight["change_id"]][0] == "pass"
    assert got[end["change_id"]] == ("fail", "deployed Wed 2026-08-05 02:00 Europe/Berlin outside the maintenance "
                                             "windows (Tue,Thu 22:00-02:00)")
    assert got[wednesday["change_id"]][0] == "fail"
    assert got[utc_evening["change_id"]][0] == "fail"


def test_peak_hours_follow_daylight_saving_time():
    # America/Santiago moves from UTC-4 to UTC-3 on Sun 6 Sep 2026: 12:30 UTC is 08:30 on Friday
    # the 4th (before peak) but 09:30 on Monday the 7th (peak).
    cfg = schedule(time_zone="America/Santiago", peak_hours=["Mon-Fri 09:00-17:00"])
    org = Org()
    before = at(org, datetime(2026, 9, 4, 12, 30, tzinfo=UTC), "CHG0000001")
    after = at(org, datetime(2026, 9, 7, 12, 30, tzinfo=UTC), "CHG0000002")
    got = org.evaluate("CM-13", config=cfg)
    assert got[before["change_id"]] == ("pass", "deployed Fri 2026-09-04 08:30 America/Santiago within the schedule, 48.0 h notice")
    assert got[after["change_id"]] == ("fail", "deployed Mon 2026-09-07 09:30 America/Santiago in peak hours (Mon-Fri 09:00-17:00)")


def test_window_and_peak_both_reported():
    cfg = schedule(maintenance_windows=["Sat-Sun 00:00-24:00"], peak_hours=["Mon-Fri 09:00-17:00", "Tue 13:00-15:00"])
    org = Org()
    change = at(org, datetime(2026, 8, 4, 14, 0, tzinfo=UTC), "CHG0000001")
    status, reason = org.evaluate("CM-13", config=cfg)[change["change_id"]]
    assert status == "fail"
    assert reason == ("deployed Tue 2026-08-04 14:00 UTC outside the maintenance windows (Sat-Sun 00:00-24:00); "
                      "in peak hours (Mon-Fri 09:00-17:00; Tue 13:00-15:00)")


def test_stale_ticket_source_turns_a_pass_into_an_error():
    org = Org()
    ok = at(org, datetime(2026, 8, 4, 20, 0, tzinfo=UTC), "CHG0000001")
    org.manifests += [dict(system="github", finished_at=EVALUATED - timedelta(hours=1)),
                      dict(system="servicenow", finished_at=EVALUATED - timedelta(days=3))]
    cfg = Config.model_validate({"sources": {"github": GITHUB, "servicenow": SERVICENOW}})
    status, reason = _run(org, cfg, ("CM-13", "EV-01"))[("CM-13", ok["change_id"])]
    assert status == "error" and reason.startswith("evidence stale: servicenow last extracted")


@pytest.mark.parametrize("knob, message", [
    ('peak_hours = ["Mon-Fry 09:00-17:00"]', "policy.schedule.peak_hours"),
    ('maintenance_windows = ["Tue 22:00"]', "policy.schedule.maintenance_windows"),
    ('maintenance_windows = ["Tue 22:00-22:00"]', "start and end are the same time"),
    ('peak_hours = ["Mon 09:00-25:00"]', "not a time of day"),
    ('time_zone = "Mars/Olympus"', "policy.schedule.time_zone"),
])
def test_invalid_schedule_is_an_error_naming_the_key(tmp_path, knob, message):
    path = tmp_path / "changetrail.toml"
    path.write_text(f"[policy.schedule]\n{knob}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path)
