"""The hardening suite: property-based fuzzing of the API and the CSV importer, and hand-written abuse cases.

CI runs a bounded, derandomized number of generated cases (about a minute for the folder). `FUZZ_FULL=1` runs
the full campaign, with new random cases each time: over 5,000 API cases (schemathesis' coverage phase added)
and 1,100 CSV files. The counts are printed at the end of the run:

    FUZZ_FULL=1 .venv/bin/pytest tests/hardening -q -p no:warnings
    FUZZ_FULL=1 DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/pytest tests/hardening -q   # as CI
"""

import os

FUZZ_FULL = os.environ.get("FUZZ_FULL", "") == "1"

# Generated cases per kind, printed at the end of the run (the full run must show its counts).
fuzz_counts: dict[str, int] = {"api_cases": 0, "csv_files": 0, "csv_rows": 0}


def pytest_terminal_summary(terminalreporter):
    if any(fuzz_counts.values()):
        terminalreporter.write_line(
            f"hardening: {fuzz_counts['api_cases']} API cases, {fuzz_counts['csv_files']} CSV files "
            f"({fuzz_counts['csv_rows']} rows) generated")
