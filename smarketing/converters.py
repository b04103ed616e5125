"""The `<id:...>` path converter: a row id as the database can hold it.

Django's `<int:...>` takes any number of digits, and a 30-digit id overflows the database's 64-bit integer
(a 500 on SQLite and PostgreSQL alike); an id that cannot exist is simply not found (404).
"""

from django.urls import register_converter

# Ids up to 18 digits: every value fits a 64-bit signed integer (max 9,223,372,036,854,775,807).
ROW_ID_MAX = 10**18 - 1


class RowIdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(RowIdConverter, "id")
