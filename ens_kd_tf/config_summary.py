"""TensorBoard extras beside keras.callbacks.TensorBoard: the config as text and hparams."""

from __future__ import annotations

import json

import tensorflow as tf
from absl import logging


def flatten_config(config_dict: dict, prefix: str = "") -> dict:
    """{"train": {"epochs": 3}} -> {"train.epochs": 3}; lists/tuples become strings."""
    flat = {}
    for key, value in config_dict.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_config(value, name + "."))
        elif isinstance(value, (bool, int, float, str)):
            flat[name] = value
        else:
            flat[name] = str(value)
    return flat


def write_config_summary(log_dir: str, config_dict: dict) -> None:
    """Writes the config as a text summary and as TensorBoard hparams under `log_dir`."""
    writer = tf.summary.create_file_writer(log_dir)
    with writer.as_default():
        text = "```\n" + json.dumps(config_dict, indent=2, sort_keys=True) + "\n```"
        tf.summary.text("config", text, step=0)
        try:
            from tensorboard.plugins.hparams import api as hp

            hp.hparams(flatten_config(config_dict))
        except Exception as e:  # hparams is a nicety; the text summary has everything
            logging.warning("hparams summary not written: %s", e)
    writer.flush()
    writer.close()
