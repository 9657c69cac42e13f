"""Import other vocational-training subsidies (e.g. 技能提升补贴) from an .xlsx or .csv file.

The first row names the columns, in Chinese or English:
身份证号码/resident_id, 姓名/name, 补贴类型/kind, 发放日期/grant_date, 金额/amount,
发放地/city (optional, code or name), 凭证号/reference_number (optional).
Every row is checked first; if any is wrong nothing is written. Re-importing a file is harmless.
"""

from __future__ import annotations

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from subsidies.services import IMPORT_FIELDS, external_subsidy_import

HEADERS = {
    "身份证号码": "resident_id",
    "身份证号": "resident_id",
    "姓名": "name",
    "补贴类型": "kind",
    "补贴种类": "kind",
    "发放日期": "grant_date",
    "金额": "amount",
    "补贴金额": "amount",
    "发放地": "city",
    "凭证号": "reference_number",
    **{f: f for f in IMPORT_FIELDS},
}


def read_rows(path: Path) -> list[dict]:
    """The file's data rows as dicts keyed by field name, each with its row number."""
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            table = list(csv.reader(fh))
    elif path.suffix.lower() == ".xlsx":
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            table = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
        finally:
            book.close()
    else:
        raise CommandError(f"{path.name}: expected a .csv or .xlsx file")
    if not table:
        return []
    header = [HEADERS.get(str(h or "").strip()) for h in table[0]]
    missing = {"resident_id", "name", "kind", "grant_date", "amount"} - set(header)
    if missing:
        raise CommandError(f"missing columns: {', '.join(sorted(missing))}")
    rows = []
    for number, values in enumerate(table[1:], start=2):
        if all(v in (None, "") for v in values):
            continue  # blank lines at the end of a sheet
        row = {key: value for key, value in zip(header, values, strict=False) if key}
        row["row"] = number
        rows.append(row)
    return rows


class Command(BaseCommand):
    help = "Import other vocational-training subsidies that count toward the annual limit."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        if not file.exists():
            raise CommandError(f"{file}: no such file")
        rows = read_rows(file)
        try:
            result = external_subsidy_import(rows=rows, actor=None)
        except ApplicationError as exc:
            for error in (exc.detail or {}).get("errors", []):
                details = "; ".join(f"{field}: {message}" for field, message in error["errors"].items())
                self.stderr.write(f"row {error['row']}: {details}")
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(f"created={result.created} skipped={result.skipped}")
