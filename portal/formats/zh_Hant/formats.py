"""Dates as the portal writes them in Traditional Chinese: 2025-03-01 09:30 (FORMAT_MODULE_PATH).
The announcement board keeps seed 000's own form (announcements/templatetags)."""

DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "m-d"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
