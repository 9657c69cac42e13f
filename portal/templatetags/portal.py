from django import template

from accounts.selectors import unread_message_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_messages(context) -> int:
    """The header's unread count, for a logged-in trainee only (one query)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.role != "trainee":
        return 0
    return unread_message_count(user)
