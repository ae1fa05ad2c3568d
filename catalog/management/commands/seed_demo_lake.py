"""``python manage.py seed_demo_lake``: fill the configured AWS endpoint with the demo lake."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.demo_lake import plan_lake, seed_lake


class Command(BaseCommand):
    help = ("Create (or update) the demo lake in Glue and S3 at the configured AWS endpoint: databases per hub "
            "and layer, tables with columns, partitions and sample files, and Athena views in the semantic layer.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--databases", type=int, default=12,
                            help="Number of databases: three layers per hub (default 12 = 4 hubs).")
        parser.add_argument("--tables-per-database", type=int, default=None,
                            help="Exactly this many tables per database (cut short, or padded with generated "
                                 "variants). Default: every model where it belongs (~260 tables).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed; the same seed gives the same lake.")
        parser.add_argument("--no-iceberg", dest="iceberg", action="store_false",
                            help="Skip the Apache Iceberg tables (written with pyiceberg into S3 and Glue).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.AWS_ENDPOINT_URL:
            self.stdout.write(self.style.WARNING("AWS_ENDPOINT_URL is unset: seeding the demo lake into REAL AWS "
                                                 f"(bucket {settings.LAKE_BUCKET}, region "
                                                 f"{settings.AWS_DEFAULT_REGION})."))
        try:
            plan = plan_lake(options["databases"], options["tables_per_database"], options["seed"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        verbose = options["verbosity"] > 1
        try:
            report = seed_lake(plan, seed=options["seed"], log=self.stdout.write if verbose else None)
        except Exception as exc:  # botocore errors (endpoint down, credentials) end the command with a reason
            raise CommandError(f"seeding failed at {settings.AWS_ENDPOINT_URL or 'AWS'}: {exc}") from None
        self.stdout.write(self.style.SUCCESS(f"Demo lake in s3://{plan.bucket}: {report.summary()}"))
        from glossary.demo import load_demo_glossary

        glossary = load_demo_glossary()
        self.stdout.write(self.style.SUCCESS(f"Demo glossary: {len(glossary.added)} terms added, "
                                             f"{len(glossary.changed)} changed, {glossary.unchanged} unchanged"))
        if options["iceberg"]:
            from catalog.demo_iceberg import seed_iceberg_tables

            try:
                made = seed_iceberg_tables(plan.bucket)
            except Exception as exc:  # pyiceberg / botocore errors end the command with a reason
                raise CommandError(f"writing the Iceberg tables failed: {exc}") from None
            self.stdout.write(self.style.SUCCESS(f"Iceberg tables written with pyiceberg: {', '.join(made) or 'none new'}"))
