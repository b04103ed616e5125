"""How fast seed_demo --reset loads demo data of a given size into the configured database.

    DATABASE_URL=postgres://... python -m bench.seed --leads 1000000 --activities 10000000

Progress goes to stderr; stdout gets the one JSON line.
"""

import argparse
import sys

from bench import emit, setup_django


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.seed", description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--activities", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    setup_django()
    from leads.demo import demo_seed

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    # The same service `manage.py seed_demo --reset` runs; called directly for its row counts.
    report = demo_seed(leads=args.leads, activities=args.activities, seed=args.seed, reset=True, progress=progress)
    emit(
        "seed",
        leads=report.leads,
        activities=report.activities,
        stage_changes=report.stage_changes,
        companies=report.companies,
        seconds=round(report.seconds, 1),
        leads_per_second=round(report.leads / report.seconds),
        activities_per_second=round(report.activities / report.seconds),
        phases={name: round(seconds, 1) for name, seconds in report.phases.items()},
        database=report.database,
    )


if __name__ == "__main__":
    main()
