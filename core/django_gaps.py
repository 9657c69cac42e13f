"""Strings of Django's own admin templates that Django 5.2's zh_Hans catalogue lacks.

Marked here so that ``makemessages`` keeps them in the project's catalogue, whose
translations take precedence (LOCALE_PATHS), and the admin shows no English.
"""

from django.utils.translation import gettext_noop

DJANGO_ADMIN_STRINGS = (
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    gettext_noop("After you’ve created a user, you’ll be able to edit more user options."),
    gettext_noop(
        "Whether the user will be able to authenticate using a password or not. "
        "If disabled, they may still be able to authenticate using other backends, "
        "such as Single Sign-On or LDAP."
    ),
)
