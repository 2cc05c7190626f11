"""The compose files and Dockerfiles: compose, the compose-spec schema and hadolint accept them; the
project's own rules hold; and the images refuse a bad volume with one clear line.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.compose import (
    BRIDGE_FILE,
    COMPOSE_FILE,
    REPO_ROOT,
    ComposeStack,
    compose_cli_unavailable_reason,
)
from harness.net import free_port
from harness.waiting import wait_for
from tests.e2e.conftest import require_engine

pytestmark = [pytest.mark.compose, pytest.mark.timeout(600)]

DOCKERFILES = sorted(REPO_ROOT.glob("services/*/Dockerfile"))
SERVICES = ("redis", "poller", "artwork", "fakesonos")
CONFIG_CHECKS = {"poller-config": "poller", "artwork-config": "artwork"}
BIN = Path(sys.executable).parent
BRIDGE_SETTINGS = {"SONOS_SPEAKERS": "192.168.1.20", "EVENT_ADVERTISE_IP": "192.168.1.10"}


class _ComposeLoader(yaml.SafeLoader):
    """PyYAML plus compose's `!reset` merge tag (read as null)."""


_ComposeLoader.add_constructor("!reset", lambda _loader, _node: None)


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.load((REPO_ROOT / name).read_text(), Loader=_ComposeLoader)
    return document


def tool(name: str) -> str:
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (pip install -r requirements-dev.txt)")
    return path


@pytest.fixture(scope="module")
def cli() -> None:
    reason = compose_cli_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[ComposeStack]:
    """A project for `config` and one-off `run`s, removed afterwards."""
    project = ComposeStack(project=f"sonosart-files-{uuid.uuid4().hex[:8]}", env={}, workdir=tmp_path)
    yield project
    if compose_cli_unavailable_reason() is None and project.env.get("USED_ENGINE"):
        project.run("down", "-v", "--remove-orphans", timeout_seconds=120, check=False)


# --- static checks ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("cli")
@pytest.mark.parametrize(
    ("files", "settings"),
    [
        ((COMPOSE_FILE,), {}),
        ((COMPOSE_FILE,), {"REDIS_PASSWORD": "s3cret"}),
        ((COMPOSE_FILE, BRIDGE_FILE), BRIDGE_SETTINGS),
        ((COMPOSE_FILE, "docker-compose.pi.yml", "docker-compose.chaos.yml"), {}),
        ((COMPOSE_FILE, "docker-compose.arm64.yml"), {}),
    ],
    ids=["default", "redis-password", "bridge", "pi-and-chaos", "arm64"],
)
def test_compose_config_and_the_compose_spec_schema_accept_the_files(
    stack: ComposeStack, tmp_path: Path, files, settings
):
    stack.files = files
    stack.update_env(**settings)
    merged = stack.run("config").stdout
    (tmp_path / "merged.yml").write_text(merged)
    model = yaml.safe_load(merged)
    poller_url = model["services"]["poller"]["environment"]["REDIS_URL"]
    artwork_url = model["services"]["artwork"]["environment"]["REDIS_URL"]
    if "REDIS_PASSWORD" in settings:
        assert poller_url.startswith("redis://:s3cret@127.0.0.1:")
        assert artwork_url == "redis://:s3cret@redis:6379/0"
    else:
        assert "@" not in poller_url
        assert "@" not in artwork_url
    # The schema does not understand compose's `!reset` tag, so an override is checked merged.
    checked = [str(REPO_ROOT / COMPOSE_FILE), str(tmp_path / "merged.yml")]
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", *checked],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.usefixtures("cli")
@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"EVENT_ADVERTISE_IP": "192.0.2.10"}, "SONOS_SPEAKERS"),
        ({"SONOS_SPEAKERS": "192.0.2.1"}, "EVENT_ADVERTISE_IP"),
        # With both missing compose names whichever it interpolates first: either one will do.
        ({}, "SONOS_SPEAKERS|EVENT_ADVERTISE_IP"),
    ],
)
def test_the_bridge_override_refuses_to_start_without_seeds_and_an_advertised_ip(
    stack: ComposeStack, given: dict[str, str], missing: str
):
    stack.files = (COMPOSE_FILE, BRIDGE_FILE)
    stack.update_env(**given)

    result = stack.run("config", check=False)

    assert result.returncode != 0
    assert re.search(rf"({missing}).*see README", result.stderr), result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_hadolint_passes_every_dockerfile(dockerfile: Path):
    result = subprocess.run(
        [tool("hadolint"), "--config", str(REPO_ROOT / ".hadolint.yaml"), str(dockerfile)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_images_run_as_a_user_with_wheels_only_and_no_minor_version_paths(dockerfile: Path):
    text = dockerfile.read_text()
    assert re.search(r"^USER 10001:10001$", text, re.MULTILINE)
    assert "--only-binary=:all:" in text
    assert "--no-cache-dir" in text
    assert text.count("FROM ") == 2  # build stage + final stage without pip caches or compilers
    assert not re.search(r"python3\.\d+", text)
    for line in (
        (REPO_ROOT / "services" / dockerfile.parent.name / "requirements.txt").read_text().splitlines()
    ):
        if line.strip() and not line.startswith("#"):
            assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[^\s]+", line.strip()), line


def test_every_service_is_bounded_and_restarts_itself():
    services = load(COMPOSE_FILE)["services"]
    assert set(services) == {*SERVICES, *CONFIG_CHECKS}
    for name, service in services.items():
        assert service["restart"] == ("no" if name in CONFIG_CHECKS else "unless-stopped"), name
        assert service["init"] is True, name
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert re.fullmatch(r"\d+m", service["mem_limit"]), name
        assert service["logging"]["driver"] == "json-file", name
        assert service["logging"]["options"]["max-size"] == "1m", name
        if name not in CONFIG_CHECKS:
            healthcheck = service.get("healthcheck") or {}
            assert "test" in healthcheck or _dockerfile_healthcheck(name), name
            assert "curl" not in str(healthcheck.get("test")) + _dockerfile_healthcheck(name), name
    assert services["poller"]["network_mode"] == "host"
    assert services["fakesonos"]["profiles"] == ["demo"]
    # Never on the LAN.
    assert all(p.startswith("127.0.0.1:") for p in services["redis"]["ports"])
    command = " ".join(services["redis"]["command"])
    for setting in ('--save ""', "--appendonly no", "--maxmemory 32mb", "--maxmemory-policy noeviction"):
        assert setting in command


def _dockerfile_healthcheck(service: str) -> str:
    dockerfile = REPO_ROOT / "services" / service / "Dockerfile"
    text = dockerfile.read_text() if dockerfile.exists() else ""
    return " ".join(line for line in text.splitlines() if "HEALTHCHECK" in line or "CMD [" in line)


def test_each_service_has_one_healthcheck_defined_in_one_place():
    services = load(COMPOSE_FILE)["services"]
    for name in ("poller", "artwork"):
        assert "HEALTHCHECK" in _dockerfile_healthcheck(name), name
        assert "test" not in (services[name].get("healthcheck") or {}), name


def test_each_service_waits_for_its_configuration_check_and_the_check_runs_the_services_image():
    services = load(COMPOSE_FILE)["services"]
    for check, service in CONFIG_CHECKS.items():
        assert services[service]["depends_on"][check] == {"condition": "service_completed_successfully"}
        assert services[check]["image"] == services[service]["image"]
        assert services[check]["environment"] == services[service]["environment"]
        assert services[check]["command"] == ["python", "-m", f"{service}.config_check"]


def test_artwork_stop_grace_period_outlasts_gunicorns_graceful_timeout():
    conf = (REPO_ROOT / "services" / "artwork" / "gunicorn.conf.py").read_text()
    graceful = int(re.search(r"^graceful_timeout = (\d+)", conf, re.MULTILINE).group(1))  # type: ignore[union-attr]
    grace = int(load(COMPOSE_FILE)["services"]["artwork"]["stop_grace_period"].removesuffix("s"))
    assert graceful + 1 <= grace


def test_the_bridge_override_publishes_the_listener_port_and_leaves_the_host_network():
    poller = load(BRIDGE_FILE)["services"]["poller"]
    assert poller["network_mode"] is None  # `!reset`
    assert poller["ports"] == ["${EVENT_LISTENER_PORT:-1400}:${EVENT_LISTENER_PORT:-1400}"]
    assert "redis:6379" in poller["environment"]["REDIS_URL"]


def test_env_example_documents_every_key_with_a_default():
    text = (REPO_ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))
    compose = (REPO_ROOT / COMPOSE_FILE).read_text() + (REPO_ROOT / BRIDGE_FILE).read_text()
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", compose))
    for key in (
        "WATCHDOG_SECONDS", "SPEAKER_TIMEOUT_SECONDS", "ARTWORK_READ_TIMEOUT_SECONDS", "REDIS_PASSWORD",
        "ZONE_WORKERS",
    ):  # fmt: skip
        used.add(key)
    assert used <= documented, sorted(used - documented)
    assert "default" in text


# --- start-up checks in the images ---------------------------------------------------------------------


def run_once(stack: ComposeStack, *args: str) -> subprocess.CompletedProcess[str]:
    stack.env["USED_ENGINE"] = "1"
    return stack.run("run", "--rm", "--no-deps", "--build", *args, timeout_seconds=600, check=False)


def test_the_poller_refuses_an_unwritable_volume_with_one_line_and_exit_1(
    stack: ComposeStack, tmp_path: Path
):
    require_engine()
    # Also a kernel without the memory cgroup, as on a stock Raspberry Pi OS: warned first.
    controllers = tmp_path / "cgroup.controllers"
    controllers.write_text("cpuset cpu io pids\n")
    controllers.chmod(0o644)
    result = run_once(
        stack, "-e", "ARTWORK_DIR=/data/missing/artwork",
        "-v", f"{controllers}:/sys/fs/cgroup/cgroup.controllers:ro", "poller",
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    errors = [line for line in output.splitlines() if " ERROR " in line]
    assert len(errors) == 1, output
    assert "ARTWORK_DIR /data/missing/artwork is not writable" in errors[0]
    assert "Traceback" not in output
    assert "cgroup_enable=memory" in output
    assert "cmdline.txt" in output


def test_the_artwork_service_refuses_a_missing_volume_with_one_line_and_a_nonzero_exit(stack: ComposeStack):
    require_engine()
    result = run_once(stack, "-e", "ARTWORK_DIR=/data/missing", "artwork")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    lines = [line for line in output.splitlines() if "ARTWORK_DIR" in line]
    assert lines == ["artwork: bad configuration: ARTWORK_DIR /data/missing does not exist: "
                     "mount the artwork volume there"], output  # fmt: skip
    assert "Traceback" not in output


def test_make_up_with_a_bad_setting_fails_in_seconds_naming_the_key_and_starts_neither_service(
    stack: ComposeStack,
):
    require_engine()
    stack.update_env(ARTWORK_PROFILES="square720,nonsense", REDIS_HOST_PORT=str(free_port()), USED_ENGINE="1")
    compose = " ".join(arg for arg in stack.command() if arg not in ("--profile", "demo"))

    result = subprocess.run(
        ["make", "--no-print-directory", "up", f"COMPOSE={compose}"],
        cwd=REPO_ROOT, env=stack._environ(), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip

    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for service in CONFIG_CHECKS.values():
        assert f"{service}: configuration error: ARTWORK_PROFILES: 'nonsense' is neither" in output
        assert stack.inspect(service)["State"]["Status"] == "created", service  # never started
    for check in CONFIG_CHECKS:
        assert stack.inspect(check)["State"]["ExitCode"] == 78


def test_the_artwork_service_warns_once_when_the_memory_cgroup_is_off(stack: ComposeStack, tmp_path: Path):
    require_engine()
    controllers = tmp_path / "cgroup.controllers"
    controllers.write_text("cpuset cpu io pids\n")
    controllers.chmod(0o644)
    stack.env["USED_ENGINE"] = "1"
    name = f"{stack.project}-artwork-cgroup"
    started = stack.run(
        "run", "-d", "--no-deps", "--build", "--name", name,
        "-v", f"{controllers}:/sys/fs/cgroup/cgroup.controllers:ro", "artwork",
        timeout_seconds=600,
    )  # fmt: skip
    assert started.returncode == 0
    try:

        def logged() -> str | None:
            out = subprocess.run(
                ["docker", "logs", name], capture_output=True, text=True, timeout=30, check=False
            )
            text = out.stdout + out.stderr
            return text if "Booting worker" in text else None

        text = wait_for(logged, timeout_seconds=60, interval_seconds=0.5, what="gunicorn booting")
        assert text.count("cgroup_enable=memory") == 1, text
        assert "cmdline.txt" in text
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60, check=False)


def test_the_poller_image_has_fonts_for_every_script_and_raqm_layout(stack: ComposeStack):
    require_engine()
    probe = (
        "from PIL import features; from poller.text import font_for, installed_fonts; "
        "print(len(installed_fonts()), features.check('raqm'), "
        "[font_for(c) for c in 'aДΩשع東한ไअঅத'], font_for('\U0001f389'))"
    )
    result = run_once(stack, "--entrypoint", "python", "poller", "-c", probe)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == "6 True [0, 0, 0, 0, 0, 1, 1, 2, 3, 4, 5] None"


def test_fakesonos_hands_freed_cover_memory_back_to_the_kernel():
    # Found by the chaos campaign: covers drawn on many request threads kept glibc arenas full, and
    # the household's RSS climbed from 20 to 86 MiB in two minutes (its limit is 96 MiB).
    dockerfile = (REPO_ROOT / "services" / "fakesonos" / "Dockerfile").read_text()
    assert "MALLOC_ARENA_MAX=2" in dockerfile
    assert "MALLOC_MMAP_THRESHOLD_=65536" in dockerfile
