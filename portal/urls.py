from django.urls import path, register_converter

from portal import views


class IdConverter:
    """A row id: at most 18 digits, so a longer number is a 404, never a database error
    (PostgreSQL's bigint ends at 19 digits)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


register_converter(IdConverter, "portal_id")

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("plans/", views.plan_list, name="plans"),
    path("plans/<portal_id:pk>/", views.plan_detail, name="plan"),
    path("plans/<portal_id:pk>/apply/", views.plan_apply, name="plan-apply"),
    path("standards/", views.standards, name="standards"),
    path("how-to-claim/", views.how_to_claim, name="how-to-claim"),
    path("certificates/check/", views.certificate_check, name="certificate-check"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("activate/", views.activate, name="activate"),
    path("activate/code/", views.activate_code, name="activate-code"),
    path("password/reset/", views.reset, name="reset"),
    path("password/reset/code/", views.reset_code, name="reset-code"),
    path("me/", views.me, name="me"),
    path("me/password/", views.password_change, name="password-change"),
    path("me/certificates/<portal_id:pk>/", views.certificate_detail, name="certificate"),
    path("me/claim/", views.claim_start, name="claim-start"),
    path("me/claim/<slug:step>/", views.claim_step, name="claim-step"),
    path("me/claims/", views.claim_list, name="claims"),
    path("me/claims/<portal_id:pk>/", views.claim_detail, name="claim"),
    path("me/claims/<portal_id:pk>/withdraw/", views.claim_withdraw_view, name="claim-withdraw"),
    path("me/documents/<portal_id:pk>/", views.document_file, name="document"),
    path("me/attendance/", views.attendance, name="attendance"),
    path("me/classes/<portal_id:pk>/evaluate/", views.evaluate, name="evaluate"),
    path("me/messages/", views.inbox, name="inbox"),
    path("me/messages/read-all/", views.messages_read_all, name="messages-read-all"),
    path("me/messages/<portal_id:pk>/", views.message_detail, name="message"),
]
