"""Models that return a model's logits together with the output of one of its named layers,
in a single forward pass (what feature distillation needs of teacher and student).

An ensemble (ensemble.build_ensemble: member sub-models combined by CombineLogits) has no
layer of that name itself; its "feature" is then the unweighted average of its members'
outputs at that layer, the same average it applies to their logits. Members trained from
different seeds do not align their channels, so this average is a blur of L unrelated
feature maps; the paper distils logits only, and `distill.soft_loss="feature"` is offered
for comparison with FitNets-style practice, not as the paper's method.
"""

from __future__ import annotations

from typing import List

import keras

from ens_kd_tf.ensemble import CombineLogits
from ens_kd_tf.errors import UsageError


def _layer_names(model: keras.Model) -> List[str]:
    return [layer.name for layer in model.layers]


def _has_layer(model: keras.Model, name: str) -> bool:
    return any(layer.name == name for layer in model.layers)


def _is_functional(model) -> bool:
    return isinstance(model, keras.Model) and getattr(model, "inputs", None) is not None


def feature_extractor(model: keras.Model, layer_name: str, field: str) -> keras.Model:
    """inputs -> [logits [B, k], features at `layer_name` [B, ...]], sharing `model`'s layers.

    Args:
      model: a functional model, or an ensemble of functional members.
      layer_name: the layer whose output is the feature (e.g. "pool", the last block's
        globally pooled output in wrn_* and simple_cnn_*).
      field: the config field that named the layer, for the error message.
    """
    if not _is_functional(model):
        raise UsageError(f"{field}={layer_name!r}: feature distillation needs a functional "
                         f"model, but {getattr(model, 'name', model)!r} is "
                         f"{type(model).__name__}")
    if _has_layer(model, layer_name):
        return keras.Model(model.inputs, [model.output, model.get_layer(layer_name).output],
                           name=f"{model.name}_with_{layer_name}")
    members = [layer for layer in model.layers if _is_functional(layer)]
    combine = [layer for layer in model.layers if isinstance(layer, CombineLogits)]
    if members and len(combine) == 1 and all(_has_layer(m, layer_name) for m in members):
        inputs = keras.Input(tuple(model.input_shape[1:]), name="inputs")
        pairs = [keras.Model(m.inputs, [m.output, m.get_layer(layer_name).output])(inputs)
                 for m in members]
        logits = combine[0]([p[0] for p in pairs])
        features = [p[1] for p in pairs]
        mean = features[0] if len(features) == 1 else keras.layers.Average(
            dtype="float32", name=f"average_{layer_name}")(features)
        return keras.Model(inputs, [logits, mean], name=f"{model.name}_with_{layer_name}")
    names = _layer_names(members[0] if members else model)
    raise UsageError(f"{field}={layer_name!r} is not a layer of {model.name!r}; its layers: "
                     f"{', '.join(names)}")
