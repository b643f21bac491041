"""One function from `config.runtime` to the run's tf.distribute strategy, plus the runtime
settings that go with it (XLA, mixed precision, logical CPU devices).

runtime.strategy:
  auto          TPU if one is attached, else all GPUs (mirrored), else the CPU
  cpu           one CPU device
  gpu           all visible GPUs (one device: OneDeviceStrategy; several: MirroredStrategy)
  mirrored      MirroredStrategy over all GPUs, or over `num_cpu_devices` logical CPUs
  multi_worker  MultiWorkerMirroredStrategy; the cluster comes from TF_CONFIG
  tpu           TPUStrategy on runtime.tpu ("local" on a Cloud TPU VM, or a TPU name/address)
"""

from __future__ import annotations

import glob
import os
from typing import Optional

import keras
import tensorflow as tf
from absl import logging

from ens_kd_tf import jit_choice, keras_compat
from ens_kd_tf.errors import UsageError, check_choice, check_positive

STRATEGIES = ("auto", "cpu", "gpu", "mirrored", "multi_worker", "tpu")
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
# "auto" on a CPU with bf16 units: mixed_bfloat16 from this many training GFLOP per step
# (measured with `python -m ens_kd_tf.bench train`, README "Benchmarks").
BF16_MIN_GFLOP_PER_STEP = 5.0
# /proc/cpuinfo flags of CPUs with bfloat16 matrix units (AVX512_BF16, AMX).
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
JIT_CHOICES = ("auto", "on", "off")

_GPU_HINT = (
    "install a CUDA build: pip install -e '.[gpu]' && pip install --force-reinstall "
    "--no-deps 'tensorflow==2.21.0' (see README, 'GPU and TPU')")


def configure_cpu_devices(num_devices: int) -> None:
    """Splits the CPU into `num_devices` logical devices (for multi-replica runs on CPU).

    Must run before TensorFlow initialises its devices; later calls are checked, not applied.
    """
    if num_devices <= 1:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices)
    except RuntimeError:
        have = len(tf.config.list_logical_devices("CPU"))
        if have != num_devices:
            raise UsageError(
                f"runtime.num_cpu_devices={num_devices} cannot be applied: TensorFlow already "
                f"started with {have} CPU device(s) in this process") from None


def tpu_attached() -> bool:
    """Cheap check (no network): a Cloud TPU VM has /dev/accel* or /dev/vfio devices, or the
    environment names a TPU."""
    return bool(os.environ.get("TPU_NAME") or glob.glob("/dev/accel*")
                or os.environ.get("TPU_ACCELERATOR_TYPE"))


def _tpu_strategy(tpu: str) -> tf.distribute.Strategy:
    hint = ("on a Cloud TPU VM use runtime.tpu='local', elsewhere the TPU's name or "
            "grpc:// address (see README, 'GPU and TPU')")
    # Newer TPU VMs expose /dev/vfio/<n> instead of /dev/accel*: only their absence too
    # proves there is no local TPU (TF's own attempt prints pages of kernel errors).
    if tpu in ("", "local") and not (tpu_attached() or glob.glob("/dev/vfio/[0-9]*")):
        raise UsageError(f"runtime.strategy='tpu' with runtime.tpu={tpu!r}: no TPU found on "
                         f"this machine (no /dev/accel*, /dev/vfio/<n>, TPU_NAME or "
                         f"TPU_ACCELERATOR_TYPE); {hint}")
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "local")
        if tpu not in ("", "local"):
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError, RuntimeError) as e:
        reason = " ".join(str(e).split("\n")[0].split())[:200]  # TF's text runs over lines
        raise UsageError(f"runtime.strategy='tpu' with runtime.tpu={tpu!r}: no TPU found "
                         f"({type(e).__name__}: {reason}); {hint}") from None
    return tf.distribute.TPUStrategy(resolver)


def validate_runtime(runtime) -> None:
    """Checks config section `runtime`."""
    check_choice("runtime.strategy", runtime.strategy, STRATEGIES)
    check_choice("runtime.mixed_precision", runtime.mixed_precision, PRECISIONS)
    check_choice("runtime.jit_compile", runtime.jit_compile, JIT_CHOICES)
    check_choice("runtime.verbose", runtime.verbose, (0, 1, 2))
    check_positive("runtime.num_cpu_devices", runtime.num_cpu_devices)


def make_strategy(runtime) -> tf.distribute.Strategy:
    """The strategy named by `runtime.strategy` (see the module docstring)."""
    kind = runtime.strategy
    if kind == "auto":
        if tpu_attached():
            kind = "tpu"
        elif tf.config.list_physical_devices("GPU"):
            kind = "gpu"
        elif runtime.num_cpu_devices > 1:
            kind = "mirrored"
        else:
            kind = "cpu"
        logging.info("runtime.strategy=auto picked %s", kind)
    if kind == "cpu":
        return tf.distribute.OneDeviceStrategy("/cpu:0")
    if kind == "gpu":
        gpus = tf.config.list_logical_devices("GPU")
        if not gpus:
            built = "with" if tf.test.is_built_with_cuda() else "without"
            raise UsageError(
                f"runtime.strategy='gpu' but no GPU is visible (TensorFlow was built {built} "
                f"CUDA); {_GPU_HINT}")
        if len(gpus) == 1:
            return tf.distribute.OneDeviceStrategy(gpus[0].name)
        return tf.distribute.MirroredStrategy()
    if kind == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        return tf.distribute.MirroredStrategy(devices)
    if kind == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            logging.warning("runtime.strategy='multi_worker' without TF_CONFIG: one worker")
        keras_compat.patch_scalar_log_reduction()
        return tf.distribute.MultiWorkerMirroredStrategy()
    return _tpu_strategy(runtime.tpu)


def is_tpu(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, (tf.distribute.TPUStrategy, tf.distribute.experimental.TPUStrategy))


def replica_devices_are_cpus(strategy: tf.distribute.Strategy) -> bool:
    devices = getattr(strategy.extended, "worker_devices", ())
    return all("CPU" in d.upper() for d in devices)


def use_jit_compile(runtime, strategy: tf.distribute.Strategy) -> bool:
    """XLA per `runtime.jit_compile`; "auto" = on, except multi-replica CPU runs, where XLA
    cannot place variables across logical CPU devices (keras#19005). With "auto" and one
    replica off TPU this is only the starting value: `fit_resumable` replaces it with the
    measured faster path (see `probe_jit` and jit_choice.py)."""
    if runtime.jit_compile != "auto":
        return runtime.jit_compile == "on"
    if is_tpu(strategy):
        return True
    multi = strategy.num_replicas_in_sync > 1
    return not (multi and replica_devices_are_cpus(strategy))


def probe_jit(runtime, strategy: tf.distribute.Strategy) -> bool:
    """Whether `fit` measures XLA vs no XLA (jit_choice.py): "auto" on one CPU / GPU replica.

    TPUs always use XLA; multi-replica CPU never can; multi-replica GPU and multi-worker
    runs keep XLA on, so every replica and worker runs the same path without a probe each.
    """
    return (runtime.jit_compile == "auto" and not is_tpu(strategy)
            and strategy.num_replicas_in_sync == 1)


def cpu_has_bf16() -> bool:
    """True when /proc/cpuinfo lists a bfloat16 matrix unit (AVX512_BF16 or AMX)."""
    return any(flag in jit_choice.cpu_info()[1] for flag in BF16_CPU_FLAGS)


def auto_precision(runtime, step_gflop: Optional[float] = None) -> Optional[str]:
    """What runtime.mixed_precision="auto" stands for: mixed_bfloat16 on TPUs; float32 on
    GPUs and on CPUs without bf16 units; on CPUs with them, mixed_bfloat16 for models whose
    train step costs at least BF16_MIN_GFLOP_PER_STEP, else float32 (measured: below it
    bf16 is no faster; see README "Benchmarks"). None while that cost is unknown."""
    kind = getattr(runtime, "strategy", "auto")
    if kind == "tpu" or (kind == "auto" and tpu_attached()):
        return "mixed_bfloat16"
    if kind in ("gpu", "auto", "mirrored", "multi_worker") and \
            tf.config.list_physical_devices("GPU"):
        return "float32"
    if not cpu_has_bf16():
        return "float32"
    if step_gflop is None:
        return None
    return "mixed_bfloat16" if step_gflop >= BF16_MIN_GFLOP_PER_STEP else "float32"


def set_precision(policy: str, runtime=None) -> Optional[str]:
    """Sets the global Keras dtype policy; models keep float32 logits. "auto" is resolved by
    `auto_precision(runtime)`; when that depends on the model, float32 is set for now and
    None returned (Runtime.settle_precision decides). Returns the policy set."""
    if policy == "auto":
        policy = auto_precision(runtime)
        if policy is None:
            keras.mixed_precision.set_dtype_policy("float32")
            return None
        logging.info("runtime.mixed_precision=auto picked %s", policy)
    keras.mixed_precision.set_dtype_policy(policy)
    return policy


def check_global_batch(global_batch: int, strategy: tf.distribute.Strategy) -> int:
    """Returns the per-replica batch; the global batch must split evenly over replicas."""
    replicas = strategy.num_replicas_in_sync
    if global_batch % replicas:
        raise UsageError(
            f"train.batch_size={global_batch} is not divisible by the {replicas} replicas of "
            f"this strategy; use a multiple of {replicas}")
    return global_batch // replicas


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True for the one process that writes results, exports and reports.

    Multi-worker: the task named "chief", or worker 0 when the cluster has no chief.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


class Runtime:
    """What a run needs of the hardware: the strategy, whether steps use XLA, who writes,
    and (with runtime.mixed_precision=auto on a bf16 CPU) the precision still to settle."""

    def __init__(self, strategy: tf.distribute.Strategy, jit_compile: bool,
                 probe_jit: bool = False, precision_config=None):
        """`jit_compile`: XLA for compiled steps (the starting value when `probe_jit`);
        `probe_jit`: `fit_resumable` picks XLA or not by a cached measured probe;
        `precision_config`: config.runtime when "auto" waits for the model's cost."""
        self.strategy = strategy
        self.jit_compile = jit_compile
        self.probe_jit = probe_jit
        self.is_chief = is_chief(strategy)
        self.precision_config = precision_config

    @property
    def precision_pending(self) -> bool:
        return self.precision_config is not None

    def settle_precision(self, step_gflop: Optional[float]) -> str:
        """Sets "auto"'s precision for a model of `step_gflop` training GFLOP per step
        (float32 when unknown); call before the first model is built. Returns the policy."""
        policy = auto_precision(self.precision_config, step_gflop) or "float32"
        keras.mixed_precision.set_dtype_policy(policy)
        where = f"{step_gflop:.1f}" if step_gflop is not None else "unknown"
        logging.info("runtime.mixed_precision=auto picked %s (train step %s GFLOP, bf16 from "
                     "%g)", policy, where, BF16_MIN_GFLOP_PER_STEP)
        self.precision_config = None
        return policy

    @property
    def num_replicas(self) -> int:
        return self.strategy.num_replicas_in_sync

    def _xla_label(self) -> str:
        if self.probe_jit:
            return "chosen per model by a measured probe"
        return "on" if self.jit_compile else "off"

    def describe(self) -> str:
        precision = ("precision auto (decided by the model's cost)" if self.precision_pending
                     else keras.mixed_precision.dtype_policy().name)
        return (f"{type(self.strategy).__name__} with {self.num_replicas} replica(s), "
                f"XLA {self._xla_label()}, {precision}")


def setup_runtime(runtime, deterministic: bool = False) -> Runtime:
    """Applies `config.runtime` (devices, precision, determinism) and makes the strategy.

    Call once per process, before any other TensorFlow work.
    """
    configure_cpu_devices(runtime.num_cpu_devices)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    strategy = make_strategy(runtime)  # first: a missing TPU stops before anything is set
    pending = set_precision(runtime.mixed_precision, runtime) is None
    return Runtime(strategy, use_jit_compile(runtime, strategy), probe_jit(runtime, strategy),
                   precision_config=runtime if pending else None)
