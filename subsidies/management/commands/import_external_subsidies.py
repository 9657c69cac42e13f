"""Import other vocational-training subsidies (e.g. 技能提升补贴) from an .xlsx or .csv file.

The same file as the admin's import page, read by the same parser
(``subsidies.imports.ExternalSubsidyImport``): the template's headers, in Chinese or
English, or the field names (resident_id, name, kind, grant_date, amount, city,
reference_number). Every row is checked first; if any is wrong nothing is written and every
error is printed. Re-importing a file is harmless.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from core.errors import ApplicationError
from core.xlsx_import import ImportRejected, run_import
from subsidies.imports import ExternalSubsidyImport


def csv_as_workbook(path: Path) -> bytes:
    """A CSV file as a one-sheet .xlsx, every cell as the text it holds, so that it goes
    through the one parser of the file like any upload (cells are checked there, not here)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.reader(fh):
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


class Command(BaseCommand):
    help = "Import other vocational-training subsidies that count toward the annual limit."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        if not file.exists():
            raise CommandError(_("%(file)s: no such file.") % {"file": file})
        suffix = file.suffix.lower()
        if suffix == ".csv":
            upload: Path | bytes = csv_as_workbook(file)
        elif suffix == ".xlsx":
            upload = file
        else:
            raise CommandError(_("%(file)s: expected a .csv or .xlsx file.") % {"file": file.name})
        try:
            # No actor: the operator at the command line records for the whole province.
            result = run_import(ExternalSubsidyImport(), upload, ctx={"actor": None})
        except ApplicationError as exc:
            if isinstance(exc, ImportRejected):
                for error in exc.errors:
                    where = _("row %(row)d") % {"row": error.row} if error.row else _("the file")
                    column = f", {error.column}" if error.column else ""
                    self.stderr.write(f"{where}{column}: {error.message}")
            raise CommandError(str(exc.message)) from exc
        # "skipped": already recorded (a re-import), as this command has always printed it.
        self.stdout.write(f"created={result.created} skipped={result.unchanged}")
