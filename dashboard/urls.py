from django.contrib import admin
from django.urls import path

from dashboard import views

app_name = "dashboard"

# Served under /admin/dashboard/ through the admin's own login and staff check; the view
# then refuses staff who are neither provincial nor bureau staff.
urlpatterns = [
    path("", admin.site.admin_view(views.progress), name="progress"),
]
