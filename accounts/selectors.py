"""Reads on users' messages (站内信)."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Message


def messages_visible_to(user) -> QuerySet[Message]:
    """A user sees their own messages only, newest first."""
    if not getattr(user, "is_authenticated", False):
        return Message.objects.none()
    return Message.objects.filter(recipient=user)


def unread_message_count(user) -> int:
    return messages_visible_to(user).filter(read_at__isnull=True).count()
