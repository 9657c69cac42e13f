"""Benchmark of the trainee service: the median answer time of every page with one client.

    python bench/portal.py [--repeat 30] [--database-url sqlite:////tmp/portal-bench.sqlite3]

Loads the demo (``load_demo``) into a dedicated SQLite file under bench/out/ (reused across
runs; or the database of ``--database-url``), then asks every page of the trainee service
through Django's test client, in-process (no network, no server: the view, the queries and
the template are what is timed), ``--repeat`` times each after one warm-up, as an anonymous
visitor or the demo login ``trainee`` (王小明). Reads only: the wizard is walked to its
confirmation page, never submitted. The target is a median under 150 ms per page.
The last line of output holds the figures as ``key=value`` pairs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
OUT = BASE_DIR / "bench" / "out"
TARGET_MS = 150


def _setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.pop("REDIS_URL", None)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def _ensure_demo() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from core.demo import demo_is_loaded

    if not demo_is_loaded():
        call_command("load_demo", verbosity=0)


def _pages():
    """(name, path, who) for every page; ids are taken from the demo."""
    from certificates.models import LevelCertificate
    from institutions.models import PlanStatus, TrainingPlan
    from subsidies.models import SubsidyClaim

    plan = TrainingPlan.objects.filter(status=PlanStatus.ACCEPTED).order_by("-start_date").first()
    claim = SubsidyClaim.objects.filter(trainee__user__username="trainee").order_by("-id").first()
    certificate = (
        LevelCertificate.objects.filter(trainee__user__username="trainee").order_by("-issued_on").first()
    )
    anonymous = [
        ("home", "/"),
        ("plans", "/plans/"),
        ("plans-filtered", f"/plans/?city={plan.institution.city_id}&occupation={plan.occupation_id}"),
        ("plan", f"/plans/{plan.pk}/"),
        ("apply", f"/plans/{plan.pk}/apply/"),
        ("standards", "/standards/"),
        ("how-to-claim", "/how-to-claim/"),
        ("certificate-check", "/certificates/check/"),
        ("login", "/login/"),
        ("activate", "/activate/"),
        ("reset", "/password/reset/"),
    ]
    trainee = [
        ("me", "/me/"),
        ("certificate", f"/me/certificates/{certificate.pk}/"),
        ("wizard-certificate", "/me/claim/certificate/"),
        ("wizard-check", "/me/claim/check/"),
        ("wizard-payee", "/me/claim/payee/"),
        ("wizard-confirm", "/me/claim/confirm/"),
        ("claims", "/me/claims/"),
        ("claim", f"/me/claims/{claim.pk}/"),
        ("withdraw-confirm", f"/me/claims/{claim.pk}/withdraw/"),
        ("inbox", "/me/messages/"),
        ("password-change", "/me/password/"),
    ]
    return anonymous, trainee, certificate


def _median_ms(client, path: str, repeat: int) -> float:
    response = client.get(path)  # warm-up; also proves the page answers
    assert response.status_code == 200, (path, response.status_code)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--database-url", default=f"sqlite:///{OUT / 'portal-bench.sqlite3'}")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    _setup_django(args.database_url)
    _ensure_demo()
    from django.conf import settings
    from django.test import Client

    from accounts.models import User
    from portal import wizard
    from subsidies.selectors import claims_visible_to

    settings.ALLOWED_HOSTS = ["testserver"]
    anonymous, trainee_pages, certificate = _pages()
    visitor = Client()
    user = User.objects.get(username="trainee")
    logged_in = Client()
    logged_in.force_login(user)
    # The wizard's state for the last steps: the demo trainee's certificate at its bureau.
    claim = claims_visible_to(user).select_related("bureau").first()
    session = logged_in.session
    session[wizard.STATE_KEY] = {
        "level_certificate": certificate.pk,
        "bureau": claim.bureau_id,
        "checked": True,
        "payee": True,
    }
    session.save()
    figures = {}
    for name, path in anonymous:
        figures[name] = _median_ms(visitor, path, args.repeat)
    for name, path in trainee_pages:
        figures[name] = _median_ms(logged_in, path, args.repeat)
    width = max(len(n) for n in figures)
    for name, ms in figures.items():
        flag = "" if ms < TARGET_MS else "  OVER TARGET"
        print(f"{name:<{width}}  {ms:7.1f} ms{flag}")
    worst = max(figures, key=figures.get)
    print(
        f"pages={len(figures)} repeat={args.repeat} worst={worst} worst_ms={figures[worst]:.1f} "
        f"over_target={sum(ms >= TARGET_MS for ms in figures.values())}"
    )


if __name__ == "__main__":
    main()
