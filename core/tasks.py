from celery import shared_task
from celery.signals import worker_ready

from core.health import heartbeat_record
from core.import_admin import purge_abandoned_uploads


@shared_task(ignore_result=True, expires=55)
def worker_heartbeat() -> None:
    """A worker answered: stamp the time for /health/ (core/health.py)."""
    heartbeat_record()


@worker_ready.connect
def _heartbeat_on_start(**kwargs) -> None:
    # Beat's first heartbeat comes a minute after start; /health/ need not fail until then.
    heartbeat_record()


@shared_task(ignore_result=True)
def purge_import_uploads() -> int:
    """Hourly: uploads kept for an import preview that was never confirmed (core/import_admin.py)."""
    return purge_abandoned_uploads()
