from celery import shared_task

from accounts.authentication import tokens_purge_idle
from accounts.throttle import login_counters_purge


@shared_task(ignore_result=True)
def purge_login_counters() -> None:
    login_counters_purge()


@shared_task(ignore_result=True)
def purge_idle_tokens() -> None:
    tokens_purge_idle()
