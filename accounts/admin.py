"""Users in the admin: the role and its organisation on the forms; permissions follow the role.

Only superusers and provincial staff manage users. Provincial staff neither see nor set the
superuser flag, groups or individual permissions (the role's group is assigned on save), and
cannot change a superuser, so nobody can raise their own rights through this page.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from accounts.forms import ThrottledAdminAuthenticationForm
from accounts.models import ApiTokenUse, LoginAttemptCounter, Message, Role, User
from accounts.selectors import messages_visible_to
from accounts.services import message_mark_read, user_set_role, user_sync_role_group

ROLE_FIELDS = ("role", "bureau", "institution", "evaluator")


class UserCreateForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", *ROLE_FIELDS)


class UserEditForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User


def _may_manage_users(user) -> bool:
    return user.is_active and (user.is_superuser or user.role == Role.PROVINCIAL)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreateForm
    list_display = ("username", "full_name", "role", "organisation_display", "is_active", "last_login")
    list_filter = (
        "role",
        "is_active",
        "is_staff",
        ("bureau", admin.RelatedOnlyFieldListFilter),
        ("institution", admin.RelatedOnlyFieldListFilter),
        ("evaluator", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = (
        "username",
        "first_name",
        "last_name",
        "email",
        "bureau__name",
        "institution__name",
        "evaluator__name",
    )
    list_select_related = ("bureau", "institution", "evaluator")
    ordering = ("role", "username")
    readonly_fields = ("linked_trainee", "last_login", "date_joined")

    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "usable_password", "password1", "password2")}),
        (
            _("Role and organisation"),
            {
                "fields": ROLE_FIELDS,
                "description": _(
                    "Bureau reviewers name their city bureau, provincial staff the provincial "
                    "department; institution and evaluation staff name their institution."
                ),
            },
        ),
    )

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.add_fieldsets
        permissions = ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")
        if not request.user.is_superuser:
            permissions = ("is_active",)
        return (
            (None, {"fields": ("username", "password")}),
            (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
            (_("Role and organisation"), {"fields": (*ROLE_FIELDS, "linked_trainee")}),
            (_("Permissions"), {"fields": permissions}),
            (_("Important dates"), {"fields": ("last_login", "date_joined")}),
        )

    @admin.display(description=_("full name"))
    def full_name(self, obj: User) -> str:
        return obj.get_full_name()

    @admin.display(description=_("organisation"))
    def organisation_display(self, obj: User):
        return obj.organisation or "-"

    @admin.display(description=_("trainee record"))
    def linked_trainee(self, obj: User):
        trainee = getattr(obj, "trainee", None) if obj.pk else None
        return trainee or "-"

    # Who may manage users at all (the group permission is necessary, the role too).
    def has_module_permission(self, request):
        return _may_manage_users(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return _may_manage_users(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return _may_manage_users(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return _may_manage_users(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        # Users act on claims and plans; deactivate them instead (is_active).
        return False

    def save_model(self, request, obj, form, change):
        # The role decides the organisation check, admin access and the permission group.
        user_set_role(
            user=obj,
            role=obj.role,
            bureau=obj.bureau,
            institution=obj.institution,
            evaluator=obj.evaluator,
            actor=request.user,
        )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # The form may have rewritten the groups (superusers see the field); the role's
        # group is not optional.
        user_sync_role_group(user=form.instance)


# The admin login goes through the shared login throttle and says when it refused.
admin.site.login_form = ThrottledAdminAuthenticationForm


@admin.register(LoginAttemptCounter)
class LoginAttemptCounterAdmin(admin.ModelAdmin):
    """Who is being throttled. Deleting a counter lets that account or address sign in again
    at once (the refusal message tells users to ask an administrator)."""

    list_display = ("key", "attempts", "window_ends")
    search_fields = ("key",)
    ordering = ("-window_ends",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ApiTokenUse)
class ApiTokenUseAdmin(admin.ModelAdmin):
    """When each API token was last used (it expires after API_TOKEN_IDLE_SECONDS idle)."""

    list_display = ("token_user", "last_used_at")
    search_fields = ("token__user__username",)
    list_select_related = ("token__user",)

    @admin.display(description=_("user"), ordering="token__user__username")
    def token_user(self, obj):
        return obj.token.user

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Staff read their own messages (站内信) here: a finished job, a report ready."""

    list_display = ("title", "kind", "created_at", "read_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("title", "body")
    readonly_fields = ("kind", "title", "body", "link", "created_at", "read_at")
    fields = readonly_fields
    actions = ["mark_read"]

    def get_queryset(self, request):
        return messages_visible_to(request.user)

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        message = self.get_object(request, object_id)
        if message is not None:
            message_mark_read(message=message, user=request.user)
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Mark as read"))
    def mark_read(self, request, queryset):
        for message in queryset.filter(read_at__isnull=True):
            message_mark_read(message=message, user=request.user)
