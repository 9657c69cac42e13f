"""The shape of ARCHITECTURE.md holds: import-linter checks the contracts declared in
pyproject.toml (apps in floors, core knowing no domain, no import circles, services below
the edges), and every app of the project is under them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from django.conf import settings

BASE = Path(settings.BASE_DIR)
CONFIG = tomllib.loads((BASE / "pyproject.toml").read_text())["tool"]["importlinter"]
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint_imports(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", LINT, "--no-cache", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(cwd)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def contract(contract_id: str) -> dict:
    return next(c for c in CONFIG["contracts"] if c["id"] == contract_id)


def project_apps() -> set[str]:
    """The apps of INSTALLED_APPS that live in this repository."""
    return {app.split(".")[0] for app in settings.INSTALLED_APPS if (BASE / app.split(".")[0]).is_dir()}


def test_the_import_contracts_are_kept():
    result = lint_imports(BASE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Contracts: (\d+) kept, 0 broken", result.stdout), result.stdout


def test_every_app_of_the_project_stands_on_a_floor():
    floors = {name.strip().strip("()") for layer in contract("floors")["layers"] for name in layer.split("|")}
    apps = project_apps() | {"config"}
    assert apps <= set(CONFIG["root_packages"])
    assert apps <= floors
    assert set(contract("no-cycles")["ancestors"]) == apps
    domain = apps - {"config", "core"}
    assert set(contract("core-knows-no-domain")["forbidden_modules"]) == domain


def test_an_upward_import_breaks_the_floors(tmp_path):
    """The check can fail: a copy of the code where institutions imports trainees is refused."""
    for package in CONFIG["root_packages"]:
        shutil.copytree(BASE / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(BASE / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / "institutions" / "services.py").open("a") as services:
        services.write("\nfrom trainees.models import Trainee  # noqa: E402,F401\n")

    result = lint_imports(tmp_path, "--contract", "floors")

    assert result.returncode != 0
    assert "institutions is not allowed to import trainees" in result.stdout, result.stdout


def test_the_readme_names_every_app_on_its_floor():
    readme = (BASE / "README.md").read_text()
    section = readme.split("## How the parts fit", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| \d+ \| `(\w+)/` \|", section, flags=re.MULTILINE)
    assert sorted(listed) == sorted(project_apps() | {"config"})
