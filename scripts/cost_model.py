#!/usr/bin/env python3
"""Cost model of a textsaga fit: calibrated on this machine, checked against
measured runs, and extrapolated to an InfiniBand cluster.

    scripts/cost_model.py --calibrate M1.json [--check M.json ...] [--batches B.json ...]

M1.json is the `--metrics` of a 1-rank fit (batch 1); --check takes fits at
other rank counts on the same corpus, --batches 1-rank fits at other
--batch-size values (for the epochs' growth with the batch).

Per step, a total batch of b samples on P ranks (features split P ways):

    t_step  = b (c - c_g) I / P          both passes over the rank's share of the non-zeros
            + b c_g                      every rank: loss and gradient of all b samples (O(K))
            + alpha ceil(log2 P)         the step's allreduce: latency ...
            + 2 beta 8 ((2K + 3) b + 1)  ... and bytes (a small-message allreduce)
    t_epoch = (n / b) t_step
    T(P)    = min over b of  E(b) t_epoch(b, P),   E(b) = E_1 (1 + (b - 1) / B_0)

Every rank works on every sample of a step (its features' share), so b is
free of P: what grows with P is the latency to amortise, and what does not
shrink is c_g and the epochs a larger batch needs.

c is one sample's cost on one rank (fit seconds / epochs / n of M1.json),
c_g = 7.5 ns x K (5 % of c at K = 20 in perf), I the imbalance of the
feature split (1.0 measured), E_1 the epochs at batch 1 and B_0 fitted to
--batches (or 16). alpha and beta: 0.4 us and 0.2 ns/byte for shared memory
here (scripts/bench_combine.sh), 1.5 us and 0.08 ns/byte (12.5 GB/s) for
InfiniBand HDR, the usual published figures.
"""
import argparse
import json
import math


def load(path):
    m = json.load(open(path))
    return {
        "n": m["documents"], "ranks": m["ranks"], "epochs": m["epochs"],
        "b": m.get("batch_total", m["batch_size_per_rank"] * m["ranks"]), "fit": m["seconds"]["fit"]["max"],
        "k": 1 if m["classes"] == 2 else m["classes"], "nnz": m["nnz"] / m["documents"],
    }


def t_epoch(n, p, b, c, cg, k, alpha, beta, imbalance=1.0):
    if p == 1:
        return n * c
    comm = alpha * math.ceil(math.log2(p)) + 2 * beta * 8 * ((2 * k + 3) * b + 1)
    return (n / b) * (b * (c - cg) * imbalance / p + b * cg + comm)


def epochs(b, e1, b0):
    return e1 * (1 + (b - 1) / b0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calibrate", required=True)
    ap.add_argument("--check", nargs="*", default=[])
    ap.add_argument("--batches", nargs="*", default=[])
    ap.add_argument("--docs", type=float, default=10e6, help="corpus size to extrapolate to (default 10M)")
    a = ap.parse_args()

    base = load(a.calibrate)
    n, k = base["n"], base["k"]
    c = base["fit"] / base["epochs"] / n
    cg = 7.5e-9 * k
    e1 = base["epochs"]
    b0 = 16.0
    sweep = [load(p) for p in a.batches]
    if sweep:
        # Least squares for 1/B0 in E(b)/E1 - 1 = (b - 1)/B0.
        num = sum((r["epochs"] / e1 - 1) * (r["b"] - 1) for r in sweep)
        den = sum((r["b"] - 1) ** 2 for r in sweep)
        b0 = den / num if num > 0 else float("inf")
    print(f"calibration: n = {n}, K = {k}, {base['nnz']:.1f} non-zeros a document; c = {c * 1e6:.2f} us a sample, "
          f"c_g = {cg * 1e6:.2f} us, E_1 = {e1} epochs, B_0 = {b0:.1f}")
    for r in sweep:
        print(f"  batch {r['b']:>3} at 1 rank: {r['epochs']} epochs measured, {epochs(r['b'], e1, b0):.1f} modelled")

    shm = (0.4e-6, 0.2e-9)
    if a.check:
        print("check against measured runs (shared memory, this machine):")
        print(f"  {'ranks':>5} {'b':>4} {'s/epoch measured':>17} {'modelled':>9} {'error':>7}")
        for path in [a.calibrate] + a.check:
            r = load(path)
            meas = r["fit"] / r["epochs"]
            mod = t_epoch(r["n"], r["ranks"], r["b"], c, cg, k, *shm)
            print(f"  {r['ranks']:>5} {r['b']:>4} {meas:17.3f} {mod:9.3f} {100 * (mod - meas) / meas:6.0f}%")

    ib = (1.5e-6, 0.08e-9)
    n10 = a.docs
    t1 = epochs(1, e1, b0) * t_epoch(n10, 1, 1, c, cg, k, *ib)
    print(f"prediction, {n10 / 1e6:.0f}M documents on InfiniBand HDR (alpha 1.5 us, beta 0.08 ns/B), best batch per rank count:")
    print(f"  {'ranks':>5} {'b':>5} {'epochs':>7} {'s/epoch':>9} {'time to solution s':>19} {'speedup':>8} {'efficiency':>10}")
    for p in (1, 2, 4, 16, 64, 128, 256, 1024):
        best = min(((epochs(b, e1, b0) * t_epoch(n10, p, b, c, cg, k, *ib), b) for b in range(1, 4097)))
        t, b = best
        print(f"  {p:>5} {b:>5} {epochs(b, e1, b0):7.1f} {t_epoch(n10, p, b, c, cg, k, *ib):9.2f} {t:19.1f} {t1 / t:8.1f} {100 * t1 / t / p:9.1f}%")


if __name__ == "__main__":
    main()
