from django.urls import path

from reports.views import ReportDownloadView, ReportPdfDownloadView

app_name = "reports"

urlpatterns = [
    path("<int:pk>/download/", ReportDownloadView.as_view(), name="download"),
    path("<int:pk>/pdf/", ReportPdfDownloadView.as_view(), name="download_pdf"),
]
