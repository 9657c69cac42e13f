"""Forms of the trainee service. Every field is labelled; errors come back beside the field."""

from __future__ import annotations

import datetime

from django import forms
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.utils.translation import gettext_lazy as _

from institutions.models import TrainingInstitution
from reference.models import City, Level, Occupation
from subsidies.models import DocumentKind
from trainees.models import PayeeKind, TraineeCategory


class PortalForm(forms.Form):
    """Put a service's per-field detail beside its fields; anything else on top."""

    def add_service_errors(self, exc) -> None:
        detail = exc.detail if isinstance(exc.detail, dict) else {}
        placed = False
        for field, message in detail.items():
            if field in self.fields:
                self.add_error(field, str(message))
                placed = True
        if not placed:
            self.add_error(None, str(exc.message))


class PlanSearchForm(forms.Form):
    q = forms.CharField(label=_("Keyword"), required=False, max_length=50)
    city = forms.ModelChoiceField(
        label=_("City"),
        queryset=City.objects.filter(in_zhejiang=True).order_by("code"),
        required=False,
        empty_label=_("All cities"),
    )
    occupation = forms.ModelChoiceField(
        label=_("Occupation"),
        queryset=Occupation.objects.all(),
        required=False,
        empty_label=_("All occupations"),
    )
    level = forms.ChoiceField(
        label=_("Level"), choices=[("", _("All levels")), *Level.choices], required=False
    )
    start_month = forms.DateField(
        label=_("Start month"),
        required=False,
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )
    institution = forms.ModelChoiceField(
        label=_("Training institution"),
        queryset=TrainingInstitution.objects.order_by("name"),
        required=False,
        empty_label=_("All institutions"),
    )
    open_only = forms.BooleanField(label=_("Only classes taking applications"), required=False)


def _city_field(label, required=False):
    return forms.ModelChoiceField(
        label=label,
        queryset=City.objects.order_by("-in_zhejiang", "code"),
        required=required,
        empty_label=_("(choose)"),
    )


class ApplicationForm(PortalForm):
    name = forms.CharField(label=_("Full name"), max_length=50)
    resident_id = forms.CharField(label=_("Resident ID number"), max_length=18, min_length=18)
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        help_text=_("We tell you the institution's answer by SMS here."),
    )
    category = forms.ChoiceField(label=_("Category"), choices=TraineeCategory.choices)
    household_city = _city_field(_("Household-registration city"), required=True)
    residence_city = _city_field(_("Usual-residence city"))
    employment_city = _city_field(_("Job-seeking or employment city"))
    school_name = forms.CharField(label=_("School (graduates)"), max_length=100, required=False)
    school_city = _city_field(_("School city (graduates)"))
    graduation_year = forms.IntegerField(
        label=_("Graduation year (graduates)"), required=False, min_value=2000, max_value=2100
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resident_id"].widget.attrs.update(autocomplete="off", inputmode="text")
        self.fields["phone"].widget.attrs.update(autocomplete="tel", inputmode="tel")
        self.fields["name"].widget.attrs.update(autocomplete="name")

    def clean(self):
        data = super().clean()
        if data.get("category") == TraineeCategory.GRADUATE:
            if not data.get("school_city"):
                self.add_error("school_city", _("A graduate gives the school's city."))
            if not data.get("graduation_year"):
                self.add_error("graduation_year", _("A graduate gives the graduation year."))
        return data


class IdentityForm(PortalForm):
    resident_id = forms.CharField(label=_("Resident ID number"), max_length=18, min_length=15)
    name = forms.CharField(label=_("Full name"), max_length=50)
    phone = forms.CharField(
        label=_("Phone number on record"),
        max_length=20,
        help_text=_("The number your training institution registered; the code is sent there."),
    )


class CodeForm(PortalForm):
    code = forms.CharField(label=_("Code from the SMS"), max_length=6, min_length=6)
    password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html,
    )
    password2 = forms.CharField(
        label=_("New password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.update(autocomplete="one-time-code", inputmode="numeric")

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ; type the same password twice."))
        return data


class ActivationCodeForm(CodeForm):
    consent = forms.BooleanField(
        label=_("I have read the personal-information notice above and agree to it."),
        required=True,
        error_messages={"required": _("Agree to the notice to open an account.")},
    )


class LoginForm(PortalForm):
    identifier = forms.CharField(label=_("Resident ID number or phone number"), max_length=30)
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["identifier"].widget.attrs.update(autocomplete="username")


class CertificateLookupForm(PortalForm):
    number = forms.CharField(label=_("Certificate number"), max_length=40)
    name = forms.CharField(label=_("Holder's full name"), max_length=50)


class BureauChoiceForm(forms.Form):
    bureau = forms.ChoiceField(label=_("Bureau to claim at"))

    def __init__(self, *args, allowed=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bureau"].choices = [
            (str(a.bureau.pk), f"{a.bureau.name}（{a.basis_label}）") for a in allowed
        ]


class PayeeForm(PortalForm):
    kind = forms.ChoiceField(label=_("Type of account"), choices=PayeeKind.choices, widget=forms.RadioSelect)
    bank_name = forms.CharField(
        label=_("Bank"), max_length=50, help_text=_("For example 中国工商银行杭州分行")
    )
    account = forms.CharField(label=_("Account number"), max_length=40)
    own_name = forms.BooleanField(
        label=_("The account is in my own name."),
        required=True,
        error_messages={
            "required": _("The subsidy is paid only to an account in your own name; confirm it.")
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].widget.attrs.update(inputmode="numeric", autocomplete="off")


class DocumentUploadForm(PortalForm):
    """One supporting document; its size and type are judged by ``claim_document_attach``."""

    kind = forms.ChoiceField(label=_("Which document"))
    file = forms.FileField(
        label=_("File"),
        help_text=_("A photo or scan: PDF, JPG or PNG, at most 5 MB."),
        max_length=200,
    )

    def __init__(self, *args, kinds=(), **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(DocumentKind.choices)
        offered = [k for k in dict.fromkeys(kinds) if k in labels] or list(labels)
        self.fields["kind"].choices = [(k, labels[k]) for k in offered]
        self.fields["file"].widget.attrs.update(
            accept=".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"
        )


SCORES = [(n, str(n)) for n in range(5, 0, -1)]
SCORE_ERRORS = {
    "required": _("Choose a score from 1 to 5."),
    "invalid_choice": _("Choose a score from 1 to 5."),
}


def _score(label):
    return forms.TypedChoiceField(
        label=label, choices=SCORES, coerce=int, widget=forms.RadioSelect, error_messages=SCORE_ERRORS
    )


class EvaluationForm(PortalForm):
    """评教: 1-5 on content, teaching and organisation, and a comment."""

    content = _score(_("Content of the course"))
    teaching = _score(_("Teaching"))
    organisation = _score(_("Organisation of the class"))
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


def month_start(value: datetime.date | None) -> datetime.date | None:
    return value.replace(day=1) if value else None
