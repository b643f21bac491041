"""Checks of the command line that need no TensorFlow: the config file, its presets, the
`--config.<field>` names, and absl's own flag errors, each turned into one UsageError line
with the closest valid choices ("did you mean train.epochs?").

They run before ml_collections parses the flags (whose errors are deep tracebacks) and
before TensorFlow is imported, so a typo costs a fraction of a second.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re
from typing import List, Optional, Sequence, Tuple

from absl import flags

from ens_kd_tf.config_defaults import all_sections_defaults
from ens_kd_tf.errors import UsageError, closest

_REPO_CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             "configs")
_OVERRIDE = re.compile(r"^--?(no)?config\.([^=]+)(=(.*))?$", re.S)
_CONFIG_FLAG = re.compile(r"^--?config(=(.*))?$", re.S)


def _did_you_mean(matches: Sequence[str]) -> str:
    return f"did you mean {' or '.join(matches)}?" if matches else ""


def config_value(argv: Sequence[str]) -> Optional[str]:
    """The value of --config in `argv` (`--config=X` or `--config X`), or None."""
    for i, arg in enumerate(argv):
        m = _CONFIG_FLAG.match(arg)
        if m:
            if m.group(1):
                return m.group(2)
            return argv[i + 1] if i + 1 < len(argv) else None
    return None


def overrides(argv: Sequence[str]) -> List[Tuple[str, Optional[str]]]:
    """(field path, value or None) of every `--config.<path>[=value]` in `argv`."""
    out = []
    for i, arg in enumerate(argv):
        m = _OVERRIDE.match(arg)
        if not m:
            continue
        value = m.group(4)
        if value is None and not m.group(1) and i + 1 < len(argv) and \
                not argv[i + 1].startswith("-"):
            value = argv[i + 1]
        out.append((m.group(2), value))
    return out


def _config_candidates(path: str) -> List[str]:
    """Config files near `path`: its folder's *.py, else the repository's configs/."""
    folder = os.path.dirname(path) or "."
    found = sorted(glob.glob(os.path.join(folder, "*.py")))
    if not found and os.path.isdir(_REPO_CONFIGS):
        found = [os.path.relpath(p) for p in sorted(glob.glob(os.path.join(_REPO_CONFIGS,
                                                                             "*.py")))]
    return [p for p in found if not os.path.basename(p).startswith("_")]


def check_config_path(path: str) -> None:
    """UsageError naming the closest config files when `path` is not a file."""
    if os.path.isfile(path):
        return
    candidates = _config_candidates(path)
    stems = {os.path.splitext(os.path.basename(c))[0]: c for c in candidates}
    near = [stems[s] for s in closest(os.path.splitext(os.path.basename(path))[0], stems)]
    names = ", ".join(stems)
    hint = _did_you_mean(near) or "give configs/<name>.py"
    raise UsageError(f"--config={path!r} does not exist; {hint} (configs: {names or 'none'})")


def load_config(spec: str):
    """`configs/x.py[:presets]` -> the ConfigDict its get_config returns (presets checked)."""
    path, _, arg = spec.partition(":")
    check_config_path(path)
    module_spec = importlib.util.spec_from_file_location("_ens_kd_tf_cli_config", path)
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except SyntaxError as e:
        raise UsageError(f"--config={path!r} is not valid Python: {e.msg} (line {e.lineno})"
                         ) from None
    if not callable(getattr(module, "get_config", None)):
        raise UsageError(f"--config={path!r} defines no get_config(arg=None)")
    return module.get_config(arg) if ":" in spec else module.get_config()


def field_paths(config, prefix: str = "") -> List[str]:
    """Every dotted path of `config`: sections and leaves ("train", "train.epochs", ...)."""
    paths = []
    for key, value in config.items():
        path = f"{prefix}{key}"
        paths.append(path)
        if hasattr(value, "items") and callable(value.items):
            paths.extend(field_paths(value, f"{path}."))
    return paths


def _lookup(config, path: str):
    node = config
    for part in path.split("."):
        if not (hasattr(node, "keys") and part in node.keys()):
            raise KeyError(part)
        node = node[part]
    return node


def _check_index(config, path: str) -> None:
    """`field[i]` must index an existing entry of a tuple field."""
    field, _, rest = path.partition("[")
    value = _lookup(config, field)
    index = rest.rstrip("]")
    if not isinstance(value, (tuple, list)) or not index.lstrip("-").isdigit() or \
            not -len(value) <= int(index) < len(value):
        raise UsageError(f"config field {path!r} does not exist; {field} is "
                         f"{value!r} ({type(value).__name__})")


# sections some experiment reads: shared ones (config_defaults) and configs' own
KNOWN_SECTIONS = (*all_sections_defaults().keys(), "study", "views", "gaussian_sweep")


def check_field(config, path: str) -> None:
    """UsageError naming the closest existing fields when `path` is not a field."""
    field = path.split("[", 1)[0]
    try:
        _lookup(config, field)
        if "[" in path:
            _check_index(config, path)
        return
    except KeyError:
        path = field
    head = path.split(".", 1)[0]
    if head not in config.keys() and head in KNOWN_SECTIONS:
        raise UsageError(
            f"config field {path!r} is not read by experiment {config.get('experiment')!r}: "
            f"its config has no {head!r} (sections: "
            f"{', '.join(sorted(k for k in config.keys()))})")
    paths = field_paths(config)
    leaf = path.rsplit(".", 1)[-1]
    same_leaf = [p for p in paths if p.rsplit(".", 1)[-1] == leaf]
    near = list(dict.fromkeys(same_leaf + closest(path, paths)))[:3]
    section = path.rsplit(".", 1)[0] if "." in path else ""
    try:
        siblings = sorted(_lookup(config, section).keys()) if section else sorted(config.keys())
        listing = f"fields of {section or 'the config'}: {', '.join(siblings)}"
    except (KeyError, AttributeError):
        listing = f"sections: {', '.join(sorted(k for k in config.keys()))}"
    hint = _did_you_mean(near)
    raise UsageError(f"config field {path!r} does not exist; "
                     f"{hint + ' ' if hint else ''}({listing})")


def check_command_line(argv: Sequence[str]) -> Optional[object]:
    """Checks --config's file, presets and every --config.<field> name in `argv`.

    Returns the loaded config (None when --config is missing: absl reports that).
    """
    argv = flags.FLAGS.read_flags_from_files(list(argv), force_gnu=False)
    spec = config_value(argv)
    if spec is None:
        return None
    config = load_config(spec)
    for path, _ in overrides(argv):
        check_field(config, path)
    return config


def flag_error_line(error: flags.Error, config=None) -> str:
    """absl's flag error as one line; for a config field, the type the field expects."""
    text = " ".join(str(error).split())
    m = re.match(r"flag --config\.([\w.\[\]]+)=(.*?): (.*)$", text)
    if m and config is not None:
        path, value, reason = m.groups()
        # absl words a bad boolean as a tuple: "('Non-boolean argument to boolean flag', 'x')"
        reason = re.sub(r"^\('(.*?)', '.*'\)$", r"\1", reason)
        try:
            current = _lookup(config, path)
            if hasattr(current, "keys"):
                expected = f"; {path} is a section: set its fields, --config.{path}.<field>="
            else:
                expected = f"; expected {type(current).__name__} like the default {current!r}"
        except KeyError:
            expected = ""
        return f"--config.{path}={value!r} is not valid: {reason}{expected}"
    m = re.match(r"flag --(\w+)=None: Flag --\w+ must have a value other than None", text)
    if m:
        return (f"--{m.group(1)} is required: python -m ens_kd_tf.main "
                "--config=configs/<name>.py[:presets] --workdir=<dir or gs://bucket/dir>")
    return text
