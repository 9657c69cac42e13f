"""Writes on users: the role decides the organisation link and the permission group."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction

from accounts.models import ROLE_GROUPS, Role, User

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
