"""The container files, read as text: what `make images` and `make test-cluster` rely on and the
docs promise (non-root images, pinned dependencies, a health check, ports on 127.0.0.1 only).
`make test-cluster` builds and runs them (docs/cluster.md)."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
DOCKERFILES = ("spark.Dockerfile", "trainer.Dockerfile")


def _requirement_names() -> list[str]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = [ln.strip() for ln in cfg["options"]["install_requires"].splitlines()]
    return [re.split(r"[<>=!~\[ ]", ln)[0].lower() for ln in lines if ln and not ln.startswith("#")]


def test_every_runtime_dependency_is_pinned_for_the_images() -> None:
    pins = dict(
        line.split("==", 1) for line in (DOCKER / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    pinned = {name.lower().replace("_", "-") for name in pins}
    assert [n for n in _requirement_names() if n.replace("_", "-") not in pinned] == []
    assert all(re.fullmatch(r"\d[\w.+-]*", version) for version in pins.values())


@pytest.mark.parametrize("name", DOCKERFILES)
def test_images_install_pinned_and_run_as_a_user(name: str) -> None:
    text = (DOCKER / name).read_text()
    users = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert "-c constraints.txt" in text
    assert "COPY setup.cfg pyproject.toml README.md docker/constraints.txt" in text
    ignore = (DOCKER / f"{name}.dockerignore").read_text().splitlines()
    assert ignore[0] == "**" and "!docker/constraints.txt" in ignore


def test_the_spark_image_checks_its_health_by_role() -> None:
    text = (DOCKER / "spark.Dockerfile").read_text()
    assert re.search(r'^HEALTHCHECK .*CMD \["spark-entrypoint", "health"\]$', text, re.MULTILINE)
    assert "  health)" in (DOCKER / "spark-entrypoint.sh").read_text()


def test_compose_publishes_ports_on_localhost_and_shares_one_volume() -> None:
    doc = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = doc["services"]
    assert set(services) == {"master", "worker1", "worker2", "submit"}
    ports = [p for s in services.values() for p in s.get("ports", [])]
    assert ports and all(p.startswith("127.0.0.1:") for p in ports)
    assert all(s["volumes"] == ["data:/data"] for s in services.values())
    assert services["submit"]["profiles"] == ["submit"]
