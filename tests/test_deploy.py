"""The deploy files agree with the package: what Heroku and Docker install is what we test."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK_COMMAND = "uv pip compile pyproject.toml --python-version 3.11 -o requirements.txt"


def pinned() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            (spec,) = requirement.specifier  # exactly one `==` pin per line
            assert spec.operator == "==", line
            pins[canonicalize_name(requirement.name)] = spec.version
    return pins


def test_every_dependency_is_pinned_within_its_lower_bound() -> None:
    """`requirements.txt` (Heroku's buildpack, the Dockerfile, CI) is in step with
    pyproject.toml; after changing a dependency, run the lock command again."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = pinned()
    for line in project["dependencies"]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.txt: run `{LOCK_COMMAND}`"
        assert requirement.specifier.contains(pins[name]), (
            f"{name}=={pins[name]} is outside {requirement.specifier}: run `{LOCK_COMMAND}`"
        )
        for extra in requirement.extras:  # psycopg[binary] needs psycopg-binary
            assert canonicalize_name(f"{name}-{extra}") in pins


def test_procfile_runs_the_module_that_the_buildpack_does_not_install() -> None:
    """Heroku installs requirements.txt, not the project: `python -m bot` runs from the
    checkout, the console script would not exist."""
    processes = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert processes == {
        "release": "python -m bot migrate",
        "web": "python -m bot serve --no-worker",
        "worker": "python -m bot worker",
    }


def test_the_heroku_button_asks_for_postgres_and_the_slack_secrets() -> None:
    app = json.loads((ROOT / "app.json").read_text())
    assert any(a["plan"].startswith("heroku-postgresql") for a in app["addons"])
    required = {name for name, var in app["env"].items() if var.get("required")}
    assert required == {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"}
    assert set(app["formation"]) == {"web", "worker"}


def test_the_image_installs_the_lock_and_compose_runs_every_process() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install -r requirements.txt" in dockerfile
    assert re.search(r"pip install --no-deps \.", dockerfile)
    compose = (ROOT / "compose.yaml").read_text()
    for service in ("db:", "release:", "web:", "worker:"):
        assert f"\n  {service}" in compose
    assert '["careintro", "migrate"]' in compose
