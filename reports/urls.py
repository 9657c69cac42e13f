from django.urls import path

from reports.views import ReportDownloadView

app_name = "reports"

urlpatterns = [
    path("<int:pk>/download/", ReportDownloadView.as_view(), name="download"),
]
