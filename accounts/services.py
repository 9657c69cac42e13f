"""Writes on users: the role decides the organisation link and the permission group."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ROLE_GROUPS, Message, Role, User

# Roles that work in the Django admin (institution staff get a restricted one).
ADMIN_ROLES = {Role.PROVINCIAL, Role.BUREAU, Role.INSTITUTION, Role.EVALUATOR}


def user_sync_role_group(*, user: User) -> User:
    """Make the user's role groups match the role: exactly the role's group, no other role's.

    Groups that are not role groups (added by hand for a special duty) are left alone.
    """
    role_group_names = set(ROLE_GROUPS.values())
    wanted = ROLE_GROUPS.get(Role(user.role)) if user.role else None
    stale = user.groups.filter(name__in=role_group_names)
    if wanted:
        stale = stale.exclude(name=wanted)
    user.groups.remove(*stale)
    if wanted:
        user.groups.add(Group.objects.get(name=wanted))
    return user


@transaction.atomic
def user_set_role(
    *,
    user: User,
    role: str,
    bureau=None,
    institution=None,
    evaluator=None,
    actor: User | None = None,
) -> User:
    """Give ``user`` a role and its organisation; permissions follow through the role's group.

    Admin access (``is_staff``) follows the role too, except for superusers who keep theirs.
    """
    user.role = role
    user.bureau = bureau
    user.institution = institution
    user.evaluator = evaluator
    if not user.is_superuser:
        user.is_staff = bool(role) and Role(role) in ADMIN_ROLES
    user.full_clean()
    user.save()
    return user_sync_role_group(user=user)


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    role: str = "",
    bureau=None,
    institution=None,
    evaluator=None,
    is_superuser: bool = False,
    actor: User | None = None,
    **fields,
) -> User:
    """Create a user with a role (and its group). ``password=None`` leaves it unusable."""
    user = User(username=username, is_superuser=is_superuser, **fields)
    if is_superuser:
        user.is_staff = True
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    return user_set_role(
        user=user, role=role, bureau=bureau, institution=institution, evaluator=evaluator, actor=actor
    )


def message_send(
    *,
    recipient: User,
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    subject=None,
) -> Message:
    """Write one message (站内信) to ``recipient``.

    Call it inside the transaction of the change it reports, so both commit or neither does.
    ``subject`` is the model instance the message is about (optional).
    """
    message = Message(recipient=recipient, kind=kind, title=str(title)[:120], body=str(body), link=link)
    if subject is not None:
        message.subject_type = subject._meta.label_lower
        message.subject_id = subject.pk
    # The one constraint (a local link) is checked here in words; the database holds it too.
    if message.link and not message.link.startswith("/"):
        raise ValidationError({"link": _("A message may only link to a page of this site.")})
    message.full_clean(exclude=["recipient"], validate_constraints=False)
    message.save()
    return message


def message_mark_read(*, message: Message, user: User) -> Message:
    """Mark one of the user's own messages read (a no-op if it already is)."""
    if message.recipient_id != user.pk:
        raise Message.DoesNotExist
    if message.read_at is None:
        Message.objects.filter(pk=message.pk, read_at__isnull=True).update(read_at=timezone.now())
        message.refresh_from_db(fields=["read_at"])
    return message


def messages_mark_all_read(*, user: User) -> int:
    return Message.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())
