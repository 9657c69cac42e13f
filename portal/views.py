"""Pages of the trainee service (学员服务) at ``/``. Thin: read a form, call one service or
selector of the apps below, render. Pages of a logged-in trainee are never stored by a
shared cache (``Cache-Control: private, no-store``)."""

from __future__ import annotations

import hashlib
import logging
from functools import wraps
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.backends import login_throttled_for
from accounts.models import Role
from accounts.selectors import messages_visible_to
from accounts.services import message_mark_read, messages_mark_all_read
from accounts.throttle import client_address
from certificates.selectors import level_certificates_visible_to, training_certificates_visible_to
from core import crypto
from core.errors import ApplicationError
from core.identity import normalize_resident_id
from institutions.models import TrainingPlan
from portal import rule_help, wizard
from portal.forms import (
    ActivationCodeForm,
    ApplicationForm,
    BureauChoiceForm,
    CertificateLookupForm,
    CodeForm,
    DocumentUploadForm,
    EvaluationForm,
    IdentityForm,
    LoginForm,
    PayeeForm,
    PlanSearchForm,
    month_start,
)
from portal.models import PRIVACY_NOTICE_VERSION, CodePurpose
from portal.selectors import (
    bureaus_for_claim,
    certificate_lookup,
    matching_training_certificate,
    plan_for_notice,
    plans_for_notice,
    standards_in_force,
    subsidies_used,
)
from portal.services import account_activate, code_request, password_reset
from reference.models import Level
from subsidies import rules as claim_rules
from subsidies.models import ACTIVE_CLAIM_STATUSES, ClaimStatus
from subsidies.selectors import claim_documents_visible_to, claim_events, claims_visible_to
from subsidies.services import (
    ClaimIneligible,
    claim_document_attach,
    claim_preview,
    claim_submit,
    claim_withdraw,
)
from subsidies.views import document_response
from trainees.models import CompletionResult, Trainee
from trainees.selectors import (
    attendance_for_trainee,
    continuing_education_by_year,
    enrolments_visible_to,
)
from trainees.services import application_submit, evaluation_submit, trainee_set_payee_account

logger = logging.getLogger(__name__)

ACTIVE = [s.value for s in ACTIVE_CLAIM_STATUSES]
LOOKUP_LIMIT = 10  # certificate look-ups per address per window
LOOKUP_WINDOW = 10 * 60


def _private(response):
    patch_cache_control(response, private=True, no_store=True)
    return response


def trainee_page(view):
    """A page of a logged-in trainee: others go to the login page; staff are told to use
    the admin (403); the answer is never cached by a shared proxy."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return _private(redirect(f"{reverse('portal:login')}?next={quote(request.get_full_path())}"))
        trainee = Trainee.objects.filter(user=user).first() if user.role == Role.TRAINEE else None
        if trainee is None:
            return _private(render(request, "portal/not_a_trainee.html", status=403))
        request.trainee = trainee
        return _private(view(request, *args, **kwargs))

    return wrapper


# -- public pages -----------------------------------------------------------------------------


def _visitor(request) -> bool:
    """A visitor with nothing of their own on the page: no session (so no login, no wizard
    state) and no message waiting to be shown."""
    return settings.SESSION_COOKIE_NAME not in request.COOKIES and "messages" not in request.COOKIES


def _keepable_query(request) -> bool:
    """No query, or a page number only: a search (free text) is never kept, so that nobody
    can fill the cache with pages of made-up addresses."""
    query = request.GET
    if not query:
        return True
    page = query.get("page", "")
    return len(query) == 1 and len(query.getlist("page")) == 1 and page.isdigit() and len(page) <= 4


def public_page(view):
    """A public page, the same for every visitor without a session: rendered at most once
    every ``PORTAL_PUBLIC_CACHE_SECONDS`` for each address (the path, and a page number) and
    kept in the shared cache, so a notice read by many people is not built for each of them.
    The figures on it (open plans, places left) may be that many seconds old; applying checks
    the places again. Logged-in trainees, searches, and any answer that is not a plain 200 or
    that sets a cookie (a CSRF token on the page), are never kept."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD") or not _visitor(request) or not _keepable_query(request):
            return view(request, *args, **kwargs)
        answered = {}

        def build():
            response = answered["response"] = view(request, *args, **kwargs)
            if (
                response.status_code != 200
                or response.streaming
                or response.cookies
                or request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
            ):
                return None
            return (response["Content-Type"], response.content)

        digest = hashlib.sha256(request.get_full_path().encode()).hexdigest()
        kept = _cached(
            f"portal:public:v1:{get_language()}:{digest}", settings.PORTAL_PUBLIC_CACHE_SECONDS, build
        )
        if "response" in answered:
            return answered["response"]
        content_type, content = kept
        return HttpResponse(content, content_type=content_type)

    return wrapper


@public_page
def home(request):
    return render(request, "portal/home.html", {"open_plans": plans_for_notice().count()})


def _cached(key: str, seconds: int, build):
    """``build()``, kept ``seconds`` in the shared cache under ``key``. A cache that fails
    (Redis down) only means building it on every request; ``build`` may answer None for
    "not to be kept"."""
    if seconds <= 0:
        return build()
    try:
        value = cache.get(key)
    except Exception:
        logger.warning("portal cache unavailable", exc_info=True)
        return build()
    if value is None:
        value = build()
        if value is not None:
            try:
                cache.set(key, value, seconds)
            except Exception:
                logger.warning("portal cache unavailable", exc_info=True)
    return value


def _empty_search_form() -> str:
    """The search form with no filter chosen, rendered at most once a minute (reference lists
    change rarely): most visitors open the notices unfiltered, and rendering the options of the
    city, occupation and institution lists was a third of the page."""
    return _cached(
        f"portal:plan-search-form:v1:{get_language()}",
        settings.PORTAL_FORM_CACHE_SECONDS,
        lambda: render_to_string("portal/_plan_search_fields.html", {"form": PlanSearchForm()}),
    )


@public_page
def plan_list(request):
    form = PlanSearchForm(request.GET or None)
    filters = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {
            "q": data["q"],
            "city": data["city"],
            "occupation": data["occupation"],
            "level": data["level"],
            "start_month": month_start(data["start_month"]),
            "institution": data["institution"],
            "open_only": data["open_only"],
        }
    page = Paginator(plans_for_notice(**filters), 10).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    if not form.is_bound:
        context["search_fields"] = _empty_search_form()
    return render(request, "portal/plan_list.html", context)


def _plan_or_404(pk: int) -> TrainingPlan:
    try:
        return plan_for_notice(pk)
    except TrainingPlan.DoesNotExist:
        raise Http404 from None


def _can_apply(plan) -> bool:
    return plan.end_date >= timezone.localdate() and plan.places_left > 0


@public_page
def plan_detail(request, pk: int):
    plan = _plan_or_404(pk)
    return render(request, "portal/plan_detail.html", {"plan": plan, "can_apply": _can_apply(plan)})


def plan_apply(request, pk: int):
    plan = _plan_or_404(pk)
    form = ApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            application = application_submit(plan=plan, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_service_errors(exc)
        else:
            return render(request, "portal/applied.html", {"plan": plan, "application": application})
    return render(
        request, "portal/plan_apply.html", {"plan": plan, "form": form, "can_apply": _can_apply(plan)}
    )


@public_page
def standards(request):
    rows = standards_in_force()
    demo = any(cell is not None and cell.is_demonstration for row in rows for cell in row.cells)
    return render(
        request, "portal/standards.html", {"rows": rows, "levels": Level.choices, "any_demonstration": demo}
    )


@public_page
def how_to_claim(request):
    return render(request, "portal/how_to_claim.html", {"notice_version": PRIVACY_NOTICE_VERSION})


def certificate_check(request):
    form = CertificateLookupForm(request.POST or None)
    result = None
    searched = False
    if request.method == "POST" and form.is_valid():
        # Counted per address before the look-up, so guessing numbers is slow whatever the answer.
        key = f"portal:cert-lookup:{client_address(request)}"
        cache.add(key, 0, LOOKUP_WINDOW)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, LOOKUP_WINDOW)
            count = 1
        if count > LOOKUP_LIMIT:
            form.add_error(None, _("Too many look-ups from this network; try again in 10 minutes."))
        else:
            searched = True
            result = certificate_lookup(number=form.cleaned_data["number"], name=form.cleaned_data["name"])
    return render(
        request, "portal/certificate_check.html", {"form": form, "result": result, "searched": searched}
    )


# -- logging in, activation, passwords ----------------------------------------------------------


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


def login_view(request):
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        identifier = form.cleaned_data["identifier"]
        user = authenticate(request, identifier=identifier, password=form.cleaned_data["password"])
        wait = login_throttled_for(request)
        if wait is not None:
            form.add_error(
                None,
                _("Too many wrong passwords; try again in %(minutes)d minutes, or reset your password.")
                % {"minutes": max(1, (wait + 59) // 60)},
            )
        elif user is None:
            form.add_error(
                None,
                _(
                    "The resident ID / phone number or the password is not correct. If several people share "
                    "your phone, log in with your resident ID number."
                ),
            )
        else:
            login(request, user, backend="portal.auth.TraineeBackend")
            return redirect(_safe_next(request, reverse("portal:me")))
    return _private(render(request, "portal/login.html", {"form": form, "next": _safe_next(request, "")}))


@require_POST
def logout_view(request):
    logout(request)
    messages.success(request, _("You have logged out."))
    return redirect("portal:home")


SESSION_IDENTITY = {CodePurpose.ACTIVATE: "portal_activation_id", CodePurpose.RESET: "portal_reset_id"}
# Sessions are rows of django_session (signed, not encrypted): the ID number waiting for its
# code is kept there encrypted like every other stored identity (issue 18).
SESSION_CONTEXT = "portal.session.resident_id"


def _remember_identity(request, purpose: str, resident_id: str) -> None:
    request.session[SESSION_IDENTITY[purpose]] = crypto.encrypt(resident_id, context=SESSION_CONTEXT)


def _remembered_identity(request, purpose: str) -> str | None:
    stored = request.session.get(SESSION_IDENTITY[purpose])
    if not stored:
        return None
    try:
        return crypto.decrypt(stored, context=SESSION_CONTEXT)
    except crypto.CryptoError:  # from before a key change, or not ours: start again
        return None


def _identity_step(request, purpose: str, template: str, next_url: str):
    form = IdentityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            code_request(purpose=purpose, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, str(exc.message))
        else:
            _remember_identity(request, purpose, normalize_resident_id(form.cleaned_data["resident_id"]))
            return redirect(next_url)
    return _private(render(request, template, {"form": form}))


def _code_errors(form, exc: ApplicationError) -> None:
    if exc.code in ("wrong_code", "code_expired"):
        form.add_error("code", str(exc.message))
    elif exc.code == "invalid_password":
        form.add_error("password1", str(exc.detail.get("password", exc.message)))
    else:
        form.add_service_errors(exc)


def activate(request):
    return _identity_step(
        request, CodePurpose.ACTIVATE, "portal/activate.html", reverse("portal:activate-code")
    )


def activate_code(request):
    resident_id = _remembered_identity(request, CodePurpose.ACTIVATE)
    if not resident_id:
        return redirect("portal:activate")
    form = ActivationCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = account_activate(
                resident_id=resident_id,
                code=form.cleaned_data["code"],
                password=form.cleaned_data["password1"],
                consent=form.cleaned_data["consent"],
            )
        except ApplicationError as exc:
            _code_errors(form, exc)
        else:
            request.session.pop(SESSION_IDENTITY[CodePurpose.ACTIVATE], None)
            login(request, user, backend="portal.auth.TraineeBackend")
            messages.success(request, _("Your account is open. Welcome!"))
            return redirect("portal:me")
    return _private(
        render(request, "portal/activate_code.html", {"form": form, "notice_version": PRIVACY_NOTICE_VERSION})
    )


def reset(request):
    return _identity_step(request, CodePurpose.RESET, "portal/reset.html", reverse("portal:reset-code"))


def reset_code(request):
    resident_id = _remembered_identity(request, CodePurpose.RESET)
    if not resident_id:
        return redirect("portal:reset")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = password_reset(
                resident_id=resident_id,
                code=form.cleaned_data["code"],
                password=form.cleaned_data["password1"],
            )
        except ApplicationError as exc:
            _code_errors(form, exc)
        else:
            request.session.pop(SESSION_IDENTITY[CodePurpose.RESET], None)
            login(request, user, backend="portal.auth.TraineeBackend")
            messages.success(request, _("Your new password is set."))
            return redirect("portal:me")
    return _private(render(request, "portal/reset_code.html", {"form": form}))


@trainee_page
def password_change(request):
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        update_session_auth_hash(request, user)
        messages.success(request, _("Your password was changed."))
        return redirect("portal:me")
    return render(request, "portal/password_change.html", {"form": form})


# -- my record -----------------------------------------------------------------------------------


@trainee_page
def me(request):
    user, trainee = request.user, request.trainee
    level_certificates = list(level_certificates_visible_to(user).order_by("-issued_on"))
    claims = list(claims_visible_to(user).select_related("occupation", "bureau").order_by("-submitted_at"))
    claimed = {(c.occupation_id, c.level) for c in claims if c.status in ACTIVE}
    for cert in level_certificates:
        cert.claimed = (cert.occupation_id, cert.level) in claimed
    return render(
        request,
        "portal/me.html",
        {
            "trainee": trainee,
            "enrolments": enrolments_visible_to(user).order_by("-plan__start_date"),
            "training_certificates": training_certificates_visible_to(user).order_by("-issued_on"),
            "level_certificates": level_certificates,
            "hours_by_year": continuing_education_by_year(trainee=trainee),
            "year_use": subsidies_used(trainee),
            "claimed": [c for c in claims if c.status in ACTIVE],
            "claims": claims,
        },
    )


@trainee_page
def certificate_detail(request, pk: int):
    certificate = get_object_or_404(level_certificates_visible_to(request.user), pk=pk)
    claims = claims_visible_to(request.user).filter(level_certificate=certificate).order_by("-submitted_at")
    return render(
        request,
        "portal/certificate_detail.html",
        {
            "certificate": certificate,
            "training_certificate": matching_training_certificate(certificate),
            "claims": claims,
            "can_claim": not any(c.status in ACTIVE for c in claims),
        },
    )


# -- the claim wizard ---------------------------------------------------------------------------


def _wizard_context(step: wizard.Step, state: dict, **extra) -> dict:
    steps = wizard.steps_for(state)
    index = [s.name for s in steps].index(step.name)
    return {"steps": steps, "step": step, "step_number": index + 1, **extra}


@trainee_page
def claim_step(request, step: str = "certificate"):
    current = wizard.step_named(step)
    if current is None:
        raise Http404
    state = request.session.get(wizard.STATE_KEY, {})
    if current.name == "confirm" and request.method == "POST":
        # A second click after the first submission cleared the state: show that claim.
        posted = request.POST.get("level_certificate", "")
        existing = _existing_claim(request, int(posted)) if posted.isdigit() and len(posted) <= 18 else None
        if existing is not None:
            return _receipt(existing)
    missing = wizard.first_missing(state, current)
    if missing.name != current.name:
        return redirect("portal:claim-step", step=missing.name)
    return STEP_VIEWS[current.name](request, current, state)


def _save_state(request, state: dict) -> None:
    request.session[wizard.STATE_KEY] = state


def _goto(step_name: str):
    return redirect("portal:claim-step", step=step_name)


def _step_certificate(request, step, state):
    certificates = list(
        level_certificates_visible_to(request.user).select_related("occupation").order_by("-issued_on")
    )
    active = set(
        claims_visible_to(request.user)
        .filter(status__in=ACTIVE)
        .values_list("level_certificate_id", flat=True)
    )
    for cert in certificates:
        cert.claimed = cert.pk in active
    chosen = request.POST.get("level_certificate") or request.GET.get("level_certificate")
    error = ""
    if request.method == "POST":
        if chosen and chosen.isdigit() and any(c.pk == int(chosen) for c in certificates):
            state = {"level_certificate": int(chosen)}
            _save_state(request, state)
            return _goto(wizard.next_step(step.name, state).name)
        error = _("Choose one of your level certificates.")
    return render(
        request,
        "portal/claim_certificate.html",
        _wizard_context(step, state, certificates=certificates, chosen=chosen, error=error),
    )


def _chosen_certificate(request, state):
    return get_object_or_404(
        level_certificates_visible_to(request.user).select_related("occupation", "evaluator", "assessment"),
        pk=state["level_certificate"],
    )


def _chosen_bureau(allowed, state):
    for option in allowed:
        if option.bureau.pk == state.get("bureau"):
            return option
    return allowed[0] if allowed else None


def _preview(request, certificate, chosen):
    """Every rule, the amount's computation and the documents, for the claim as it stands."""
    return claim_preview(
        trainee=request.trainee,
        training_certificate=matching_training_certificate(certificate),
        level_certificate=certificate,
        bureau=chosen.bureau if chosen else None,
    )


def _step_check(request, step, state):
    trainee = request.trainee
    certificate = _chosen_certificate(request, state)
    training = matching_training_certificate(certificate)
    allowed = bureaus_for_claim(trainee)
    if request.method == "POST" and request.POST.get("bureau"):
        form = BureauChoiceForm(request.POST, allowed=allowed)
        if form.is_valid():
            state = {**state, "bureau": int(form.cleaned_data["bureau"]), "checked": False}
            _save_state(request, state)
    chosen = _chosen_bureau(allowed, state)
    preview = _preview(request, certificate, chosen)
    rows = rule_help.explain(preview["results"])
    failed = [r for r in rows if r["state"] == "failed"]
    # Documents the city asks for are uploaded in the next step: only that rule failing
    # does not stop the trainee here.
    blocking = [r for r in failed if r["code"] != claim_rules.MISSING_DOCUMENTS]
    eligible = not blocking
    if request.method == "POST" and "continue" in request.POST and eligible and chosen is not None:
        state = {
            **state,
            "bureau": chosen.bureau.pk,
            "checked": True,
            "documents_required": bool(preview["required_documents"]),
            "documents": False,
        }
        _save_state(request, state)
        return _goto(wizard.next_step(step.name, state).name)
    # Once the check knows the city asks for documents, the step list shows that step too.
    shown = {**state, "documents_required": bool(preview["required_documents"])}
    return render(
        request,
        "portal/claim_check.html",
        _wizard_context(
            step,
            shown,
            certificate=certificate,
            training_certificate=training,
            allowed=allowed,
            chosen=chosen,
            bureau_form=BureauChoiceForm(
                initial={"bureau": chosen.bureau.pk if chosen else None}, allowed=allowed
            ),
            rows=rows,
            failed=failed,
            eligible=eligible,
            documents_to_upload=eligible and bool(failed),
            computation=preview["computation"],
            measure=preview["measure"],
            required_documents=preview["required_documents"],
            missing_documents=preview["missing_documents"],
        ),
    )


def _step_documents(request, step, state):
    """申领材料: upload what the city's measure asks for the basis (checked by the service:
    PDF/JPG/PNG by content, at most 5 MB); on to the payee once none is missing."""
    certificate = _chosen_certificate(request, state)
    chosen = _chosen_bureau(bureaus_for_claim(request.trainee), state)
    preview = _preview(request, certificate, chosen)
    kinds = []
    for requirement in preview["required_documents"]:
        kinds += [requirement.kind, *([requirement.alternative] if requirement.alternative else [])]
    form = DocumentUploadForm(
        request.POST if "upload" in request.POST else None,
        request.FILES if "upload" in request.POST else None,
        kinds=kinds,
    )
    error = ""
    if request.method == "POST" and "upload" in request.POST:
        if form.is_valid():
            try:
                document = claim_document_attach(
                    trainee=request.trainee,
                    kind=form.cleaned_data["kind"],
                    file=form.cleaned_data["file"],
                    actor=request.user,
                )
            except ApplicationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(
                    request,
                    _("%(document)s uploaded: %(name)s.")
                    % {"document": document.get_kind_display(), "name": document.original_name},
                )
                return _goto(step.name)
    elif request.method == "POST" and "continue" in request.POST:
        if not preview["missing_documents"]:
            state = {**state, "documents": True}
            _save_state(request, state)
            return _goto(wizard.next_step(step.name, state).name)
        error = _("Upload every document listed as missing before you go on.")
    return render(
        request,
        "portal/claim_documents.html",
        _wizard_context(
            step,
            state,
            chosen=chosen,
            measure=preview["measure"],
            required_documents=preview["required_documents"],
            missing_documents=preview["missing_documents"],
            uploads=claim_documents_visible_to(request.user).filter(claim__isnull=True),
            form=form,
            error=error,
        ),
    )


def _step_payee(request, step, state):
    trainee = request.trainee
    form = PayeeForm(
        request.POST if request.method == "POST" and "use_saved" not in request.POST else None,
        initial={"kind": trainee.payee_kind or "ssc", "bank_name": trainee.bank_name},
    )
    if request.method == "POST":
        if "use_saved" in request.POST and trainee.has_payee_account:
            state = {**state, "payee": True}
            _save_state(request, state)
            return _goto(wizard.next_step(step.name, state).name)
        if form.is_valid():
            try:
                trainee_set_payee_account(
                    trainee=trainee,
                    kind=form.cleaned_data["kind"],
                    bank_name=form.cleaned_data["bank_name"],
                    account=form.cleaned_data["account"],
                    actor=request.user,
                )
            except ApplicationError as exc:
                form.add_service_errors(exc)
            else:
                state = {**state, "payee": True}
                _save_state(request, state)
                return _goto(wizard.next_step(step.name, state).name)
    return render(
        request, "portal/claim_payee.html", _wizard_context(step, state, trainee=trainee, form=form)
    )


def _existing_claim(request, level_certificate_id):
    return (
        claims_visible_to(request.user)
        .filter(level_certificate_id=level_certificate_id, status__in=ACTIVE)
        .order_by("-submitted_at")
        .first()
    )


def _receipt(claim):
    return redirect(reverse("portal:claim", args=[claim.pk]) + "?receipt=1")


def _step_confirm(request, step, state):
    trainee = Trainee.objects.get(pk=request.trainee.pk)
    certificate = _chosen_certificate(request, state)
    allowed = bureaus_for_claim(trainee)
    chosen = _chosen_bureau(allowed, state)
    if request.method == "POST":
        # Submitting twice (a double click, the back button, a second tab) finds the claim
        # the first submission made: the database allows one active claim per certificate.
        existing = _existing_claim(request, certificate.pk)
        if existing is not None:
            request.session.pop(wizard.STATE_KEY, None)
            return _receipt(existing)
        try:
            claim = claim_submit(
                trainee=trainee,
                training_certificate=matching_training_certificate(certificate),
                level_certificate=certificate,
                bureau=chosen.bureau if chosen else None,
                actor=request.user,
            )
        except ClaimIneligible:
            existing = _existing_claim(request, certificate.pk)
            if existing is not None:
                request.session.pop(wizard.STATE_KEY, None)
                return _receipt(existing)
            messages.error(request, _("The claim no longer passes every rule; see the check below."))
            _save_state(request, {**state, "checked": False})
            return _goto("check")
        request.session.pop(wizard.STATE_KEY, None)
        return _receipt(claim)
    preview = _preview(request, certificate, chosen)
    return render(
        request,
        "portal/claim_confirm.html",
        _wizard_context(
            step,
            state,
            trainee=trainee,
            certificate=certificate,
            training_certificate=matching_training_certificate(certificate),
            chosen=chosen,
            computation=preview["computation"],
            measure=preview["measure"],
            uploads=claim_documents_visible_to(request.user).filter(claim__isnull=True),
        ),
    )


STEP_VIEWS = {
    "certificate": _step_certificate,
    "check": _step_check,
    "documents": _step_documents,
    "payee": _step_payee,
    "confirm": _step_confirm,
}


@trainee_page
def claim_start(request):
    """A fresh wizard (from My record or a certificate's page)."""
    request.session.pop(wizard.STATE_KEY, None)
    target = reverse("portal:claim-step", args=["certificate"])
    chosen = request.GET.get("level_certificate", "")
    return redirect(f"{target}?level_certificate={quote(chosen)}" if chosen.isdigit() else target)


# -- claims and messages -------------------------------------------------------------------------


@trainee_page
def claim_list(request):
    claims = claims_visible_to(request.user).select_related("occupation", "bureau").order_by("-submitted_at")
    return render(request, "portal/claim_list.html", {"claims": claims})


def _claim_or_404(request, pk):
    return get_object_or_404(
        claims_visible_to(request.user).select_related(
            "occupation", "bureau", "training_certificate", "level_certificate"
        ),
        pk=pk,
    )


@trainee_page
def claim_detail(request, pk: int):
    claim = _claim_or_404(request, pk)
    return render(
        request,
        "portal/claim_detail.html",
        {
            "claim": claim,
            "events": claim_events(claim),
            "documents": claim_documents_visible_to(request.user)
            .filter(claim=claim)
            .order_by("uploaded_at", "id"),
            "receipt": request.GET.get("receipt") == "1",
            "can_withdraw": claim.status == ClaimStatus.SUBMITTED,
        },
    )


@trainee_page
def claim_withdraw_view(request, pk: int):
    claim = _claim_or_404(request, pk)
    if request.method == "POST":
        try:
            claim_withdraw(claim=claim, actor=request.user)
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Claim No. %(number)s was withdrawn.") % {"number": claim.pk})
        return redirect("portal:claim", pk=claim.pk)
    return render(request, "portal/claim_withdraw.html", {"claim": claim})


@trainee_page
def inbox(request):
    page = Paginator(messages_visible_to(request.user), 20).get_page(request.GET.get("page"))
    return render(request, "portal/inbox.html", {"page": page})


@trainee_page
def message_detail(request, pk: int):
    message = get_object_or_404(messages_visible_to(request.user), pk=pk)
    message = message_mark_read(message=message, user=request.user)
    return render(request, "portal/message_detail.html", {"message": message})


@trainee_page
@require_POST
def messages_read_all(request):
    count = messages_mark_all_read(user=request.user)
    messages.success(request, _("%(count)s messages marked as read.") % {"count": count})
    return redirect("portal:inbox")


@trainee_page
def document_file(request, pk: int):
    """A supporting document's file, to its own trainee only (the scoped selector: anyone
    else's is a 404, never a 403 that confirms it exists)."""
    return document_response(get_object_or_404(claim_documents_visible_to(request.user), pk=pk))


# -- training on the record (考勤与评教) ---------------------------------------------------------


@trainee_page
def attendance(request):
    """我的考勤: per class, each session attended as it stands after corrections."""
    classes: dict[int, dict] = {}
    for record in attendance_for_trainee(trainee=request.trainee):
        entry = classes.setdefault(
            record.enrolment_id, {"enrolment": record.enrolment, "records": [], "minutes": 0}
        )
        entry["records"].append(record)
        entry["minutes"] += record.minutes
    enrolments = list(
        enrolments_visible_to(request.user).select_related("evaluation").order_by("-plan__start_date")
    )
    for enrolment in enrolments:
        enrolment.can_evaluate = (
            enrolment.completion_result != CompletionResult.PENDING and not _has_evaluation(enrolment)
        )
    return render(
        request,
        "portal/attendance.html",
        {"classes": list(classes.values()), "enrolments": enrolments},
    )


def _has_evaluation(enrolment) -> bool:
    # The reverse one-to-one raises RelatedObjectDoesNotExist, an AttributeError, when absent.
    return hasattr(enrolment, "evaluation")


@trainee_page
def evaluate(request, pk: int):
    """评教: after the completion test the trainee rates the class once."""
    enrolment = get_object_or_404(enrolments_visible_to(request.user), pk=pk)
    if _has_evaluation(enrolment):
        return render(
            request, "portal/evaluation.html", {"enrolment": enrolment, "done": enrolment.evaluation}
        )
    form = EvaluationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            evaluation_submit(enrolment=enrolment, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Thank you: your evaluation of the class was recorded."))
            return redirect("portal:attendance")
    return render(
        request,
        "portal/evaluation.html",
        {
            "enrolment": enrolment,
            "form": form,
            "completed": enrolment.completion_result != CompletionResult.PENDING,
        },
    )
