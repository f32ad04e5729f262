"""pyproject.toml: the version is the Maven project's (taken from tarq.__version__, which is the root pom.xml's version
with -SNAPSHOT written as .dev0, PEP 440), torch is only an extra, and every package under tarq/ is installed."""

from __future__ import annotations

import re
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import tarq

PYTHON_ROOT = Path(__file__).resolve().parents[1]
POM = PYTHON_ROOT.parents[1] / "pom.xml"
MAVEN = "{http://maven.apache.org/POM/4.0.0}"


def pep440(maven_version: str) -> str:
    """0.1.0-SNAPSHOT -> 0.1.0.dev0; a release X.Y.Z stays X.Y.Z."""
    if maven_version.endswith("-SNAPSHOT"):
        return maven_version[: -len("-SNAPSHOT")] + ".dev0"
    return maven_version


def test_the_mapping_of_maven_versions():
    assert pep440("0.1.0-SNAPSHOT") == "0.1.0.dev0"
    assert pep440("1.2.3") == "1.2.3"


def test_version_matches_the_root_pom():
    project = ET.parse(POM).getroot()
    assert project.findtext(MAVEN + "artifactId") == "tarq-parent"
    maven_version = project.findtext(MAVEN + "version")
    assert re.fullmatch(r"\d+\.\d+\.\d+(-SNAPSHOT)?", maven_version), maven_version
    assert tarq.__version__ == pep440(maven_version)


def test_pyproject_takes_its_version_from_the_package():
    with open(PYTHON_ROOT / "pyproject.toml", "rb") as f:
        pyproject = tomllib.load(f)
    assert pyproject["project"]["name"] == "tarq"
    assert "version" in pyproject["project"]["dynamic"] and "version" not in pyproject["project"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "tarq.__version__"}
    # The numpy-only core: torch only in extras.
    assert pyproject["project"]["dependencies"] == ["numpy>=1.24"]
    assert any(r.startswith("torch") for r in pyproject["project"]["optional-dependencies"]["train"])


def test_every_package_under_tarq_is_found():
    setuptools = pytest.importorskip("setuptools")  # the build backend
    with open(PYTHON_ROOT / "pyproject.toml", "rb") as f:
        find = tomllib.load(f)["tool"]["setuptools"]["packages"]["find"]
    found = set(setuptools.find_packages(where=str(PYTHON_ROOT), **find))
    on_disk = {".".join(p.parent.relative_to(PYTHON_ROOT).parts) for p in (PYTHON_ROOT / "tarq").rglob("__init__.py")}
    assert {"tarq", "tarq.data", "tarq.train"} <= on_disk
    assert found == on_disk, "the tests are not a package to install"
