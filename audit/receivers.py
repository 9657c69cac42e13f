"""Logins and permission changes, written to the access log wherever they happen.

Django's ``user_logged_in`` / ``user_login_failed`` / ``user_logged_out`` are sent by the admin
login, the trainee service's login and the API token view, so one receiver covers every door.
Permission changes are caught on the user model and the group tables themselves: a role,
organisation, staff or superuser flag, active flag, group or permission that changes by
whatever path (the user admin, ``user_set_role``, a command) leaves a row naming the before
and after; the actor is the request's user, or none for a command.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_save, pre_save
from django.dispatch import receiver
from django.utils.translation import gettext

from audit.models import AccessKind
from audit.services import access_log_record

User = get_user_model()

# What decides a user's rights: a change to any of these is a permission change.
RIGHTS_FIELDS = (
    "role",
    "bureau_id",
    "institution_id",
    "evaluator_id",
    "is_staff",
    "is_superuser",
    "is_active",
)


@receiver(user_logged_in, dispatch_uid="audit.login")
def _logged_in(sender, request, user, **kwargs):
    access_log_record(kind=AccessKind.LOGIN, actor=user, obj=user)


@receiver(user_login_failed, dispatch_uid="audit.login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    # ``credentials`` has the password scrubbed by Django; keep only the name as typed.
    username = str(credentials.get("username") or credentials.get(User.USERNAME_FIELD) or "")
    access_log_record(kind=AccessKind.LOGIN_FAILED, actor=None, username=username, what="")


@receiver(user_logged_out, dispatch_uid="audit.logout")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        access_log_record(kind=AccessKind.LOGOUT, actor=user, obj=user)


def _actor():
    from audit.context import current_request

    request = current_request()
    user = getattr(request, "user", None) if request is not None else None
    return user if user is not None and user.is_authenticated else None


def _label(name: str) -> str:
    return str(User._meta.get_field(name.removesuffix("_id")).verbose_name)


def _rights(user) -> dict:
    return {name: getattr(user, name, None) for name in RIGHTS_FIELDS}


@receiver(pre_save, sender=User, dispatch_uid="audit.user_rights_before")
def _remember_rights(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None:
        instance._audit_rights_before = None
        return
    old = sender._base_manager.filter(pk=instance.pk).values(*RIGHTS_FIELDS).first()
    instance._audit_rights_before = old


@receiver(post_save, sender=User, dispatch_uid="audit.user_rights_after")
def _record_rights(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    after = _rights(instance)
    before = getattr(instance, "_audit_rights_before", None)
    if created or before is None:
        changes = [
            f"{_label(name)}={after[name]}" for name in RIGHTS_FIELDS if after[name] not in (None, "", False)
        ]
        what = gettext("created: %(rights)s") % {"rights": ", ".join(changes)}
    else:
        changes = [
            f"{_label(name)}: {before[name]} -> {after[name]}"
            for name in RIGHTS_FIELDS
            if before[name] != after[name]
        ]
        if not changes:
            return
        what = "; ".join(changes)
    instance._audit_rights_before = after
    access_log_record(kind=AccessKind.PERMISSION_CHANGE, actor=_actor(), obj=instance, what=what)


@receiver(post_save, sender=Group, dispatch_uid="audit.group_raw")
@receiver(post_save, sender=User, dispatch_uid="audit.user_raw")
def _mark_raw(sender, instance, raw=False, **kwargs):
    # Fixture loading (loaddata, a test database's serialized rollback) saves raw and then sets
    # the many-to-many rows on the same instance: that restores rights, it does not change them.
    instance._audit_raw = raw


def _names(model, pk_set) -> str:
    if not pk_set:
        return ""
    if model is Permission:
        rows = Permission.objects.filter(pk__in=pk_set).values_list("content_type__app_label", "codename")
        return ",".join(sorted(f"{app}.{code}" for app, code in rows))
    return ",".join(
        sorted(str(name) for name in model._base_manager.filter(pk__in=pk_set).values_list("name", flat=True))
    )


def _m2m(relation: str):
    def handler(sender, instance, action, reverse, model, pk_set, **kwargs):
        if action not in ("post_add", "post_remove", "pre_clear") or getattr(instance, "_audit_raw", False):
            return
        if action == "pre_clear":
            # The rows are gone after the clear; name them before.
            related = getattr(instance, relation) if not reverse else None
            pk_set = set(related.values_list("pk", flat=True)) if related is not None else set()
            if not pk_set:
                return
        sign = "+" if action == "post_add" else "-"
        if reverse:
            # ``group.user_set.add(user)``: the instance is the group, pk_set the users.
            for user in User._base_manager.filter(pk__in=pk_set or ()):
                access_log_record(
                    kind=AccessKind.PERMISSION_CHANGE,
                    actor=_actor(),
                    obj=user,
                    what=f"{_label(relation)} {sign}{_names(type(instance), {instance.pk})}",
                )
            return
        if not pk_set:
            return
        access_log_record(
            kind=AccessKind.PERMISSION_CHANGE,
            actor=_actor(),
            obj=instance,
            what=f"{_label(relation)} {sign}{_names(model, pk_set)}",
        )

    return handler


m2m_changed.connect(_m2m("groups"), sender=User.groups.through, dispatch_uid="audit.user_groups", weak=False)
m2m_changed.connect(
    _m2m("user_permissions"),
    sender=User.user_permissions.through,
    dispatch_uid="audit.user_perms",
    weak=False,
)


@receiver(m2m_changed, sender=Group.permissions.through, dispatch_uid="audit.group_perms")
def _group_permissions(sender, instance, action, reverse, model, pk_set, **kwargs):
    if (
        action not in ("post_add", "post_remove", "pre_clear")
        or reverse
        or getattr(instance, "_audit_raw", False)
    ):
        return
    if action == "pre_clear":
        pk_set = set(instance.permissions.values_list("pk", flat=True))
    if not pk_set:
        return
    sign = "+" if action == "post_add" else "-"
    access_log_record(
        kind=AccessKind.PERMISSION_CHANGE,
        actor=_actor(),
        obj=instance,
        what=f"{Group._meta.get_field('permissions').verbose_name} {sign}{_names(Permission, pk_set)}",
    )
