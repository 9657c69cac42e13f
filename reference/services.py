"""Loading the reference data (cities, bureaus, occupations) from ``fixtures/reference.json``."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.db import transaction

from reference.models import Bureau, City, Direction, Occupation

REFERENCE_FILE = Path(settings.BASE_DIR) / "fixtures" / "reference.json"


@transaction.atomic
def reference_load(*, path: Path = REFERENCE_FILE) -> dict[str, int]:
    """Create or update every city, bureau and occupation. Idempotent; edits made in the
    admin to occupations' codes are kept (only missing rows are created)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    for row in data["cities"]:
        city, _ = City.objects.update_or_create(code=row["code"], defaults={"name": row["name"]})
        Bureau.objects.get_or_create(
            city=city, defaults={"kind": Bureau.Kind.CITY, "name": f"{city.name}人力资源和社会保障局"}
        )
    Bureau.objects.get_or_create(kind=Bureau.Kind.PROVINCE, defaults={"name": data["province"]["name"]})
    for row in data["occupations"]:
        occupation, _ = Occupation.objects.get_or_create(
            name=row["name"],
            defaults={
                "short_name": row["short_name"],
                "code_2021": row["code_2021"],
                "code_2022": row["code_2022"],
                "codes_confirmed": row.get("codes_confirmed", False),
            },
        )
        for direction in row["directions"]:
            Direction.objects.get_or_create(occupation=occupation, name=direction)
    return {
        "cities": City.objects.count(),
        "bureaus": Bureau.objects.count(),
        "occupations": Occupation.objects.count(),
    }
