"""In-site messages (站内信): written with the change they report, read only by the recipient."""

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Message, MessageKind
from accounts.selectors import messages_visible_to, unread_message_count
from accounts.services import message_mark_read, message_send, messages_mark_all_read
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_message_is_seen_by_its_recipient_only():
    alice, bob = UserFactory(), UserFactory()
    message_send(recipient=alice, kind=MessageKind.SYSTEM, title="你好", body="正文")
    assert [m.title for m in messages_visible_to(alice)] == ["你好"]
    assert list(messages_visible_to(bob)) == []
    assert unread_message_count(alice) == 1
    assert unread_message_count(bob) == 0


def test_marking_read_counts_down_and_another_user_cannot_mark_it():
    alice, bob = UserFactory(), UserFactory()
    message = message_send(recipient=alice, kind=MessageKind.SYSTEM, title="一")
    message_send(recipient=alice, kind=MessageKind.SYSTEM, title="二")
    with pytest.raises(Message.DoesNotExist):
        message_mark_read(message=message, user=bob)
    message_mark_read(message=message, user=alice)
    assert unread_message_count(alice) == 1
    assert messages_mark_all_read(user=alice) == 1
    assert unread_message_count(alice) == 0


def test_a_message_links_only_to_this_site():
    alice = UserFactory()
    with pytest.raises(ValidationError):
        message_send(recipient=alice, kind=MessageKind.SYSTEM, title="钓鱼", link="https://evil.example/")
    assert not Message.objects.exists()
