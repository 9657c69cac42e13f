"""File responses of the subsidies app, shared by the API and the admin."""

from __future__ import annotations

from django.http import FileResponse


def document_response(document) -> FileResponse:
    """A claim document's file, shown inline, typed by what was checked at upload (never by
    its name), never cached by a shared cache."""
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=False,
        filename=document.original_name,
        content_type=document.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
