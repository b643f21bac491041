"""Every dependency range, extra and install command the project prints resolves against the
package index, so a user never meets a version that does not exist (e.g. a tensorflow-tpu
release that was never published).

These tests use the package index (as CI can); they do not install anything.
"""

from __future__ import annotations

import configparser
import functools
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Files whose install commands a user copies.
DOC_FILES = ("README.md", "launch/README.md", "launch/setup_tpu.sh", "ens_kd_tf/strategy.py")
# A quoted requirement with a version: 'tensorflow-tpu==2.20.0', "tensorflow~=2.21.0", ...
QUOTED_SPEC = re.compile(r"""['"]([A-Za-z0-9][A-Za-z0-9_.\-]*(?:\[[\w,\-]+\])?"""
                         r"""\s*(?:==|~=|>=|<=|!=|<|>)[^'"]+)['"]""")
QUOTED_EXTRA = re.compile(r"""['"]\.\[([\w,\-]+)\]['"]""")


def _setup_cfg() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(REPO, "setup.cfg"))
    return cfg


def _requirements(text: str) -> list[Requirement]:
    lines = (line.split("#")[0].strip() for line in text.splitlines())
    return [Requirement(line) for line in lines if line]


def _all_requirements() -> dict[str, list[Requirement]]:
    """{"install_requires": [...], "<extra>": [...]} from setup.cfg."""
    cfg = _setup_cfg()
    reqs = {"install_requires": _requirements(cfg["options"]["install_requires"])}
    for extra, text in cfg["options.extras_require"].items():
        reqs[extra] = _requirements(text)
    return reqs


@functools.lru_cache(maxsize=None)
def _index_output(name: str) -> tuple[int, str, str]:
    res = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", name, "--timeout", "30"],
        capture_output=True, text=True, timeout=120)
    return res.returncode, res.stdout, res.stderr


def _index_versions(name: str) -> tuple[Version, ...]:
    """The versions the package index offers for `name` (for this interpreter)."""
    returncode, stdout, stderr = _index_output(name)
    match = re.search(r"Available versions: (.*)", stdout)
    if returncode != 0 or not match:
        pytest.fail(f"the package index lists no versions of {name!r} "
                    f"(pip said: {stderr.strip().splitlines()[-1:]})")
    return tuple(Version(v.strip()) for v in match.group(1).split(","))


def _assert_resolvable(req: Requirement, where: str) -> None:
    if not req.specifier:
        _index_versions(req.name)
        return
    versions = _index_versions(req.name)
    if not any(req.specifier.contains(v, prereleases=False) for v in versions):
        newest = max(versions)
        pytest.fail(f"{where}: {req} matches no version on the package index "
                    f"(newest is {newest})")


@pytest.fixture(scope="module", autouse=True)
def _prefetch_index_versions():
    """Asks the index about every package at once (each query waits on the network)."""
    names = {r.name for reqs in _all_requirements().values() for r in reqs}
    names |= {Requirement(spec).name for _, spec in _doc_specs()}
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(_try_index_versions, sorted(names)))


def _try_index_versions(name: str) -> None:
    try:
        _index_versions(name)
    except BaseException:  # reported by the test that needs it
        pass


def test_every_setup_cfg_requirement_has_an_existing_version():
    for group, reqs in _all_requirements().items():
        for req in reqs:
            _assert_resolvable(req, f"setup.cfg {group}")


def _doc_specs() -> list[tuple[str, str]]:
    found = []
    for rel in DOC_FILES:
        with open(os.path.join(REPO, rel)) as f:
            for line in f:
                if "pip" in line or "TF_TPU=" in line or "--no-deps" in line:
                    found += [(rel, spec) for spec in QUOTED_SPEC.findall(line)]
    return found


def test_every_pinned_install_command_in_the_docs_exists():
    specs = _doc_specs()
    names = {Requirement(s).name for _, s in specs}
    # The GPU and TPU wheels must be among them: they are what a user copies.
    assert {"tensorflow", "tensorflow-tpu"} <= names, names
    for rel, spec in specs:
        _assert_resolvable(Requirement(spec), rel)


def test_every_extra_the_docs_name_exists():
    extras = set(_setup_cfg()["options.extras_require"])
    for rel in DOC_FILES:
        with open(os.path.join(REPO, rel)) as f:
            for name in QUOTED_EXTRA.findall(f.read()):
                assert set(name.split(",")) <= extras, f"{rel} names extra [{name}]"


def test_accelerator_pins_match_the_base_tensorflow_range():
    """The GPU / TPU wheels the docs force-reinstall lie inside install_requires' range."""
    base = {r.name: r for r in _all_requirements()["install_requires"]}
    tf_range = base["tensorflow-cpu"].specifier
    for _, spec in _doc_specs():
        req = Requirement(spec)
        if req.name in ("tensorflow", "tensorflow-tpu", "tensorflow-cpu") and "==" in spec:
            pinned = Version(spec.split("==")[1])
            assert tf_range.contains(pinned), f"{spec} is outside {tf_range}"


def test_tpu_extra_resolves_to_one_tensorflow_version():
    """`pip install --dry-run -e '.[tpu]'` (without Google's -f index, which CI cannot reach)
    over this environment's TF 2.21: tensorflow-tpu and the CPU wheel resolve to the same
    TensorFlow, 2.20.0, with its tensorboard and a libtpu."""
    res = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--no-build-isolation",
         "--report", "-", "-e", ".[tpu]"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    installed = {i["metadata"]["name"].lower().replace("_", "-"): i["metadata"]["version"]
                 for i in json.loads(res.stdout)["install"]}
    assert installed["tensorflow-tpu"] == "2.20.0"
    assert installed["tensorflow-cpu"] == installed["tensorflow-tpu"]
    assert installed["tensorboard"].startswith("2.20.")
    assert "libtpu" in installed
