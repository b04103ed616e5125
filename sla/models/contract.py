"""The SLA contract: versions, business calendars, breaches and shared goals."""

__all__: list[str] = []
