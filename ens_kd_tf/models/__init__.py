"""Model zoo registry: `build_model(name, num_classes, input_shape, **kwargs)`.

Names (all return float32 logits, also under mixed precision):
  wrn_<depth>_<width>      wide ResNet, depth = 6n + 4 (wrn_28_10, wrn_16_4, wrn_28_2, ...)
  resnet_<depth>[_<width>]  PAPER.md's "ResNet-d-w" = wrn_<depth>_<width> (width 1 if omitted)
  resnet10_<w>, resnet16_<w>  the kernel table's ResNet10-w / ResNet16-w = wrn_10_w / wrn_16_w
  simple_cnn_<depth>_<width>  see models/simple_cnn.py
  mlp_<depth>_<width>       fully connected ReLU net (models/mlp.py)
  patch_net                 the theory's two-layer patch network (models/patch_net.py)
  <name>_ntk, <name>_ntkp, <name>_gp   neural-kernel counterparts of any name above
                            (kernels.py: linearized at init, NTK parameterisation, last layer
                            only), built without batch normalisation
  teacher_<kind>_<width>    a random-teacher architecture of the Gaussian-like data
                            (kind: linear, fc2, fc3, res3, conv2, conv3, resconv3)
"""

from __future__ import annotations

import inspect
import re
from typing import Callable, List, Sequence, Tuple

import keras
from absl import logging

from ens_kd_tf.errors import UsageError, check_fraction
from ens_kd_tf.models import kernels  # registers Linearized: saved _ntk models load anywhere
from ens_kd_tf.models.layers import Standardize
from ens_kd_tf.models.mlp import mlp
from ens_kd_tf.models.patch_net import patch_net
from ens_kd_tf.models.simple_cnn import simple_cnn
from ens_kd_tf.models.teacher_net import TEACHER_KINDS, teacher_net
from ens_kd_tf.models.wide_resnet import wide_resnet

# (pattern, human-readable form, factory(match) -> builder(num_classes, input_shape, **kw))
_PATTERNS: List[Tuple[str, str, Callable]] = [
    (r"wrn_(\d+)_(\d+)", "wrn_<depth>_<width>",
     lambda m: _bind(wide_resnet, int(m[1]), int(m[2]))),
    (r"resnet_(\d+)_(\d+)", "resnet_<depth>_<width>",
     lambda m: _bind(wide_resnet, int(m[1]), int(m[2]))),
    (r"resnet_(\d+)", "resnet_<depth>", lambda m: _bind(wide_resnet, int(m[1]), 1)),
    (r"resnet(10|16)_(\d+)", "resnet10_<width>, resnet16_<width>",
     lambda m: _bind(wide_resnet, int(m[1]), int(m[2]))),
    (r"simple_cnn_(\d+)_(\d+)", "simple_cnn_<depth>_<width>",
     lambda m: _bind(simple_cnn, int(m[1]), int(m[2]))),
    (r"mlp_(\d+)_(\d+)", "mlp_<depth>_<width>", lambda m: _bind(mlp, int(m[1]), int(m[2]))),
    (r"patch_net", "patch_net", lambda m: patch_net),
    (r"teacher_(%s)_(\d+)" % "|".join(TEACHER_KINDS), "teacher_<kind>_<width>",
     lambda m: _bind(teacher_net, m[1], int(m[2]))),
]

EXAMPLE_NAMES = ("wrn_28_10", "wrn_16_4", "wrn_28_2", "resnet_34", "resnet_34_2", "resnet10_2",
                 "simple_cnn_10_3", "patch_net", "simple_cnn_10_3_ntk", "resnet10_4_ntkp",
                 "simple_cnn_10_6_gp")


def _bind(factory: Callable, *args) -> Callable:
    """builder(num_classes, input_shape, **kw) = factory(*args, num_classes, input_shape, **kw);
    `accepts` names the factory whose keyword arguments build_model passes on."""
    def build(num_classes, input_shape, **kw):
        return factory(*args, num_classes, input_shape, **kw)
    build.accepts = factory
    return build


def model_name_forms() -> List[str]:
    """The accepted name forms, for error messages and docs."""
    return [form for _, form, _ in _PATTERNS] + ["<any of these>_ntk|_ntkp|_gp"]


KERNEL_SUFFIXES = ("_ntkp", "_ntk", "_gp")


def _kernel(base_builder: Callable, suffix: str) -> Callable:
    def build(num_classes, input_shape, name=None, **kw):
        accepted = inspect.signature(getattr(base_builder, "accepts", base_builder)).parameters
        if "batchnorm" in accepted:
            kw["batchnorm"] = False  # no fixed kernel with batch statistics
        base = base_builder(num_classes=num_classes, input_shape=input_shape,
                            name=f"{name}_base" if name else None, **kw)
        if suffix == "_gp":
            return kernels.last_layer_only(base)
        return kernels.linearize(base, "ntk" if suffix == "_ntkp" else "standard", name=name)
    build.accepts = getattr(base_builder, "accepts", base_builder)
    return build


def _resolve(name: str) -> Callable:
    for suffix in KERNEL_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return _kernel(_resolve(name[:-len(suffix)]), suffix)
    for pattern, _, factory in _PATTERNS:
        match = re.fullmatch(pattern, name)
        if match:
            return factory(match)
    raise UsageError(
        f"model.name={name!r} is not a model of the zoo; valid forms: "
        + ", ".join(model_name_forms()) + f" (e.g. {', '.join(EXAMPLE_NAMES)})")


def check_model_name(name: str) -> None:
    """Raises UsageError if `name` is not a zoo name."""
    _resolve(name)


def validate_model(model) -> None:
    """Checks config section `model`."""
    check_model_name(model.name)
    check_fraction("model.dropout_rate", model.dropout_rate)


def build_model(
    name: str, num_classes: int, input_shape: Sequence[int] = (32, 32, 3), **kwargs
) -> keras.Model:
    """Builds zoo model `name`: inputs [B, *input_shape] -> float32 logits [B, num_classes].

    kwargs the model does not take (e.g. `dropout_rate` for patch_net) are ignored with a
    debug log line, so one config can switch between architectures.
    """
    builder = _resolve(name)
    accepted = inspect.signature(getattr(builder, "accepts", builder)).parameters
    unused = sorted(k for k in kwargs if k not in accepted)
    if unused:
        logging.debug("model %s ignores config fields %s", name, unused)  # --verbosity=1
    kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    return builder(num_classes=num_classes, input_shape=tuple(input_shape), name=name, **kwargs)


def build_classifier(
    name: str,
    num_classes: int,
    input_shape: Sequence[int],
    input_kind: str = "image",
    mean: Sequence[float] = (),
    std: Sequence[float] = (),
    model_name: str = "",
    **kwargs,
) -> keras.Model:
    """A zoo model behind the dataset's standardisation: raw inputs -> float32 logits.

    Images ([B, H, W, C] float32 pixels in [0, 255]) are standardised per channel with
    `mean` / `std`; features are fed as they are. `model_name` names the returned model
    (unique names let several classifiers live in one model, e.g. a joint sum).
    """
    net = build_model(name, num_classes, input_shape, **kwargs)
    if input_kind != "image":
        if model_name:
            net.name = model_name
        return net
    inputs = keras.Input(tuple(input_shape), name="inputs")
    logits = net(Standardize(mean, std, name="standardize")(inputs))
    return keras.Model(inputs, logits, name=model_name or f"{name}_classifier")
