"""Models that return a model's logits together with the output of one of its named layers,
in a single forward pass (what feature distillation needs of teacher and student).

The layer may sit in a nested sub-model (our classifiers wrap the zoo network behind a
Standardize layer, so "pool" lives one level down). A model with several sub-models holding
the layer, i.e. an ensemble (ensemble.build_ensemble), gives the unweighted average of their
outputs at that layer, the same average it applies to their logits. Members trained from
different seeds do not align their channels, so this average is a blur of L unrelated
feature maps; the paper distils logits only, and `distill.soft_loss="feature"` is offered
for comparison with FitNets-style practice, not as the paper's method.
"""

from __future__ import annotations

from typing import List, Optional

import keras

from ens_kd_tf.errors import UsageError


def _is_functional(model) -> bool:
    return isinstance(model, keras.Model) and getattr(model, "inputs", None) is not None


def _all_layer_names(model: keras.Model) -> List[str]:
    """Names of the layers at every nesting depth, each once, in graph order."""
    names = []
    for layer in model.layers:
        inner = _all_layer_names(layer) if _is_functional(layer) else []
        names += [n for n in [layer.name] + inner if n not in names]
    return names


def _extractor(model: keras.Model, layer_name: str) -> Optional[keras.Model]:
    """model.inputs -> [model.output, feature], or None when no (nested) layer has the name."""
    top = [layer for layer in model.layers if layer.name == layer_name]
    if top:
        return keras.Model(model.inputs, [model.output, top[0].output],
                           name=f"{model.name}_with_{layer_name}")
    found = {}
    for layer in model.layers:
        if _is_functional(layer):
            inner = _extractor(layer, layer_name)
            if inner is not None:
                found[id(layer)] = inner
    if not found or len(model.inputs) != 1:
        return None
    features = []

    def call(op, *args, **kwargs):  # replays model's graph, nested holders swapped in
        if id(op) in found:
            out, feature = found[id(op)](*args, **kwargs)
            features.append(feature)
            return out
        return op(*args, **kwargs)

    ref = model.inputs[0]
    inputs = keras.Input(tuple(ref.shape[1:]), dtype=ref.dtype, name="inputs")
    # Functional's graph replay with a per-operation call (keras.src.ops.function); the
    # public API has no way to reach a nested model's intermediate output.
    logits = model._run_through_graph([inputs], call_fn=call)
    mean = features[0] if len(features) == 1 else keras.layers.Average(
        dtype="float32", name=f"average_{layer_name}")(features)
    return keras.Model(inputs, [logits, mean], name=f"{model.name}_with_{layer_name}")


def feature_extractor(model: keras.Model, layer_name: str, field: str) -> keras.Model:
    """inputs -> [logits [B, k], features at `layer_name` [B, ...]], sharing `model`'s layers.

    Args:
      model: a functional model (the layer at any nesting depth), or an ensemble of them.
      layer_name: the layer whose output is the feature (e.g. "pool", the last block's
        globally pooled output in wrn_* and simple_cnn_*).
      field: the config field that named the layer, for the error message.
    """
    if not _is_functional(model):
        raise UsageError(f"{field}={layer_name!r}: feature distillation needs a functional "
                         f"model, but {getattr(model, 'name', model)!r} is "
                         f"{type(model).__name__}")
    extractor = _extractor(model, layer_name)
    if extractor is None:
        raise UsageError(f"{field}={layer_name!r} is not a layer of {model.name!r}; its "
                         f"layers: {', '.join(_all_layer_names(model))}")
    return extractor
