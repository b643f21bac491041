"""ens_kd_tf: ensembles, knowledge distillation and self-distillation in Keras 3 / TensorFlow.

Reproduces Allen-Zhu & Li, "Towards Understanding Ensemble, Knowledge Distillation and
Self-Distillation in Deep Learning" (ICLR 2023). Entry point: `python -m ens_kd_tf.main`.
"""

__version__ = "0.1.0"
