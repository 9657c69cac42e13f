"""The spot check's sample as a print-ready form, from one column spec."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.identity import mask_resident_id
from core.xlsx_form import DATE, ID_TEXT, INTEGER, MONEY, TEXT, FormColumn, write_form
from risk.models import SpotCheck, SpotCheckSubject

CLAIM_COLUMNS = (
    FormColumn("position", gettext_lazy("No."), 6, INTEGER),
    FormColumn("number", gettext_lazy("Claim No."), 10, INTEGER),
    FormColumn("name", gettext_lazy("name"), 12, TEXT),
    FormColumn("resident_id", gettext_lazy("resident ID number"), 22, ID_TEXT),
    FormColumn("occupation", gettext_lazy("occupation"), 22, TEXT),
    FormColumn("level", gettext_lazy("level"), 8, TEXT),
    FormColumn("amount", gettext_lazy("amount (yuan)"), 12, MONEY),
    FormColumn("date", gettext_lazy("submitted on"), 12, DATE),
    FormColumn("status", gettext_lazy("status"), 10, TEXT),
    FormColumn("outcome", gettext_lazy("outcome"), 10, TEXT),
    FormColumn("note", gettext_lazy("note"), 30, TEXT),
)
PLAN_COLUMNS = (
    FormColumn("position", gettext_lazy("No."), 6, INTEGER),
    FormColumn("number", gettext_lazy("Plan No."), 10, INTEGER),
    FormColumn("name", gettext_lazy("class name"), 24, TEXT),
    FormColumn("occupation", gettext_lazy("occupation"), 22, TEXT),
    FormColumn("level", gettext_lazy("level"), 8, TEXT),
    FormColumn("date", gettext_lazy("start date"), 12, DATE),
    FormColumn("end", gettext_lazy("end date"), 12, DATE),
    FormColumn("size", gettext_lazy("class size"), 8, INTEGER),
    FormColumn("outcome", gettext_lazy("outcome"), 10, TEXT),
    FormColumn("note", gettext_lazy("note"), 30, TEXT),
)


def _records(check: SpotCheck):
    items = check.items.select_related("claim__trainee", "claim__occupation", "plan__occupation").order_by(
        "position"
    )
    for item in items:
        base = {
            "position": item.position,
            "outcome": item.get_outcome_display() if item.outcome else "",
            "note": item.note,
        }
        if item.claim_id:
            c = item.claim
            yield {
                **base,
                "number": c.pk,
                "name": c.trainee.name,
                "resident_id": mask_resident_id(c.trainee.resident_id),
                "occupation": c.occupation.name,
                "level": c.get_level_display(),
                "amount": c.amount,
                "date": timezone.localdate(c.submitted_at),
                "status": c.get_status_display(),
            }
        else:
            p = item.plan
            yield {
                **base,
                "number": p.pk,
                "name": p.title,
                "occupation": p.occupation.name,
                "level": p.get_level_display(),
                "date": p.start_date,
                "end": p.end_date,
                "size": p.class_size,
            }


def spot_check_form(check: SpotCheck) -> bytes:
    columns = CLAIM_COLUMNS if check.subject == SpotCheckSubject.CLAIMS else PLAN_COLUMNS
    title = _(
        "%(bureau)s spot check of %(institution)s: %(subject)s %(start)s to %(end)s, %(percent)s%% (at least %(minimum)s), seed %(seed)s"
    ) % {
        "bureau": check.bureau.name,
        "institution": check.institution.name,
        "subject": check.get_subject_display(),
        "start": check.period_start.isoformat(),
        "end": check.period_end.isoformat(),
        "percent": check.percent.normalize(),
        "minimum": check.minimum,
        "seed": check.seed,
    }
    items = list(check.items.values_list("outcome", flat=True))
    summary = _("%(n)s sampled of %(population)s: %(passed)s passed, %(failed)s failed") % {
        "n": len(items),
        "population": check.population_count,
        "passed": items.count("passed"),
        "failed": items.count("failed"),
    }
    return write_form(
        columns=columns,
        records=_records(check),
        title=title,
        sheet_title=_("Spot check %(id)s") % {"id": check.pk},
        totals={"name": summary},
        signature=(_("Checked by:"), _("Reviewed by:"), _("Approved by:"), _("Date:")),
        stamp=_("(Seal)"),
        made_on=timezone.localdate(),
    )


def spot_check_file_name(check: SpotCheck) -> str:
    return f"spot-check-{check.pk}.xlsx"
