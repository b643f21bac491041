"""The package's import graph: each module imports only modules of its own layer or below
(README "Package layout"), at the top of the file, except the documented lazy imports."""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "ens_kd_tf"

# Bottom to top (README "Package layout"). A module's layer is that of its longest listed
# prefix.
LAYERS = [
    ("errors", "io_utils", "keras_compat", "flops", "log_setup", "config_defaults",
     "config_summary"),
    ("data", "models", "losses", "optim", "evaluate", "features", "jit_choice", "strategy",
     "checkpointing", "ensemble", "distiller", "export", "probes", "view_plots", "workdir",
     "cli_checks"),
    ("train",),
    ("stages", "report"),
    ("experiments",),
    ("validation", "main", "bench", "bench_timers", "bench_torch"),
]

# (module, function): imports kept inside a function on purpose, each with its reason in
# the code: the command line reports a bad flag before TensorFlow loads (main), and a
# preset-free config never imports Keras (config_defaults).
LAZY = {("ens_kd_tf.main", "run_experiment"), ("ens_kd_tf.main", "main"),
        ("ens_kd_tf.config_defaults", "_check_model_preset")}


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    rest = module.split(".", 1)[1] if "." in module else ""
    best, found = -1, None
    for i, names in enumerate(LAYERS):
        for name in names:
            if (rest == name or rest.startswith(name + ".")) and len(name) > best:
                best, found = len(name), i
    if found is None:
        raise AssertionError(f"{module} is in no layer of tests/test_layering.py")
    return found


def package_imports(tree: ast.AST):
    """(imported ens_kd_tf module, enclosing function name or None) of every import."""
    def visit(node, function):
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef,
                                                     ast.AsyncFunctionDef)) else function
            if isinstance(child, ast.ImportFrom) and child.module and \
                    child.module.startswith("ens_kd_tf"):
                for alias in child.names:  # `from ens_kd_tf import io_utils` names a module
                    sub = f"{child.module}.{alias.name}"
                    yield (sub if (PACKAGE.parent / (sub.replace(".", "/") + ".py")).exists()
                           or (PACKAGE.parent / sub.replace(".", "/")).is_dir()
                           else child.module), function
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("ens_kd_tf"):
                        yield alias.name, function
            yield from visit(child, inner)
    yield from visit(tree, None)


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) for p in MODULES])
def test_imports_go_down_and_sit_at_the_top(path):
    module = module_name(path)
    for imported, function in package_imports(ast.parse(path.read_text())):
        if imported == "ens_kd_tf":
            continue
        assert function is None or (module, function) in LAZY, (
            f"{module}.{function} imports {imported} inside a function")
        if (module, function) not in LAZY:
            assert layer(imported) <= layer(module), (
                f"{module} (layer {layer(module)}) imports {imported} (layer "
                f"{layer(imported)}), a layer above it")


def test_the_fit_loop_knows_nothing_of_distillation():
    text = (PACKAGE / "train.py").read_text().lower()
    assert "teacher" not in text and "distill" not in text


def test_the_report_reads_results_not_experiments():
    imports = [m for m, _ in package_imports(ast.parse((PACKAGE / "report.py").read_text()))]
    assert not [m for m in imports if m.startswith(("ens_kd_tf.experiments",
                                                    "ens_kd_tf.stages"))]
