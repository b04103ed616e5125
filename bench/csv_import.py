"""A CSV import end to end: a generated file of `--rows` rows through the import job, with its peak memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smk_ingest python -m bench.csv_import --rows 1000000

The file has HubSpot's headers (company name and domain among them: 50,000 companies) and the messy
traits of real exports (placeholders, Yes/No, US dates, a few rows without a valid e-mail, the same
e-mail twice). It is written to a temporary folder first (not timed), then uploaded and imported by the
same services the pages use: the rows split into IMPORT_PARTS parts (2 by default), each imported by its
own child process, as that many Celery worker processes run them, so that the peak memory (max RSS of a
child) is a part's own: flat, since the file is streamed. Ends with one JSON line.
"""

import argparse
import csv
import multiprocessing
import multiprocessing.connection
import os
import random
import resource
import tempfile
import time
import uuid

from bench import emit, setup_django

HEADER = ["Contact ID", "First Name", "Last Name", "Email", "Phone Number", "Job Title", "Lifecycle Stage",
          "Lead Status", "Create Date", "Lead Source", "Country", "Company Name", "Associated Company Domain",
          "Marketing Opt Out"]


def write_file(path: str, rows: int, run: str) -> int:
    rng = random.Random(run)
    invalid = 0
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for n in range(rows):
            email = f"c{n}.{run}@co{n % 50_000}-{run}.example"
            if n % 1000 == 999:
                email, invalid = "not-an-address", invalid + 1
            elif n % 500 == 499:
                email = f"c{n - 1}.{run}@co{(n - 1) % 50_000}-{run}.example".upper()  # the same person again
            writer.writerow([
                f"CONT-{n}", f"First{n}", "Bench", email, f"+1 555 {n % 10_000:04d}",
                rng.choice(["CTO", "Head of IT", "N/A", "Marketing Manager", ""]),
                rng.choice(["Lead", "Subscriber", "Other"]), rng.choice(["", "Open", "In Progress", "Select"]),
                f"{rng.randrange(1, 13):02d}/{rng.randrange(1, 29):02d}/2{rng.randrange(3, 6)}",
                rng.choice(["Organic Search", "Direct Traffic", "Paid Social", "-"]),
                rng.choice(["Germany", "US", "France", "null", "United Kingdom"]),
                f"Company {n % 50_000} {run}", f"co{n % 50_000}-{run}.example", rng.choice(["Yes", "No", "FALSE", ""]),
            ])
            if n and n % 250_000 == 0:
                print(f"  written {n:,} rows", flush=True)
    return invalid


def import_part_in_child(import_id: int, part: int) -> None:
    """One worker: imports one part of the file, as a Celery worker process runs import_leads_task. The parent
    closed its connection before forking: this process opens its own."""
    from leads.import_services import lead_import_run

    lead_import_run(import_id=import_id, part=part)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    setup_django()
    from django.core.files import File
    from django.db import connection

    from leads.import_services import lead_import_create, lead_import_start
    from leads.models import LeadImport
    from smarketing.models import User
    from smarketing.roles import Role

    actor = User.objects.filter(email="bench-marketer@smarketing.test").first() or User.objects.create_user(
        "bench-marketer@smarketing.test", role=Role.MARKETER)

    run = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "contacts.csv")
        print(f"writing {args.rows:,} rows …", flush=True)
        invalid = write_file(path, args.rows, run)
        size_mb = os.path.getsize(path) / 1e6
        print(f"importing {size_mb:.0f} MB on {connection.vendor} …", flush=True)
        started = time.perf_counter()
        with open(path, "rb") as raw:
            lead_import = lead_import_create(actor=actor, upload=File(raw, name="bench-contacts.csv"))
        lead_import = lead_import_start(actor=actor, lead_import=lead_import, mapping=lead_import.mapping,
                                        existing="update")
        connection.close()
        context = multiprocessing.get_context("fork")
        children = [context.Process(target=import_part_in_child, args=(lead_import.pk, part))
                    for part in range(lead_import.parts)]
        for child in children:
            child.start()
        while running := [child.sentinel for child in children if child.is_alive()]:
            multiprocessing.connection.wait(running, timeout=5)
            row = LeadImport.objects.filter(pk=lead_import.pk).values("rows_done", "status").first()
            print(f"  {row['status']}: {row['rows_done']:,} rows after {time.perf_counter() - started:.0f} s",
                  flush=True)
        seconds = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    lead_import = LeadImport.objects.get(pk=lead_import.pk)
    assert lead_import.status == LeadImport.Status.DONE, lead_import.error
    emit("csv_import", rows=args.rows, parts=lead_import.parts, database=connection.vendor, file_mb=round(size_mb),
         seconds=round(seconds, 1), per_second=round(args.rows / seconds), peak_rss_mb=round(peak_mb), created=lead_import.created_count,
         updated=lead_import.updated_count, rejected=lead_import.rejected_count, invalid_in_file=invalid)


if __name__ == "__main__":
    main()
