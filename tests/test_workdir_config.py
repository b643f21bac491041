"""The config-match rule on resume: a workdir written before a field was added, or while
every config carried every section, resumes."""

from __future__ import annotations

import json
import pathlib
import shutil

import pytest

from conftest import load_config_module, tiny_config
from ens_kd_tf.errors import UsageError
from ens_kd_tf.workdir import config_json, write_or_check_config


def _write_old_config(workdir, config, drop: str) -> None:
    """config.json as an older package wrote it: without the field `drop` ("section.name")."""
    data = config_json(config)
    section, name = drop.split(".")
    del data[section][name]
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.json").write_text(json.dumps(data))


def test_a_field_added_since_the_workdir_was_written_resumes_at_its_default(tmp_path):
    config = tiny_config("self_distill")
    _write_old_config(tmp_path / "run", config, "distill.temperature")
    write_or_check_config(str(tmp_path / "run"), config)  # no error: default value


def test_a_field_added_since_but_set_to_another_value_is_a_difference(tmp_path):
    config = tiny_config("self_distill")
    _write_old_config(tmp_path / "run", config, "distill.temperature")
    config.distill.temperature = 2.0
    with pytest.raises(UsageError, match=r"distill.temperature: '<absent>' -> 2.0"):
        write_or_check_config(str(tmp_path / "run"), config)


def test_a_changed_field_still_stops_the_resume(tmp_path):
    config = tiny_config("self_distill")
    write_or_check_config(str(tmp_path / "run"), config)
    config.train.learning_rate = 0.2
    with pytest.raises(UsageError, match=r"train.learning_rate: 0.05 -> 0.2"):
        write_or_check_config(str(tmp_path / "run"), config)


OLD_CONFIGS = pathlib.Path(__file__).parent / "old_configs"


@pytest.mark.parametrize("name", sorted(p.stem for p in OLD_CONFIGS.glob("*.json")))
def test_a_workdir_of_the_every_section_configs_resumes(tmp_path, name):
    """tests/old_configs/<name>.json is configs/<name>.py's default config.json as the
    package wrote it when every config had every section (commit 184b951): the same run
    with today's config resumes in that workdir, and a real change still stops it."""
    shutil.copy(OLD_CONFIGS / f"{name}.json", tmp_path / "config.json")
    config = load_config_module(name).get_config()
    write_or_check_config(str(tmp_path), config)
    config.unlock()
    config.seed = 7
    with pytest.raises(UsageError, match="seed: 0 -> 7"):
        write_or_check_config(str(tmp_path), config)
