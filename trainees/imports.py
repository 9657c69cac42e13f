"""Excel imports of an institution's class: the roster, and hours with completion results.

Both import into one accepted plan (``ctx["plan"]``) by its institution's staff
(``ctx["actor"]``). Re-importing a file changes nothing the second time: trainees are keyed
by resident ID number, enrolments by (plan, trainee).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import ApplicationError, NotPermitted
from core.pii_fields import blind_index_fields, blind_lookup_in, refresh_blind_indexes
from core.text import validate_phone
from core.xlsx_import import (
    ChoiceColumn,
    DateColumn,
    DateTimeColumn,
    DecimalColumn,
    ErrorList,
    ImportResult,
    ImportSpec,
    IntegerColumn,
    LookupColumn,
    ResidentIdColumn,
    Row,
    TextColumn,
    TimeColumn,
)
from institutions.models import PlanStatus, TrainingPlan
from institutions.services import is_institution_staff_of
from reference.models import City
from trainees.models import (
    Attendance,
    AttendanceSource,
    ClassSession,
    CompletionResult,
    Enrolment,
    SessionMode,
    Trainee,
    TraineeCategory,
)
from trainees.selectors import sessions_minutes_by_enrolment
from trainees.services import attendance_minutes, minutes_to_hours, refresh_hours, set_total_hours

CHUNK = 2000


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _field(name: str):
    return Trainee._meta.get_field(name)


def _city_resolver():
    table: dict[str, City] = {}
    for city in City.objects.all():
        table[city.code] = city
        table[city.name] = city
        table[city.name.removesuffix("市")] = city
    return lambda text: table.get(text.strip())


class PlanImportSpec(ImportSpec):
    """Shared by the two class imports: the actor must be the plan's institution's staff and
    the plan accepted; the plan row is locked while checking and writing."""

    def prepare(self, ctx: dict[str, Any]) -> None:
        plan: TrainingPlan = ctx["plan"]
        if not is_institution_staff_of(ctx.get("actor"), plan.institution_id):
            raise NotPermitted(
                "not_permitted", _("Only the institution's own staff may import into its classes.")
            )

    def lock(self, ctx: dict[str, Any]) -> None:
        plan = TrainingPlan.objects.select_for_update().get(pk=ctx["plan"].pk)
        if plan.status != PlanStatus.ACCEPTED:
            raise ApplicationError(
                "plan_not_accepted", _("The plan has not been accepted by its filing authority.")
            )
        ctx["plan"] = plan

    @staticmethod
    def trainees_by_resident_id(resident_ids: list[str]) -> dict[str, Trainee]:
        found: dict[str, Trainee] = {}
        for chunk in _chunks(resident_ids):
            for trainee in Trainee.objects.filter(**blind_lookup_in(Trainee, "resident_id", chunk)):
                found[trainee.resident_id] = trainee
        return found


class RosterImport(PlanImportSpec):
    """花名册: creates or updates trainees by resident ID number and enrols them in the class.

    Refused rows: a resident ID registered under another name (a typo would otherwise put
    one person's record on another), a trainee in another class whose dates overlap, and
    rows beyond the class size. Existing trainees keep data the file leaves blank.
    """

    slug = "roster"
    # The counts of ImportResult.extra, labelled for the admin's preview and summary.
    result_labels = {"enrolled": gettext_lazy("newly enrolled")}
    title = gettext_lazy("Class roster")
    natural_key = ("resident_id",)
    header_aliases = {
        "resident_id": ("身份证号码", "身份证号", "公民身份号码"),
        "name": ("姓名",),
        "phone": ("手机号码", "手机号", "联系电话"),
        "category": ("人员类别",),
        "household_city": ("户籍地",),
        "residence_city": ("常住地",),
        "employment_city": ("求职就业地", "就业地"),
        "school_name": ("毕业院校", "学校"),
        "school_city": ("学校所在地",),
        "graduation_year": ("毕业年份",),
    }
    notes = (
        gettext_lazy("One row per trainee. Format the ID column as text before typing or pasting."),
        gettext_lazy("Cities are written by name (杭州市) or GB/T 2260 code (330100)."),
        gettext_lazy("A graduate in the graduation year needs the school city and the graduation year."),
    )
    columns = (
        ResidentIdColumn("resident_id", _field("resident_id").verbose_name),
        TextColumn("name", _field("name").verbose_name, max_length=50),
        TextColumn("phone", _field("phone").verbose_name, max_length=20, required=False),
        ChoiceColumn("category", _field("category").verbose_name, choices=TraineeCategory.choices, width=28),
        LookupColumn("household_city", _field("household_city").verbose_name, noun=gettext_lazy("city")),
        LookupColumn(
            "residence_city", _field("residence_city").verbose_name, noun=gettext_lazy("city"), required=False
        ),
        LookupColumn(
            "employment_city",
            _field("employment_city").verbose_name,
            noun=gettext_lazy("city"),
            required=False,
        ),
        TextColumn("school_name", _field("school_name").verbose_name, max_length=100, required=False),
        LookupColumn(
            "school_city", _field("school_city").verbose_name, noun=gettext_lazy("city"), required=False
        ),
        IntegerColumn(
            "graduation_year",
            _field("graduation_year").verbose_name,
            min_value=1950,
            max_value=2100,
            required=False,
        ),
    )
    # What an existing trainee's record takes from the file when the cell is not blank.
    UPDATABLE = (
        "phone",
        "category",
        "household_city",
        "residence_city",
        "employment_city",
        "school_name",
        "school_city",
        "graduation_year",
    )

    def prepare(self, ctx: dict[str, Any]) -> None:
        super().prepare(ctx)
        # The columns are shared by every run; each run installs an equivalent resolver
        # over the current city table.
        resolve = _city_resolver()
        for key in ("household_city", "residence_city", "employment_city", "school_city"):
            self.column(key).resolve = resolve

    def check_row(self, row: Row, ctx: dict[str, Any], errors: ErrorList) -> None:
        # The model's phone validator: the database cannot check the shape of an encrypted
        # phone (issue 18), and the rows are written without full_clean.
        if row["phone"]:
            try:
                validate_phone(row["phone"])
            except ValidationError as exc:
                errors.add(row.number, self.column("phone"), " ".join(exc.messages))
        if row["category"] == TraineeCategory.GRADUATE:
            if row["school_city"] is None:
                errors.add(row.number, self.column("school_city"), _("Required for a graduate."))
            if row["graduation_year"] is None:
                errors.add(row.number, self.column("graduation_year"), _("Required for a graduate."))

    def check_all(self, rows: list[Row], ctx: dict[str, Any], errors: ErrorList) -> None:
        plan: TrainingPlan = ctx["plan"]
        existing = self.trainees_by_resident_id([r["resident_id"] for r in rows])
        ctx["existing"] = existing
        enrolled = set(Enrolment.objects.filter(plan=plan).values_list("trainee_id", flat=True))
        ctx["enrolled"] = enrolled

        # Overlapping classes of the trainees already registered, in one query per chunk.
        clashes: dict[int, TrainingPlan] = {}
        ids = [t.pk for t in existing.values()]
        for chunk in _chunks(ids):
            for enrolment in (
                Enrolment.objects.filter(
                    trainee_id__in=chunk,
                    plan__start_date__lte=plan.end_date,
                    plan__end_date__gte=plan.start_date,
                )
                .exclude(plan=plan)
                .select_related("plan")
            ):
                clashes.setdefault(enrolment.trainee_id, enrolment.plan)

        name_col, id_col = self.column("name"), self.column("resident_id")
        new_enrolments = 0
        capacity = plan.class_size - len(enrolled)
        full_reported = False
        for row in rows:
            trainee = existing.get(row["resident_id"])
            if trainee is not None and trainee.name != row["name"]:
                errors.add(
                    row.number,
                    name_col,
                    _("This resident ID number is registered under the name “%(name)s”.")
                    % {"name": trainee.name},
                )
            if trainee is not None and trainee.pk in clashes:
                other = clashes[trainee.pk]
                errors.add(
                    row.number,
                    id_col,
                    _("Enrolled in another class whose dates overlap (%(title)s, %(start)s to %(end)s).")
                    % {"title": other.title, "start": other.start_date, "end": other.end_date},
                )
            if trainee is None or trainee.pk not in enrolled:
                new_enrolments += 1
                if new_enrolments > capacity and not full_reported:
                    full_reported = True
                    errors.add(
                        row.number,
                        "",
                        _("The class is full from this row on: class size %(size)d, already enrolled %(n)d.")
                        % {"size": plan.class_size, "n": len(enrolled)},
                    )

    def write(self, rows: list[Row], ctx: dict[str, Any]) -> ImportResult:
        plan: TrainingPlan = ctx["plan"]
        existing: dict[str, Trainee] = ctx["existing"]
        enrolled: set[int] = ctx["enrolled"]
        result = ImportResult()

        to_create: list[Trainee] = []
        to_update: list[Trainee] = []
        for row in rows:
            values = row.values
            trainee = existing.get(values["resident_id"])
            if trainee is None:
                fields = {k: v for k, v in values.items() if v is not None}
                to_create.append(Trainee(**fields))
                continue
            changed = False
            for key in self.UPDATABLE:
                value = values[key]
                if value in (None, ""):
                    continue
                current = getattr(trainee, f"{key}_id") if key.endswith("_city") else getattr(trainee, key)
                new = value.pk if key.endswith("_city") else value
                if current != new:
                    setattr(trainee, key, value)
                    changed = True
            if changed:
                to_update.append(trainee)
        # Rows were checked column by column with the model's own validators; bulk writes
        # skip full_clean() (and its per-row unique query) for speed, the database
        # constraints still guard uniqueness (on the blind index).
        Trainee.objects.bulk_create(to_create, batch_size=1000)
        if to_update:
            # bulk_update skips pre_save: the blind indexes of changed values are set here.
            indexes = [f.name for f in blind_index_fields(Trainee) if f.source in self.UPDATABLE]
            for trainee in to_update:
                refresh_blind_indexes(trainee)
            Trainee.objects.bulk_update(to_update, [*self.UPDATABLE, *indexes], batch_size=1000)
        result.created = len(to_create)
        result.updated = len(to_update)

        created_ids = self.trainees_by_resident_id([t.resident_id for t in to_create])
        all_trainees = {**existing, **created_ids}
        enrolments = [
            Enrolment(plan=plan, trainee_id=all_trainees[row["resident_id"]].pk)
            for row in rows
            if all_trainees[row["resident_id"]].pk not in enrolled
        ]
        Enrolment.objects.bulk_create(enrolments, batch_size=1000)
        result.unchanged = len(rows) - result.created - result.updated
        result.extra["enrolled"] = len(enrolments)
        return result


class HoursImport(PlanImportSpec):
    """学时与结业考核: hours online and offline and the completion test of a class's trainees."""

    slug = "hours"
    title = gettext_lazy("Hours and completion results")
    natural_key = ("resident_id",)
    header_aliases = {
        "resident_id": ("身份证号码", "身份证号", "公民身份号码"),
        "name": ("姓名",),
        "hours_online": ("线上学时",),
        "hours_offline": ("线下学时",),
        "completion_result": ("结业考核", "结业考核结果"),
        "completion_date": ("结业考核日期", "考核日期"),
    }
    notes = (
        gettext_lazy("One row per enrolled trainee. Hours cannot exceed the plan's hours."),
        gettext_lazy("A passed or failed completion test needs its date."),
    )
    columns = (
        ResidentIdColumn("resident_id", _field("resident_id").verbose_name),
        TextColumn("name", _field("name").verbose_name, max_length=50, required=False),
        DecimalColumn(
            "hours_online", Enrolment._meta.get_field("hours_online").verbose_name, min_value=0, places=1
        ),
        DecimalColumn(
            "hours_offline", Enrolment._meta.get_field("hours_offline").verbose_name, min_value=0, places=1
        ),
        ChoiceColumn(
            "completion_result",
            Enrolment._meta.get_field("completion_result").verbose_name,
            choices=CompletionResult.choices,
            extra={
                "合格": CompletionResult.PASSED,
                "通过": CompletionResult.PASSED,
                "不合格": CompletionResult.FAILED,
                "未通过": CompletionResult.FAILED,
                "未考核": CompletionResult.PENDING,
            },
            required=False,
        ),
        DateColumn(
            "completion_date", Enrolment._meta.get_field("completion_date").verbose_name, required=False
        ),
    )

    def check_row(self, row: Row, ctx: dict[str, Any], errors: ErrorList) -> None:
        plan: TrainingPlan = ctx["plan"]
        result = row["completion_result"] or CompletionResult.PENDING
        row.values["completion_result"] = result
        if row["hours_online"] > plan.hours_online:
            errors.add(
                row.number,
                self.column("hours_online"),
                _("More than the plan's %(n)s hours.") % {"n": plan.hours_online},
            )
        if row["hours_offline"] > plan.hours_offline:
            errors.add(
                row.number,
                self.column("hours_offline"),
                _("More than the plan's %(n)s hours.") % {"n": plan.hours_offline},
            )
        date = row["completion_date"]
        if result != CompletionResult.PENDING and date is None:
            errors.add(row.number, self.column("completion_date"), _("Required when the test was taken."))
        if result == CompletionResult.PENDING and date is not None:
            errors.add(row.number, self.column("completion_result"), _("A date is given but no result."))
        if date is not None and date < plan.start_date:
            errors.add(row.number, self.column("completion_date"), _("Before the class starts."))
        if result == CompletionResult.PASSED and (
            row["hours_online"] < plan.hours_online or row["hours_offline"] < plan.hours_offline
        ):
            errors.add(
                row.number,
                self.column("completion_result"),
                _("Passed with fewer hours than the plan's (online %(on)s, offline %(off)s).")
                % {"on": plan.hours_online, "off": plan.hours_offline},
            )

    def check_all(self, rows: list[Row], ctx: dict[str, Any], errors: ErrorList) -> None:
        plan: TrainingPlan = ctx["plan"]
        enrolments = {
            e.trainee.resident_id: e
            for e in Enrolment.objects.filter(plan=plan)
            .select_related("trainee")
            .select_related("training_certificate")
        }
        ctx["enrolments"] = enrolments
        by_session = sessions_minutes_by_enrolment(plan=plan)
        for row in rows:
            enrolment = enrolments.get(row["resident_id"])
            if enrolment is None:
                errors.add(row.number, self.column("resident_id"), _("Not enrolled in this class."))
                continue
            if row["name"] and row["name"] != enrolment.trainee.name:
                errors.add(
                    row.number,
                    self.column("name"),
                    _("This resident ID number is registered under the name “%(name)s”.")
                    % {"name": enrolment.trainee.name},
                )
            attended = by_session.get(enrolment.pk, {})
            for mode, key in ((SessionMode.ONLINE, "hours_online"), (SessionMode.OFFLINE, "hours_offline")):
                if row[key] * 60 < attended.get(mode, 0):
                    errors.add(
                        row.number,
                        self.column(key),
                        _(
                            "The sessions attended already add up to %(n)s hours; correct the attendance instead."
                        )
                        % {"n": minutes_to_hours(attended[mode])},
                    )
            if _enrolment_certified(enrolment) and _changes(enrolment, row):
                errors.add(
                    row.number,
                    "",
                    _("A training certificate has been issued; the enrolment can no longer change."),
                )

    def write(self, rows: list[Row], ctx: dict[str, Any]) -> ImportResult:
        enrolments: dict[str, Enrolment] = ctx["enrolments"]
        changed = []
        now = timezone.now()
        for row in rows:
            enrolment = enrolments[row["resident_id"]]
            if not _changes(enrolment, row):
                continue
            # Hours are derived from attendance: the totals in the file are kept as a
            # ``total`` record per mode that makes up the difference to the sessions.
            set_total_hours(
                enrolment=enrolment,
                totals={SessionMode.ONLINE: row["hours_online"], SessionMode.OFFLINE: row["hours_offline"]},
                actor=ctx.get("actor"),
                now=now,
            )
            enrolment.completion_result = row["completion_result"]
            enrolment.completion_date = row["completion_date"]
            changed.append(enrolment)
        refresh_hours(enrolment_ids=[e.pk for e in changed])
        Enrolment.objects.bulk_update(changed, ["completion_result", "completion_date"], batch_size=1000)
        return ImportResult(updated=len(changed), unchanged=len(rows) - len(changed))


def _enrolment_certified(enrolment: Enrolment) -> bool:
    try:
        return enrolment.training_certificate is not None
    except Enrolment.training_certificate.RelatedObjectDoesNotExist:
        return False


def _changes(enrolment: Enrolment, row: Row) -> bool:
    return (
        Decimal(enrolment.hours_online) != row["hours_online"]
        or Decimal(enrolment.hours_offline) != row["hours_offline"]
        or enrolment.completion_result != row["completion_result"]
        or enrolment.completion_date != row["completion_date"]
    )


class AttendanceImport(PlanImportSpec):
    """考勤/学习记录: attendance of a class's sessions, from an online platform's learning log
    (Excel or CSV) or a sign-in sheet typed into the template.

    Each row is one trainee at one session, the session named by its date and start time.
    Minutes are taken from the file, or from sign-in and sign-out within the session's times.
    A row already recorded with the same values changes nothing; different values are
    recorded as a correction of the record (the original is kept), so importing a corrected
    log again is safe. Rows of online sessions are recorded with the source 平台, rows of
    offline sessions with 导入.
    """

    slug = "attendance"
    title = gettext_lazy("Attendance and learning log")
    natural_key = ("resident_id", "session_date", "session_start")
    accepts_csv = True
    # A large online class's log: 1,000 trainees x 200 sessions.
    max_rows = 250_000
    max_bytes = 40 * 1024 * 1024
    header_aliases = {
        "resident_id": ("身份证号码", "身份证号", "公民身份号码", "证件号码"),
        "name": ("姓名", "学员姓名"),
        "session_date": ("课次日期", "日期", "上课日期"),
        "session_start": ("开始时间", "课次开始时间"),
        "signed_in_at": ("签到时间", "登录时间", "进入时间"),
        "signed_out_at": ("签退时间", "退出时间", "离开时间"),
        "minutes": ("学习时长（分钟）", "学习时长(分钟)", "时长（分钟）", "出勤分钟"),
    }
    notes = (
        gettext_lazy("One row per trainee per session. Add the class's sessions first (课次)."),
        gettext_lazy("A session is named by its date and start time, e.g. 2024-03-01 and 09:00."),
        gettext_lazy("Give the minutes attended, or the sign-in and sign-out times (or both)."),
        gettext_lazy(
            "The online platform's export may be saved as CSV (UTF-8 or GBK) with the same headers."
        ),
    )
    columns = (
        ResidentIdColumn("resident_id", _field("resident_id").verbose_name),
        TextColumn("name", _field("name").verbose_name, max_length=50, required=False),
        DateColumn("session_date", gettext_lazy("session date")),
        TimeColumn("session_start", gettext_lazy("session start time")),
        DateTimeColumn("signed_in_at", gettext_lazy("signed in at"), required=False),
        DateTimeColumn("signed_out_at", gettext_lazy("signed out at"), required=False),
        IntegerColumn(
            "minutes", gettext_lazy("minutes attended"), min_value=0, max_value=1440, required=False
        ),
    )

    def check_row(self, row: Row, ctx: dict[str, Any], errors: ErrorList) -> None:
        # A log repeats each name, date and start time thousands of times: keep one copy of
        # each (a 200,000-row file must stay under 300 MB).
        shared = ctx.setdefault("shared_values", {})
        values = row.values
        for key in ("name", "session_date", "session_start"):
            values[key] = shared.setdefault(values[key], values[key])
        signed_in, signed_out = row["signed_in_at"], row["signed_out_at"]
        if signed_in is not None and signed_out is not None and signed_out < signed_in:
            errors.add(row.number, self.column("signed_out_at"), _("Before the sign-in time."))
        if row["minutes"] is None and (signed_in is None or signed_out is None):
            errors.add(
                row.number,
                self.column("minutes"),
                _("Give the minutes attended, or both the sign-in and sign-out times."),
            )

    def check_all(self, rows: list[Row], ctx: dict[str, Any], errors: ErrorList) -> None:
        plan: TrainingPlan = ctx["plan"]
        # Lock the class's enrolments (in id order, as every attendance write does one by
        # one): a clerk recording attendance by hand waits for the import, and the import
        # compares against what is committed.
        enrolments = {
            e.trainee.resident_id: e
            for e in Enrolment.objects.select_for_update(of=("self",))
            .filter(plan=plan)
            .select_related("trainee")
            .order_by("pk")
        }
        certified = set(
            Enrolment.objects.filter(plan=plan, training_certificate__isnull=False).values_list(
                "pk", flat=True
            )
        )
        sessions = {(s.date, s.starts_at): s for s in ClassSession.objects.filter(plan=plan)}
        # Tuples, not model instances: a re-imported log of 200,000 rows has as many.
        current = {
            (enrolment_id, session_id): (pk, minutes, signed_in, signed_out)
            for pk, enrolment_id, session_id, minutes, signed_in, signed_out in Attendance.objects.current()
            .filter(enrolment__plan=plan, session__isnull=False)
            .values_list("id", "enrolment_id", "session_id", "minutes", "signed_in_at", "signed_out_at")
            .order_by()
            .iterator(chunk_size=5000)
        }
        id_col, name_col = self.column("resident_id"), self.column("name")
        date_col, minutes_col = self.column("session_date"), self.column("minutes")
        planned: list[tuple[Row, int, ClassSession, int, int | None]] = []
        for row in rows:
            enrolment = enrolments.get(row["resident_id"])
            session = sessions.get((row["session_date"], row["session_start"]))
            if enrolment is None:
                errors.add(row.number, id_col, _("Not enrolled in this class."))
            elif row["name"] and row["name"] != enrolment.trainee.name:
                errors.add(
                    row.number,
                    name_col,
                    _("This resident ID number is registered under the name “%(name)s”.")
                    % {"name": enrolment.trainee.name},
                )
                enrolment = None
            if session is None:
                errors.add(
                    row.number,
                    date_col,
                    _("The class has no session on %(date)s at %(time)s: add the session first.")
                    % {"date": row["session_date"], "time": row["session_start"].strftime("%H:%M")},
                )
            if enrolment is None or session is None:
                continue
            minutes = row["minutes"]
            if minutes is None:
                minutes = attendance_minutes(
                    session=session, signed_in_at=row["signed_in_at"], signed_out_at=row["signed_out_at"]
                )
            if minutes > session.minutes:
                errors.add(
                    row.number,
                    minutes_col,
                    _("More than the session's %(n)d minutes.") % {"n": session.minutes},
                )
                continue
            existing = current.get((enrolment.pk, session.pk))
            if existing is not None and existing[1:] == (minutes, row["signed_in_at"], row["signed_out_at"]):
                continue  # recorded already, as it stands: nothing to do
            if enrolment.pk in certified:
                errors.add(
                    row.number,
                    "",
                    _("A training certificate has been issued; the enrolment can no longer change."),
                )
                continue
            planned.append(
                (row, enrolment.pk, session, minutes, existing[0] if existing is not None else None)
            )
        ctx["planned"] = planned

    def write(self, rows: list[Row], ctx: dict[str, Any]) -> ImportResult:
        now = timezone.now()
        actor_id = getattr(ctx.get("actor"), "pk", None)
        reason = _("Corrected by a later import of the attendance file.")
        planned = ctx.pop("planned")
        created = sum(1 for item in planned if item[4] is None)
        updated = len(planned) - created
        touched: set[int] = set()
        # Built and written a chunk at a time: 200,000 model instances at once would cost
        # hundreds of megabytes (bench/attendance.py).
        for start in range(0, len(planned), 5000):
            chunk = []
            for row, enrolment_id, session, minutes, existing_id in planned[start : start + 5000]:
                touched.add(enrolment_id)
                chunk.append(
                    Attendance(
                        enrolment_id=enrolment_id,
                        session_id=session.pk,
                        mode=session.mode,
                        signed_in_at=row["signed_in_at"],
                        signed_out_at=row["signed_out_at"],
                        minutes=minutes,
                        source=AttendanceSource.PLATFORM
                        if session.mode == SessionMode.ONLINE
                        else AttendanceSource.IMPORT,
                        operator_id=actor_id,
                        recorded_at=now,
                        corrects_id=existing_id,
                        reason=reason if existing_id else "",
                    )
                )
            # Cells were checked by the columns and the rows against the class above; the
            # database's constraints still hold the rest (one original per session, one
            # correction per record).
            Attendance.objects.bulk_create(chunk, batch_size=1000)
        refresh_hours(enrolment_ids=touched)
        return ImportResult(created=created, updated=updated, unchanged=len(rows) - created - updated)


class SessionImport(PlanImportSpec):
    """课次: a class's timetable, one row per session (the institution's schedule, or the
    online platform's course list). A session already there (same date and start) with the
    same values changes nothing; one that differs is refused: sessions are on the record."""

    slug = "sessions"
    title = gettext_lazy("Class sessions")
    natural_key = ("date", "starts_at")
    accepts_csv = True
    header_aliases = {
        "date": ("日期", "上课日期", "课次日期"),
        "starts_at": ("开始时间",),
        "ends_at": ("结束时间",),
        "mode": ("形式", "授课形式"),
        "topic": ("主题", "课程内容"),
        "venue": ("地点或平台", "上课地点", "平台"),
    }
    notes = (
        gettext_lazy("One row per session, within the class's dates."),
        gettext_lazy("Mode: 线上 or 线下. Place or platform: the classroom or the online platform's name."),
    )
    columns = (
        DateColumn("date", ClassSession._meta.get_field("date").verbose_name),
        TimeColumn("starts_at", ClassSession._meta.get_field("starts_at").verbose_name),
        TimeColumn("ends_at", ClassSession._meta.get_field("ends_at").verbose_name),
        ChoiceColumn(
            "mode",
            ClassSession._meta.get_field("mode").verbose_name,
            choices=SessionMode.choices,
            extra={"线上": SessionMode.ONLINE, "线下": SessionMode.OFFLINE, "在线": SessionMode.ONLINE},
        ),
        TextColumn("topic", ClassSession._meta.get_field("topic").verbose_name, max_length=200),
        TextColumn("venue", ClassSession._meta.get_field("venue").verbose_name, max_length=200),
    )

    def check_row(self, row: Row, ctx: dict[str, Any], errors: ErrorList) -> None:
        plan: TrainingPlan = ctx["plan"]
        if row["ends_at"] <= row["starts_at"]:
            errors.add(row.number, self.column("ends_at"), _("The session must end after it starts."))
        if not (plan.start_date <= row["date"] <= plan.end_date):
            errors.add(
                row.number,
                self.column("date"),
                _("The session must fall within the class's dates (%(start)s to %(end)s).")
                % {"start": plan.start_date, "end": plan.end_date},
            )

    def check_all(self, rows: list[Row], ctx: dict[str, Any], errors: ErrorList) -> None:
        existing = {(s.date, s.starts_at): s for s in ClassSession.objects.filter(plan=ctx["plan"])}
        ctx["existing"] = existing
        for row in rows:
            session = existing.get((row["date"], row["starts_at"]))
            if session is not None and _session_values(session) != _row_values(row):
                errors.add(
                    row.number,
                    self.column("starts_at"),
                    _("The class already has a session starting at %(time)s on %(date)s.")
                    % {"time": row["starts_at"].strftime("%H:%M"), "date": row["date"]},
                )

    def write(self, rows: list[Row], ctx: dict[str, Any]) -> ImportResult:
        existing = ctx["existing"]
        actor = ctx.get("actor")
        new = [
            ClassSession(
                plan=ctx["plan"],
                created_by=actor,
                **dict(zip(_SESSION_FIELDS, _row_values(row), strict=True)),
            )
            for row in rows
            if (row["date"], row["starts_at"]) not in existing
        ]
        ClassSession.objects.bulk_create(new, batch_size=1000)
        return ImportResult(created=len(new), unchanged=len(rows) - len(new))


_SESSION_FIELDS = ("date", "starts_at", "ends_at", "mode", "topic", "venue")


def _row_values(row: Row) -> tuple:
    return tuple(row[f] for f in _SESSION_FIELDS)


def _session_values(session: ClassSession) -> tuple:
    return tuple(getattr(session, f) for f in _SESSION_FIELDS)
