#!/usr/bin/env python3
"""Expected SLA report and budget figures for the timeslice SLOs of TestTimesliceSLOs, worked
outside nines. Run it to rewrite timeslices.json:  python3 timeslices.py > timeslices.json

Data (UTC): in November 2026, minutes 03 Nov 10:00-10:09 have 1000 of 1000 requests good (good
slices) and minutes 03 Nov 11:00-11:09 have 900 of 1000 good (bad slices: a slice is good at
99%). Every other minute of the month has no data. Three SLOs read it with 1-minute slices,
objective 99.9%, SLA 99.5%, differing only in how a slice without data counts: good (the
default), bad, or skipped.

Allowed downtime per average month and year follows uptime.is: a year of 365.2425 days and a
month of a twelfth of it.

One rule drives the budget, the gate and the report: the budget (1 - objective, or 1 - SLA) is a
share of the slices counted. Slices without data that count (good or bad) make every slice of
the period counted, so time is budgeted over the whole period; skipped ones are never counted,
so the budget is a share of the slices with data. The SLA is met while the bad slices fit that
allowance, and the allowed downtime is the allowance's slices.
"""
import json
from datetime import datetime, timezone

MIN = 60
month_slices = 30 * 24 * 60                      # November: 43,200 one-minute slices
good_data, bad_data = 10, 10
sla, objective = 0.995, 0.999
avg_year = 365.2425 * 86400
avg_month = avg_year / 12


def hms(seconds):
    """Go's time.Duration String of a whole number of seconds."""
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    out = ""
    if h:
        out += f"{h}h"
    if h or m:
        out += f"{m}m"
    return out + f"{sec}s"


def report(slices, bad, counted_slices):
    """slices: the slices so far; counted_slices: the slices the allowance is a share of."""
    allowed = (1 - sla) * counted_slices
    return {
        "achieved": 1 - bad / slices if slices else 1,
        "downtime": hms(bad * MIN),
        "allowed_downtime": hms(allowed * MIN),
        "allowed_downtime_month": hms((1 - sla) * avg_month),
        "allowed_downtime_year": hms((1 - sla) * avg_year),
        "met": bad <= allowed,
    }


out = {}
# The month report, read once November is over (on 1 December at 00:59:30).
out["month"] = {
    "good": report(month_slices, bad_data, month_slices),
    "bad": report(month_slices, month_slices - good_data, month_slices),
    "skip": report(good_data + bad_data, bad_data, good_data + bad_data),
}
# The year 2026 so far, read on 1 December at 00:59:30: its slices up to 01:00 (the minute in
# progress counts), 334 days and an hour of them.
elapsed = int((datetime(2026, 12, 1, 1, tzinfo=timezone.utc) - datetime(2026, 1, 1, tzinfo=timezone.utc)).total_seconds() // 60)
year_slices = 365 * 1440
out["year"] = {
    "good": report(elapsed, bad_data, year_slices),
    "bad": report(elapsed, elapsed - good_data, year_slices),
    "skip": report(good_data + bad_data, bad_data, good_data + bad_data),
}
# The budget and SLI on 30 November at 11:59:30: the month's slices up to 12:00, 42,480 of them;
# the budget is time, objective 99.9% of the whole month's 43,200 slices (43.2 bad ones), or with
# slices without data skipped 99.9% of the 20 slices with data (0.02 of a bad one).
so_far = 29 * 1440 + 720
out["budget"] = {
    "good": {"sli": 1 - bad_data / so_far, "remaining": 1 - bad_data / ((1 - objective) * month_slices)},
    "bad": {"sli": good_data / so_far, "remaining": 1 - (so_far - good_data) / ((1 - objective) * month_slices)},
    "skip": {"sli": good_data / (good_data + bad_data), "remaining": 1 - bad_data / ((1 - objective) * (good_data + bad_data))},
}
print(json.dumps(out, indent=2, sort_keys=True))
