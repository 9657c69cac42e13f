from celery import shared_task

from core.health import heartbeat_record


@shared_task(ignore_result=True, expires=55)
def worker_heartbeat() -> None:
    """A worker answered: stamp the time for /health/ (core/health.py)."""
    heartbeat_record()
