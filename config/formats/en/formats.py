"""The admin's date and time formats (settings.FORMAT_MODULE_PATH): day month year, 24-hour time, and
the time zone's abbreviation (settings.TIME_ZONE, from DJANGO_TIME_ZONE) after every time."""
DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i T"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
TIME_FORMAT = "H:i T"
