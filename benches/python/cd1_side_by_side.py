#!/usr/bin/env python3
"""One CD-1 epoch, side by side: rbm-core, scikit-learn's BernoulliRBM and a 25-line PyTorch CD-1.

All three train 1600 -> 400 units (by default) with batches of 100 in float32 on the same number
of random samples, on the CPU with 2 threads each; the script interleaves them (round after round)
so that a busy machine slows all three alike, keeps the best epoch of each, and prints samples
per second, GFLOP/s (6.4 MFLOP per sample at 1600 x 400: five products of 2 x 1600 x 400) and
the ratios of rbm-core to each peer.

It is not part of the test suite. It creates a virtual environment (target/python-venv) and
installs numpy, scikit-learn, threadpoolctl and torch into it from PyPI on first use, and builds
the Rust side (`cargo build --release -p kadanoff-benches --example cd1_epoch`).

numpy and scikit-learn run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (in their own
process only): some machines set them to work around old OpenBLAS builds, and they keep a
current OpenBLAS off its best kernel. The kernel OpenBLAS then chose is printed (threadpoolctl).

Usage: python3 benches/python/cd1_side_by_side.py [--samples N] [--rounds R] [--epochs E]
       [--visible V] [--hidden H] [--batch B] [--threads T]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / "target" / "python-venv"
PEERS = ["numpy", "scikit-learn", "threadpoolctl", "torch"]


# ----- workers (run inside the virtual environment, one process per measurement) -------------


def worker_sklearn(a):
    import numpy as np
    from sklearn.neural_network import BernoulliRBM
    from threadpoolctl import threadpool_info, threadpool_limits

    rng = np.random.default_rng(1)
    x = (rng.random((a.samples, a.visible)) < 0.5).astype(np.float32)
    best = float("inf")
    with threadpool_limits(limits=a.threads):
        for r in range(a.epochs):
            rbm = BernoulliRBM(
                n_components=a.hidden, learning_rate=0.01, batch_size=a.batch, n_iter=1, random_state=r
            )
            t0 = time.perf_counter()
            rbm.fit(x)
            best = min(best, time.perf_counter() - t0)
        blas = [
            {k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        ]
    return {"program": "scikit-learn", "seconds": best, "blas": blas}


def worker_torch(a):
    import torch

    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(a.samples, a.visible, generator=g) < 0.5).float()
    w = 0.01 * torch.randn(a.visible, a.hidden, generator=g)
    vb, hb = torch.zeros(a.visible), torch.zeros(a.hidden)
    lr, bs = 0.01, a.batch

    def epoch():  # plain CD-1, the usual few lines
        for i in range(0, a.samples, bs):
            v0 = x[i : i + bs]
            ph0 = torch.sigmoid(v0 @ w + hb)
            h0 = (torch.rand(ph0.shape, generator=g) < ph0).float()
            pv1 = torch.sigmoid(h0 @ w.T + vb)
            v1 = (torch.rand(pv1.shape, generator=g) < pv1).float()
            ph1 = torch.sigmoid(v1 @ w + hb)
            w.add_(v0.T @ ph0 - v1.T @ ph1, alpha=lr / bs)
            vb.add_((v0 - v1).mean(0), alpha=lr)
            hb.add_((ph0 - ph1).mean(0), alpha=lr)

    best = float("inf")
    with torch.inference_mode():
        for _ in range(a.epochs):
            t0 = time.perf_counter()
            epoch()
            best = min(best, time.perf_counter() - t0)
    return {"program": "PyTorch", "seconds": best, "torch": torch.__version__,
            "cpu_capability": torch.backends.cpu.get_cpu_capability()}


# ----- driver ---------------------------------------------------------------------------------


def ensure_venv():
    py = VENV / "bin" / "python"
    if not py.exists():
        print(f"creating {VENV} and installing {' '.join(PEERS)} from PyPI ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    missing = subprocess.run(
        [str(py), "-c", "import numpy, sklearn, threadpoolctl, torch"], capture_output=True
    ).returncode
    if missing:
        subprocess.run([str(py), "-m", "pip", "install", "-q", *PEERS], check=True)
    return py


def build_rust():
    subprocess.run(
        ["cargo", "build", "--release", "-q", "-p", "kadanoff-benches", "--example", "cd1_epoch"],
        cwd=ROOT,
        check=True,
    )
    return ROOT / "target" / "release" / "examples" / "cd1_epoch"


def run_worker(py, which, a):
    env = dict(os.environ)
    if which == "sklearn":
        # Only here, and both together (see the module docs).
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    args = [str(py), __file__, "--worker", which] + common_args(a)
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_rust(exe, a):
    env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads))
    args = [str(exe), str(a.samples), str(a.epochs), str(a.visible), str(a.hidden), str(a.batch)]
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def common_args(a):
    return [
        f"--samples={a.samples}", f"--epochs={a.epochs}", f"--visible={a.visible}",
        f"--hidden={a.hidden}", f"--batch={a.batch}", f"--threads={a.threads}",
    ]


def cpu_flags():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                return [f for f in ("avx2", "fma", "avx512f", "avx512bw", "avx512vl") if f in have]
    except OSError:
        pass
    return []


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=20000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=2, help="epochs per process (the best is kept)")
    p.add_argument("--visible", type=int, default=1600)
    p.add_argument("--hidden", type=int, default=400)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--worker", choices=["sklearn", "torch"], help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        r = (worker_sklearn if a.worker == "sklearn" else worker_torch)(a)
        print(json.dumps(r))
        return 0

    py = ensure_venv()
    exe = build_rust()
    print(f"CD-1 epoch: {a.samples} samples, {a.visible} -> {a.hidden}, batches of {a.batch}, "
          f"float32, {a.threads} threads; CPU flags: {' '.join(cpu_flags())}")
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    best = {}
    extra = {}
    for r in range(a.rounds):
        for name, run in [
            ("rbm-core", lambda: run_rust(exe, a)),
            ("scikit-learn", lambda: run_worker(py, "sklearn", a)),
            ("PyTorch", lambda: run_worker(py, "torch", a)),
        ]:
            res = run()
            s = res["seconds"]
            print(f"  round {r + 1}: {name:13s} {s:7.3f} s/epoch", flush=True)
            if s < best.get(name, float("inf")):
                best[name] = s
            extra[name] = {k: v for k, v in res.items() if k not in ("program", "seconds")}
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    flop_per_sample = 2.0 * 5.0 * a.visible * a.hidden
    print(f"\n{'program':13s} {'s/epoch':>8s} {'samples/s':>10s} {'GFLOP/s':>8s}  rbm-core is")
    for name in ("rbm-core", "scikit-learn", "PyTorch"):
        s = best[name]
        rate = a.samples / s
        ratio = best[name] / best["rbm-core"]
        rel = "" if name == "rbm-core" else f"{ratio:.2f}x faster"
        print(f"{name:13s} {s:8.3f} {rate:10.0f} {rate * flop_per_sample / 1e9:8.1f}  {rel}")
    print("\nscikit-learn BLAS:", json.dumps(extra["scikit-learn"].get("blas")))
    print("PyTorch:", extra["PyTorch"].get("torch"), "CPU capability", extra["PyTorch"].get("cpu_capability"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
