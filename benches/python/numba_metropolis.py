"""A straightforward numba checkerboard Metropolis, for comparison with kadanoff's sampler.

Square L x L torus at K_c, h = 0, int8 spins, acceptance probabilities exp(-dH) precomputed
once per neighbour sum, one np.random.random() per attempted flip (numba's per-thread
Mersenne Twister). Reports attempted flips per nanosecond of CPU time (process_time, so the
number means something on a loaded machine).

    pip install numba numpy
    python benches/python/numba_metropolis.py [L] [sweeps]
"""

import sys
import time

import numba
import numpy as np

K_C = 0.5 * np.log(1.0 + np.sqrt(2.0))


@numba.njit(cache=False)
def sweep(s, accept):
    L = s.shape[0]
    for colour in range(2):
        for y in range(L):
            up = (y - 1) % L
            down = (y + 1) % L
            for x in range((y + colour) % 2, L, 2):
                n = s[y, (x - 1) % L] + s[y, (x + 1) % L] + s[up, x] + s[down, x]
                sn = s[y, x] * n  # dH = 2 K s n
                if sn <= 0 or np.random.random() < accept[sn]:
                    s[y, x] = -s[y, x]


def main():
    L = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    sweeps = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    np.random.seed(1)
    accept = np.exp(-2.0 * K_C * np.arange(5, dtype=np.float64))  # index s*n in {0, 2, 4}
    s = np.where(np.random.random((L, L)) < 0.5, 1, -1).astype(np.int8)

    @numba.njit
    def seed(v):
        np.random.seed(v)

    seed(1)
    sweep(s, accept)  # compile
    for _ in range(50):
        sweep(s, accept)
    t0 = time.process_time()
    for _ in range(sweeps):
        sweep(s, accept)
    dt = time.process_time() - t0
    flips = sweeps * L * L
    print(f"numba checkerboard Metropolis L={L}: {dt / sweeps * 1e6:.1f} us/sweep, "
          f"{flips / (dt * 1e9):.3f} attempted flips/ns, e = {-(s * (np.roll(s, 1, 0) + np.roll(s, 1, 1))).sum() / (L * L):.4f}")


if __name__ == "__main__":
    main()
