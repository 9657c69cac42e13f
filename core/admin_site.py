"""The admin site of the programme: Django's, with the list of apps worked out only where a
page shows it.

Django puts the list of every app and model the user may see into the context of every
admin page (``available_apps``), for the navigation sidebar. The sidebar is off here
(core/admin.py), so on most pages nothing reads the list, yet building it (a permission
check and a URL for each of some forty models) was a third of the progress dashboard's
time. Here it is built when a template first reads it: the index and an app's index
still list everything as before.
"""

from __future__ import annotations

from functools import partial

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.utils.functional import SimpleLazyObject


class AdminSite(admin.AdminSite):
    def get_app_list(self, request, app_label=None):
        return SimpleLazyObject(partial(super().get_app_list, request, app_label))


class AdminConfig(DjangoAdminConfig):
    default_site = "core.admin_site.AdminSite"
