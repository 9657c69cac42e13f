from django import template

from core.admin_todos import todos_for

register = template.Library()


@register.simple_tag(takes_context=True)
def admin_todos(context):
    """The to-do items for the user of this request (see ``core.admin_todos``)."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return []
    return todos_for(request)
