"""The Python package's version is the Maven project's: pyproject.toml takes it from tarq.__version__, which is the
root pom.xml's version with -SNAPSHOT written as .dev0 (PEP 440)."""

from __future__ import annotations

import re
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

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
