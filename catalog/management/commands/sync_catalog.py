"""``python manage.py sync_catalog [--full]``: one sync of every configured Glue catalog, inline."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.models import SyncRun
from catalog.services.partitions import pending_tables, sync_partitions
from catalog.services.runs import SyncAlreadyRunning
from catalog.services.sync import ensure_catalogs, full_sync, refresh_tables


class Command(BaseCommand):
    help = "Sync the Glue catalogs of GLUE_CATALOGS into the portal's mirror and print what it did."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true",
                            help="Full reconcile (the default; kept for symmetry with the scheduled task).")
        parser.add_argument("--table", action="append", default=[], metavar="DATABASE.TABLE",
                            help="Refresh only these tables (repeatable) instead of a full reconcile.")
        parser.add_argument("--no-partitions", action="store_true",
                            help="Skip the partition pass that follows a full sync (the worker runs it).")

    def handle(self, *args: Any, **options: Any) -> None:
        tables = []
        for name in options["table"]:
            database, dot, table = name.partition(".")
            if not dot or not database or not table:
                raise CommandError(f"--table {name!r}: expected DATABASE.TABLE")
            tables.append((database, table))
        failed = False
        for catalog in ensure_catalogs():
            try:
                run = refresh_tables(catalog, tables) if tables else full_sync(catalog)
                self.stdout.write(self._summary(run))
                failed = failed or run.status == SyncRun.Status.FAILED
                if not tables and not options["no_partitions"] and pending_tables(catalog).exists():
                    run = sync_partitions(catalog)
                    self.stdout.write(self._summary(run))
                    failed = failed or run.status == SyncRun.Status.FAILED
            except SyncAlreadyRunning as exc:
                raise CommandError(str(exc)) from None
        if failed:
            raise CommandError("sync failed (see the reason above); the mirror keeps its last good state")

    @staticmethod
    def _summary(run: SyncRun) -> str:
        c = run.counts
        lines = [f"Catalog {run.catalog}: {run.label} #{run.pk} {run.get_status_display()} in {run.seconds or 0:.1f} s"]
        if run.kind == SyncRun.Kind.PARTITIONS:
            lines.append(f"  tables read: {c.get('tables_read', 0)}, failed: {c.get('tables_failed', 0)}, "
                         f"partitions added: {c.get('partitions_added', 0)}")
        else:
            lines += [
                f"  databases: {c.get('databases_created', 0)} created, {c.get('databases_updated', 0)} updated, "
                f"{c.get('databases_deleted', 0)} deleted, {c.get('databases_failed', 0)} failed",
                f"  tables:    {c.get('tables_created', 0)} created, {c.get('tables_updated', 0)} updated, "
                f"{c.get('tables_deleted', 0)} deleted, {c.get('tables_failed', 0)} failed, "
                f"{c.get('tables_unchanged', 0)} unchanged",
                f"  versions recorded: {c.get('versions_recorded', 0)}"
                + ("" if run.kind == SyncRun.Kind.FULL else f", partitions added: {c.get('partitions_added', 0)}"),
            ]
        lines += [f"  warning: {w}" for w in run.warnings[:20]]
        if len(run.warnings) > 20:
            lines.append(f"  … {len(run.warnings) - 20} more warnings (see /operations/)")
        if run.error:
            lines.append(f"  error: {run.error}")
        return "\n".join(lines)
