"""The spec's load-time checks of datetime patterns and time zones agree with Spark.

Every pattern and zone here is handed to Spark itself; the spec must refuse exactly
those Spark refuses (it also refuses patterns without any date or time letter, which
Spark takes but which can never yield a timestamp).
"""
from __future__ import annotations

import pytest

from export_spec import SpecError, _check_datetime_pattern, _check_timezone

PATTERNS = [
    "yyyy-MM-dd HH:mm", "YYYY-MM-dd HH:mm", "epoch_second", "epoch_milis", "dd/MM/yyyy", "yyyy-MM-dd'T'HH:mm:ss",
    "yyyy-MM-dd'T", "yyyy[-MM]", "yyyy-MM]", "yyyy-MM-dd HH:mm:ss.SSSSSSSSS", "yyyy-MM-dd HH:mm:ss.SSSSSSSSSS",
    "EEE, dd MMM yyyy", "h:mm a dd.MM.yy", "yyyy-MM-dd VV", "yyyy-MM-dd V", "yyyy-MM-dd OO", "yyyy-MM-dd zzzzz",
    "yyyy-ww", "yyyy-MM-dd uu", "dd MMMMM yyyy", "yyyyyy-MM", "yyyyyyy-MM", "ddd-MM-yyyy", "yyyy-MM-dd #", "yyyy {MM}",
    "yyyy-MM-dd HH:mm:ss XXXXXX", "yyyy-MM-dd HH:mm:ss xxxxx", "yyyy-DDD", "yyyy-DDDD", "yyyy-MM-dd G", "yyyy-MM-dd GGGGG",
    "yyyy-MM-dd kk:mm", "yyyy-MM-dd KKK", "yyyy-MM-dd HH:mm aa", "yyyy-MM-dd''HH", "yyyy-MM-ddTHH", "yyyy-MM-dd Q",
    "yyyy-MM-dd HH:mm:ss.S", "yyyy-MM-dd b", "yyyy-LLL-dd", "yyyy-MM-dd vvvv", "yyyy-MM-dd vv", "yyyy-MM-dd[[HH]]",
]
ZONES = [
    "UTC", "Z", "Mars/Olympus", "Europe/Berlin", "europe/berlin", "utc", "+05:00", "+5:00", "+05", "+0530", "+530",
    "-05:30", "UTC+01:00", "UTC+1", "GMT+1", "UT+01:00", "+19:00", "+18:00", "+18:01", "EST", "PST", "CET", "US/Pacific",
    "Etc/GMT+5", "GMT", "+05:30:15", "+053015", "UTC+5:30", "America/New_York ", "+5", "-5", "+05:60", "Asia/Kolkata",
]


def _spark_refuses(spark, expression) -> bool:
    try:
        spark.sql("SELECT %s" % expression).collect()  # one constant row: no job
        return False
    except Exception:  # Spark's analysis or execution error
        return True


def _spec_refuses(check, value) -> bool:
    try:
        check(value, "p")
        return False
    except SpecError:
        return True


def _has_date_or_time_letter(pattern: str) -> bool:
    outside_quotes = pattern.split("'")[::2]
    return any(letter in part for part in outside_quotes for letter in "yMLdDHhKkmsS")


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_spec_refuses_the_datetime_patterns_spark_refuses(spark, pattern):
    spark.conf.set("spark.sql.legacy.timeParserPolicy", "CORRECTED")  # as the export runs
    quoted = pattern.replace("\\", "\\\\").replace("'", "\\'")
    spark_refuses = _spark_refuses(spark, "to_timestamp('2024-01-02 03:04', '%s')" % quoted)
    expected = spark_refuses or not _has_date_or_time_letter(pattern)
    assert _spec_refuses(_check_datetime_pattern, pattern) == expected


@pytest.mark.parametrize("zone", ZONES)
def test_the_spec_refuses_the_time_zones_spark_refuses(spark, zone):
    spark_refuses = _spark_refuses(spark, "to_utc_timestamp(timestamp'2024-01-02 03:04:00', '%s')" % zone)
    assert _spec_refuses(_check_timezone, zone) == spark_refuses
