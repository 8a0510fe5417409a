"""
Measure what MLRSNetScheduler and MetaTrainer add to the cost of one training step.

Each training step is zero_grad, forward, cross-entropy loss, backward and the update of:
  a  plain SGD (momentum 0.9, weight decay 5e-4): optimizer.step()
  b  the same SGD with MLRSNetScheduler: scheduler.step(loss), then optimizer.step()
  c  meta-training with MetaTrainer: trainer.step(loss), with a look-ahead every t_val steps

The three run in one process for several rounds. In each round every kind trains for a
window of whole look-ahead periods, and the windows are cut into short chunks that run
round-robin, so that load from other processes hits all three alike. The script prints the
ms/step of each kind, the ratios b/a and c/a, and the peak memory of c over a, to compare;
nothing is asserted.

Run from the repository root:
    PYTHONPATH=src python benchmarks/step_overhead.py
    PYTHONPATH=src python benchmarks/step_overhead.py --quick    # smoke check

On CPU the torch profiler writes its start and stop lines, and a warning about blocks
allocated before profiling, to stderr; they do not affect the figures.
"""

import argparse
import copy
import gc
import json
import os
import statistics
import tempfile
import time
import warnings

import torch
import torch.nn.functional as F

import mlrsnet
from mlrsnet.data.digits import load_digits_splits
from mlrsnet.models import MLP, SmallCNN

KINDS = ("a", "b", "c")
WORKLOAD_NAMES = ("digits", "mnist28")
NUM_CLASSES = 10
# SGD settings shared by a, b and c.
LR = 0.1
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
# A fresh schedule net starts near p = 0.5, so b and c train at an LR near LR. Gamma's value
# does not change the work done per step, and an explicit one keeps long runs from diverging.
GAMMA = 2 * LR
# Printed beside the 28x28 CNN figures, not asserted.
TARGETS = {"b/a": 1.02, "c/a": 1.03, "mem c/a": 1.2}

# -----------------------------------------------------------------------------
# options

parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
parser.add_argument("--rounds", type=int, default=None, help="timed windows per configuration (default 7, 1 with --quick)")
parser.add_argument(
    "--steps-per-window",
    type=int,
    default=None,
    help="training steps per timed window, a multiple of --t-val and --chunk-steps (default 200, 100 with --quick)",
)
parser.add_argument(
    "--chunk-steps",
    type=int,
    default=10,
    help="steps each kind runs before the next kind takes over, inside a window (default 10)",
)
parser.add_argument("--t-val", type=int, default=100, help="steps between MetaTrainer look-aheads (default 100)")
parser.add_argument(
    "--warmup-steps", type=int, default=None, help="untimed steps per configuration first (default 20, 5 with --quick)"
)
parser.add_argument("--threads", type=int, default=None, help="value for torch.set_num_threads (default: torch's own)")
parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="device to train on (default cpu)")
parser.add_argument(
    "--workloads",
    default=",".join(WORKLOAD_NAMES),
    help=f"comma-separated workloads to run, from: {', '.join(WORKLOAD_NAMES)} (default: all)",
)
parser.add_argument("--quick", action="store_true", help="smoke check: one round of t_val steps, 5 warm-up steps")
parser.add_argument("--seed", type=int, default=0, help="seed of the models, the schedule net and the data")
args = parser.parse_args()

if args.rounds is None:
    args.rounds = 1 if args.quick else 7
if args.steps_per_window is None:
    args.steps_per_window = args.t_val if args.quick else 2 * args.t_val
if args.warmup_steps is None:
    args.warmup_steps = 5 if args.quick else 20
for flag, value, minimum in (
    ("--rounds", args.rounds, 1),
    ("--steps-per-window", args.steps_per_window, 1),
    ("--chunk-steps", args.chunk_steps, 1),
    ("--t-val", args.t_val, 1),
    ("--warmup-steps", args.warmup_steps, 0),
):
    if value < minimum:
        parser.error(f"{flag} must be at least {minimum}, got {value}")
if args.threads is not None and args.threads < 1:
    parser.error(f"--threads must be at least 1, got {args.threads}")
# A window of whole look-ahead periods charges c its look-ahead cost at the true rate.
if args.steps_per_window % args.t_val != 0:
    parser.error(
        f"--steps-per-window ({args.steps_per_window}) must be a multiple of --t-val ({args.t_val}) "
        "so that every timed window of c contains the same number of look-aheads"
    )
if args.steps_per_window % args.chunk_steps != 0:
    parser.error(
        f"--steps-per-window ({args.steps_per_window}) must be a multiple of --chunk-steps ({args.chunk_steps})"
    )
workload_names = [name.strip() for name in args.workloads.split(",") if name.strip()]
unknown = [name for name in workload_names if name not in WORKLOAD_NAMES]
if unknown or not workload_names:
    parser.error(f"--workloads must name some of {', '.join(WORKLOAD_NAMES)}, got {args.workloads!r}")
if args.device == "cuda" and not torch.cuda.is_available():
    parser.error("--device cuda was given but torch.cuda.is_available() is False; use --device cpu")

if args.threads is not None:
    torch.set_num_threads(args.threads)
device = torch.device(args.device)


def synchronize():
    # CUDA kernels run asynchronously, so a timer read without this would miss queued work.
    if device.type == "cuda":
        torch.cuda.synchronize()


# -----------------------------------------------------------------------------
# workloads: models and pre-made batches, so that data loading is not timed


def split_into_batches(inputs, targets, batch_size):
    count = len(targets) // batch_size
    return [
        (inputs[i * batch_size : (i + 1) * batch_size].to(device), targets[i * batch_size : (i + 1) * batch_size].to(device))
        for i in range(count)
    ]


def digits_workload():
    splits = load_digits_splits(seed=args.seed)
    batch_size = 64
    return {
        "title": f"scikit-learn digits, 8x8 inputs, batch {batch_size}, {NUM_CLASSES} classes",
        "models": {
            "MLP": lambda: MLP((1, 8, 8), NUM_CLASSES),
            "SmallCNN": lambda: SmallCNN(1, NUM_CLASSES),
        },
        "train": split_into_batches(*splits.train.tensors, batch_size),
        "meta": split_into_batches(*splits.meta.tensors, batch_size),
        "targets": None,
    }


def mnist28_workload():
    # Random inputs of MNIST's shape: the step's cost depends on shapes, not on pixel values.
    generator = torch.Generator().manual_seed(args.seed)
    batch_size = 128
    train_count, meta_count = 8, 2
    inputs = torch.randn((train_count + meta_count) * batch_size, 1, 28, 28, generator=generator)
    targets = torch.randint(0, NUM_CLASSES, (len(inputs),), generator=generator)
    batches = split_into_batches(inputs, targets, batch_size)
    return {
        "title": f"random 28x28 inputs (MNIST shape), batch {batch_size}, {NUM_CLASSES} classes",
        "models": {"SmallCNN": lambda: SmallCNN(1, NUM_CLASSES)},
        "train": batches[:train_count],
        "meta": batches[train_count:],
        "targets": TARGETS,
    }


WORKLOADS = {"digits": digits_workload, "mnist28": mnist28_workload}

# -----------------------------------------------------------------------------
# one configuration: a model, its optimizer and its LR rule


class Run:
    """One of the configurations a, b, c, training its own copy of the model."""

    def __init__(self, kind, initial_model, schedule, meta_batches, total_steps):
        self.kind = kind
        self.model = copy.deepcopy(initial_model)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
        self.scheduler = None
        self.trainer = None
        if kind == "b":
            self.scheduler = mlrsnet.MLRSNetScheduler(
                self.optimizer, schedule, total_steps, gamma=GAMMA, num_classes=NUM_CLASSES
            )
        if kind == "c":
            self.trainer = mlrsnet.MetaTrainer(
                self.model, self.optimizer, meta_batches, total_steps, t_val=args.t_val, gamma=GAMMA, num_classes=NUM_CLASSES
            )
        self.steps = 0

    def train(self, batches, count):
        for _ in range(count):
            inputs, targets = batches[self.steps % len(batches)]
            self.optimizer.zero_grad()
            loss = F.cross_entropy(self.model(inputs), targets)
            loss.backward()
            if self.trainer is not None:
                self.trainer.step(loss)
            else:
                if self.scheduler is not None:
                    self.scheduler.step(loss)
                self.optimizer.step()
            self.steps += 1


def seconds_per_step(chunk_seconds_by_round):
    """Return the per-step time from ``[round][chunk]`` times: the median over rounds of each chunk, summed.

    Windows are whole look-ahead periods and start at the same step modulo t_val, so chunk j covers
    the same steps of the period in every round. Its median over rounds drops bursts of load from
    other processes, and the sum over chunks still counts the look-ahead chunk of c once per period.
    """
    chunk_count = len(chunk_seconds_by_round[0])
    medians = [statistics.median(chunks[j] for chunks in chunk_seconds_by_round) for j in range(chunk_count)]
    return sum(medians) / args.steps_per_window


# -----------------------------------------------------------------------------
# peak memory


def cpu_peak_bytes(run, batches, count):
    """Return the peak of live tensor bytes over ``count`` steps, from torch.profiler's memory timeline.

    The timeline counts every tensor allocated during the steps and every older tensor that
    an op reads in them (parameters, gradients, optimizer state, batches). So the peak is the
    training step's own memory, without allocator caching or the other runs in the process.
    """
    activities = [torch.profiler.ProfilerActivity.CPU]
    with torch.profiler.profile(activities=activities, profile_memory=True, record_shapes=True, with_stack=True) as prof:
        run.train(batches, count)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "memory.json")
        # NOTE: torch 2.13 marks export_memory_timeline deprecated in favour of CUDA-only memory snapshots,
        # but it is the profiler's only view of CPU tensor memory.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            prof.export_memory_timeline(path, device="cpu")
        with open(path) as file:
            _, sizes_by_category = json.load(file)
    return max(sum(sizes) for sizes in sizes_by_category)


def cuda_peak_bytes(kind, initial_model, schedule, batches, meta_batches, total_steps):
    """Return torch.cuda.max_memory_allocated, less what was allocated before, over a fresh run of t_val + 2 steps."""
    # NOTE: the --device cuda path has not been run on a GPU yet. On CPU-only machines it stops at the option check.
    gc.collect()
    torch.cuda.empty_cache()
    synchronize()
    baseline = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    run = Run(kind, initial_model, schedule, meta_batches, total_steps)
    # Steps 0 and t_val are look-aheads for c, the second one with momentum buffers already made.
    run.train(batches, args.t_val + 2)
    synchronize()
    return torch.cuda.max_memory_allocated() - baseline


# -----------------------------------------------------------------------------
# the benchmark

if device.type == "cuda":
    memory_method = "torch.cuda.max_memory_allocated over t_val + 2 steps of a fresh run, less the bytes allocated before it"
else:
    memory_method = (
        "peak of live tensor bytes in torch.profiler's memory timeline over 2 steps, a look-ahead step of c "
        "and the step after it (tensors allocated in the window, plus older tensors that its ops read)"
    )
print(
    f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads, "
    f"{args.rounds} rounds x {args.steps_per_window} steps per window in chunks of {args.chunk_steps}, "
    f"{args.warmup_steps} warm-up steps, t_val {args.t_val}"
)
print("a: SGD   b: SGD + MLRSNetScheduler   c: MetaTrainer")
print(
    "ms/step: the median over rounds of each chunk's time, summed over the window and divided by its steps. "
    "Ranges: min-max over rounds of the window-time ratio"
)
# Other processes on the cores stall torch's worker threads, so print how busy the machine was.
if hasattr(os, "getloadavg"):
    load_average = os.getloadavg()[0]
    busy_note = ""
    if load_average >= os.cpu_count() / 2:
        busy_note = ": the machine is busy, so the figures may be noisy. Rerun, or pass --threads 1"
    print(f"load average over the last minute at start: {load_average:.2f} on {os.cpu_count()} CPUs{busy_note}")
print(f"peak memory: {memory_method}")

for workload_name in workload_names:
    workload = WORKLOADS[workload_name]()
    train_batches, meta_batches = workload["train"], workload["meta"]
    print()
    print(f"== {workload_name}: {workload['title']} ==")
    header = (
        f"{'model':<10}{'a ms':>9}{'b ms':>9}{'c ms':>9}{'b/a':>8}{'c/a':>8}"
        f"{'b/a range':>14}{'c/a range':>14}{'peak a MiB':>12}{'peak c MiB':>12}{'mem c/a':>9}"
    )
    print(header)

    for model_name, make_model in workload["models"].items():
        # Same initial weights and the same schedule net for every configuration.
        torch.manual_seed(args.seed)
        initial_model = make_model().to(device)
        schedule_net = mlrsnet.MLRSNet()
        schedule = mlrsnet.Schedule(snapshots=[schedule_net.state_dict()] * 3)
        # Long enough for timing and memory steps, so that b switches snapshots at least once while timed.
        total_steps = args.warmup_steps + args.rounds * args.steps_per_window + 2 * args.t_val + 2
        runs = {kind: Run(kind, initial_model, schedule, meta_batches, total_steps) for kind in KINDS}

        # Warm up allocator, caches and the look-ahead (step 0 of c is a look-ahead).
        for run in runs.values():
            run.train(train_batches, args.warmup_steps)
        synchronize()

        # Each round times one window per kind. The windows are cut into chunks run round-robin with a
        # rotating start, so that a burst of load from other processes hits all three kinds alike.
        chunk_count = args.steps_per_window // args.chunk_steps
        chunk_seconds = {kind: [[0.0] * chunk_count for _ in range(args.rounds)] for kind in KINDS}
        for round_index in range(args.rounds):
            # Collect now and pause the garbage collector, as timeit does, so that it does not run inside a chunk.
            gc.collect()
            gc.disable()
            for chunk_index in range(chunk_count):
                shift = (round_index + chunk_index) % len(KINDS)
                for kind in KINDS[shift:] + KINDS[:shift]:
                    synchronize()
                    start = time.perf_counter()
                    runs[kind].train(train_batches, args.chunk_steps)
                    synchronize()
                    chunk_seconds[kind][round_index][chunk_index] = time.perf_counter() - start
            gc.enable()

        # Peak memory of a and c, over a window that contains a look-ahead of c.
        if device.type == "cuda":
            peak = {
                kind: cuda_peak_bytes(kind, initial_model, schedule, train_batches, meta_batches, total_steps)
                for kind in ("a", "c")
            }
        else:
            # Bring c to a step that starts a look-ahead. The steps of a are all alike, so a needs no alignment.
            runs["c"].train(train_batches, -runs["c"].steps % args.t_val)
            look_aheads_before = runs["c"].trainer.meta_batches_used
            peak = {kind: cpu_peak_bytes(runs[kind], train_batches, 2) for kind in ("a", "c")}
            if runs["c"].trainer.meta_batches_used != look_aheads_before + 1:
                raise RuntimeError(
                    f"the memory window of c ran {runs['c'].trainer.meta_batches_used - look_aheads_before} "
                    "look-aheads instead of 1, so its peak does not cover one; check the step alignment above"
                )

        median_ms = {kind: 1000 * seconds_per_step(chunk_seconds[kind]) for kind in KINDS}
        window_seconds = {kind: [sum(chunks) for chunks in chunk_seconds[kind]] for kind in KINDS}
        ratios = {
            "b/a": median_ms["b"] / median_ms["a"],
            "c/a": median_ms["c"] / median_ms["a"],
            "mem c/a": peak["c"] / peak["a"],
        }
        # The windows of one round ran interleaved, so their ratio shows how much the rounds disagree.
        round_ratios = {
            key: [numerator / denominator for numerator, denominator in zip(window_seconds[kind], window_seconds["a"])]
            for key, kind in (("b/a", "b"), ("c/a", "c"))
        }
        ranges = {key: f"{min(values):.3f}-{max(values):.3f}" for key, values in round_ratios.items()}
        print(
            f"{model_name:<10}{median_ms['a']:>9.3f}{median_ms['b']:>9.3f}{median_ms['c']:>9.3f}"
            f"{ratios['b/a']:>8.3f}{ratios['c/a']:>8.3f}{ranges['b/a']:>14}{ranges['c/a']:>14}"
            f"{peak['a'] / 2**20:>12.2f}{peak['c'] / 2**20:>12.2f}{ratios['mem c/a']:>9.3f}"
        )

        if workload["targets"] is not None:
            verdicts = [
                f"{key} <= {limit} {'met' if ratios[key] <= limit else 'MISSED'}"
                for key, limit in workload["targets"].items()
            ]
            print(f"{'':<10}targets (not asserted): " + ", ".join(verdicts))

        del runs, initial_model
