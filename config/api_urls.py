"""Every REST endpoint under /api/v1/. Each app exposes its views in ``<app>/api.py``."""

urlpatterns: list = []
