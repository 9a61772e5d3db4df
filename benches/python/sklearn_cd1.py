#!/usr/bin/env python3
"""One CD-1 epoch with scikit-learn's BernoulliRBM at the shape of benches/benches/rbm.rs.

Data: N random samples of 1600 units in {0, 1} (float32), 400 hidden units, batches of 100,
n_iter = 1 (one epoch), learning rate 0.01. Prints samples per second, best of a few repeats.
scikit-learn's RBM has binary units only; the arithmetic per sample (5 GEMM-equivalents of
100 x 1600 x 400) is the same as for spins.

Usage: python3 benches/python/sklearn_cd1.py [N] [REPEATS] [RUST_SAMPLES_PER_SECOND]
Give the Rust bench's throughput (criterion's "thrpt") as the third argument to print the
ratio. Exits 0 with a message when scikit-learn is not installed.
"""

import sys
import time


def main() -> int:
    try:
        import numpy as np
        from sklearn.neural_network import BernoulliRBM
    except ImportError:
        print("scikit-learn is not installed (pip install scikit-learn); nothing to compare")
        return 0

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    rust = float(sys.argv[3]) if len(sys.argv) > 3 else None

    rng = np.random.default_rng(1)
    data = (rng.random((n, 1600)) < 0.5).astype(np.float32)
    best = float("inf")
    for r in range(repeats):
        rbm = BernoulliRBM(
            n_components=400, learning_rate=0.01, batch_size=100, n_iter=1, random_state=r, verbose=0
        )
        t0 = time.perf_counter()
        rbm.fit(data)
        best = min(best, time.perf_counter() - t0)
    rate = n / best
    print(f"sklearn BernoulliRBM CD-1 epoch: n={n} v=1600 h=400 b=100 float32: {rate:.0f} samples/s")
    if rust is not None:
        print(f"rbm-core {rust:.0f} samples/s: ratio rbm-core / sklearn = {rust / rate:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
