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

Scale-out prediction (both modes, `--solver auto`'s choice), from a
convergence study (`cargo bench --bench rounds`, see benches/rounds.rs):

    scripts/cost_model.py --predict --rounds R.json [--docs N] [--ranks 1,2,...,1024]
                          [--features D] [--classes K] [--nnz Z] [--gap G] [--check M.json ...]

prints CSV `mode,ranks,seconds,speedup,efficiency,gb_per_rank,ranks_per_node,
threads,cores,low,high`: speedup against the best mode on one core, efficiency a
core; `--ranks-per-node R` puts R ranks on a node, sharing its link, and
`--threads T` gives each rank T cores (cores = ranks x T); low and high are the
speedup with the cheapest and the dearest of the measured spreads (the O(dK)
work a rank repeats, from each measured rank count; L-BFGS's passes at each
rank count with enough documents a rank). What is measured and what is modelled:

- measured (R.json, ranks as threads, exact counts): SAGA's epochs and
  L-BFGS's passes to the relative gap G at 1-32 ranks; each rank's CPU
  seconds per epoch / pass; calls and bytes of every collective.
- modelled: the CPU time per pass scaled by non-zeros x classes (per rank
  1/P of the rows) plus the work every rank repeats (SAGA: O(K) a sample;
  L-BFGS: O(dK) a pass, scaled by d x K); SAGA's epochs at the target's
  batch by E(b) = E_1 (1 + (b - 1) / B_0) fitted to R.json; L-BFGS's passes
  the most any measured rank count with at least --min-docs-per-rank (5,000)
  documents a rank took (they grow only when local fits get small); communication priced with alpha
  (a stage, log2 P stages) and beta (a byte: reduce-scatter and all-gather
  move (P - 1) / P of the d x K values); memory per rank from the sizes of
  what each mode keeps.
"""
import argparse
import copy
import json
import math
import sys


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


IB = (1.5e-6, 0.08e-9)
SHM = (0.4e-6, 0.2e-9)


def auto_batch(p, nnz, k):
    """saga::plan::auto_batch: the batch SAGA runs at p ranks."""
    if p <= 1:
        return 1
    per_sample = 1e-9 * max(nnz, 1.0) * k * 2.0 / p + 7.5e-9 * k
    b = math.sqrt(2e-6 * max(math.log2(p), 1.0) * 15.0 / per_sample)
    return int(min(max(round(b), 1), 4096))


def to_gap(run, fstar, gap, key):
    """The first epoch (or pass count) whose objective is within `gap` of the optimum."""
    for e in run["epochs"]:
        if (e["objective"] - fstar) / abs(fstar) <= gap:
            return e[key] if key != "epoch" else e["epoch"], e
    return None, None


def study(path, gap):
    """Convergence and per-rank costs of a rounds study, by mode and rank count."""
    r = json.load(open(path))
    fstar = min(e["objective"] for run in r["runs"] for e in run["epochs"])
    k = 1 if r["classes"] == 2 else r["classes"]
    out = {"n": r["documents"], "d": r["features"], "k": k, "nnz": r["nnz"] / r["documents"], "saga": {}, "lbfgs": {}}
    for run in r["runs"]:
        mode, p = run["mode"], run["ranks"]
        if mode not in ("saga", "lbfgs"):
            continue
        key = "passes" if mode == "lbfgs" else "epoch"
        count, at = to_gap(run, fstar, gap, key)
        if count is None:
            continue
        last = run["epochs"][-1]
        units = last["passes"] if mode == "lbfgs" else last["epoch"]
        calls = last["comm"]["calls"]
        out[mode][p] = {"count": count, "cpu_per_unit": last["cpu_max"] / units,
                        "scalar_calls_per_iteration": calls.get("allreduce", 0) / last["epoch"],
                        "trials_per_iteration": (last["passes"] - at["passes"] + at["epoch"]) / last["epoch"] if mode == "lbfgs" else 1}
    return out


MEMORY = 30  # lbfgs::MEMORY, the pairs the two-loop recursion sweeps
PIECE = 50_000  # lbfgs::PIECE, documents a piece of the start's local fits at most


def two_unknowns(points):
    """(a, b) of y = a u + b v through (u, v, y): exact for two points, least squares beyond;
    with one point, all of y on a."""
    if len(points) < 2:
        u, _, y = points[0]
        return y / u, 0.0
    suu = sum(u * u for u, _, _ in points)
    svv = sum(v * v for _, v, _ in points)
    suv = sum(u * v for u, v, _ in points)
    suy = sum(u * y for u, _, y in points)
    svy = sum(v * y for _, v, y in points)
    det = suu * svv - suv * suv
    return (suy * svv - svy * suv) / det, (svy * suu - suy * suv) / det


class Model:
    """Both modes' time and memory at any size, from a study (see the module doc)."""

    def __init__(self, st, more=(), min_docs=5000):
        self.st = st
        n0, d0, k0, z0 = st["n"], st["d"], st["k"], st["nnz"]
        s, l = st["saga"], st["lbfgs"]
        # SAGA on one rank (batch 1, no collective): CPU seconds per non-zero and class of an epoch.
        # On P ranks the step model of docs/design.md: each sample's non-zeros split P ways, its O(K) loss
        # and gradient (7.5 ns a class, perf) on every rank, a step's allreduce.
        self.saga_1 = s[1]["cpu_per_unit"] / (n0 * z0 * k0)
        self.saga_rep = 7.5e-9
        # L-BFGS, a pass on one rank: the rows (per non-zero and class) plus the two-loop
        # recursion over the rank's block (4m + 8 sweeps of the parameters a pass), separated by
        # 1-rank studies of two corpus sizes (`more`: same features, other documents).
        pts = [(n0 * z0 * k0, (4 * MEMORY + 8) * (d0 + 1) * k0, l[1]["cpu_per_unit"])]
        pts += [(o["n"] * o["nnz"] * o["k"], (4 * MEMORY + 8) * (o["d"] + 1) * o["k"], o["lbfgs"][1]["cpu_per_unit"]) for o in more]
        self.lbfgs_nz, self.lbfgs_vec = two_unknowns(pts)
        # The O(dK) work every rank repeats a pass (memset, the reduce-scatter's input, the
        # all-gather's output), per parameter: what 2 ranks on 2 cores spend beyond half of 1.
        half = l[1]["cpu_per_unit"] / 2
        self.lbfgs_rep = max(l[2]["cpu_per_unit"] - half, 0.0) / ((d0 + 1) * k0)
        # The same at every measured rank count: the spread behind the low and high figures.
        self.rep_spread = [max(v["cpu_per_unit"] - l[1]["cpu_per_unit"] / p, 0.0) / ((d0 + 1) * k0) for p, v in l.items() if p > 1] or [self.lbfgs_rep]
        self.e1 = s[1]["count"]
        pts = [(auto_batch(p, z0, k0), v["count"]) for p, v in s.items() if p > 1]
        num = sum((e / self.e1 - 1) * (bb - 1) for bb, e in pts)
        den = sum((bb - 1) ** 2 for bb, _ in pts)
        self.b0 = den / num if num > 0 else float("inf")
        # Passes depend on the ranks only through the start (local fits of n / P documents):
        # the most any rank count with at least `min_docs` documents a rank took.
        self.passes = max(v["count"] for p, v in l.items() if n0 / p >= min(min_docs, n0))
        self.passes_spread = [v["count"] for p, v in l.items() if n0 / p >= min(min_docs, n0)]
        self.scalars = max(v["scalar_calls_per_iteration"] for v in l.values())
        self.trials = max(v["trials_per_iteration"] for v in l.values())

    def bound(self, side):
        """This model with the cheapest (`low`) or dearest (`high`) of the measured spreads."""
        pick = min if side == "low" else max
        m = copy.copy(self)
        m.lbfgs_rep, m.passes = pick(self.rep_spread), pick(self.passes_spread)
        return m

    def saga(self, n, d, k, z, p, net, per_node=1, threads=1):
        """SAGA runs one thread a rank: a rank's other threads idle. The per_node ranks of a
        node send through one link."""
        alpha, beta = net[0], net[1] * per_node
        b = auto_batch(p, z, k)
        epochs = self.e1 * (1 + (b - 1) / self.b0)
        c, cg = self.saga_1 * z * k, self.saga_rep * k
        compute = n * ((c - cg) / p + cg) if p > 1 else n * c
        comm = (n / b) * (alpha * math.ceil(math.log2(p)) + 2 * beta * 8 * ((2 * k + 3) * b + 1)) if p > 1 else 0.0
        gb = (n * 12 + n / p * (z * 12 + k * 8 + 20) + 6 * (d + 1) * k * 8 / p + 2 * d * 8) / 1e9
        return {"compute": epochs * compute, "communication": epochs * comm, "start": 0.0, "epochs": epochs, "gb": gb}

    def lbfgs(self, n, d, k, z, p, net, memory=30, local=3, per_node=1, threads=1):
        """A rank of `threads` threads shares its rows, its O(dK) vector work and the zeroing
        it repeats over them (measured: 1 rank x 2 threads an iteration 0.93-1.05x as fast as 2 x 1);
        the start's local SAGA fits share them by pieces of PIECE documents. The per_node ranks of a node send their blocks
        through one link: a rank's share of the link is 1 / per_node."""
        alpha, beta = net[0], net[1] * per_node
        params = (d + 1) * k
        stages = math.ceil(math.log2(p)) if p > 1 else 0
        # Of the O(dK) work a rank repeats, the zeroing is on the threads; the reduce-scatter's
        # input and the all-gather's output are MPI's, on one thread (a third each, unmeasured).
        per_pass = ((n / p * self.lbfgs_nz * z * k + (4 * memory + 8) * params / p * self.lbfgs_vec) / threads
                    + self.lbfgs_rep * params * (1 / threads + 2) / 3)
        big = (alpha * stages + beta * 8 * params * (p - 1) / p) if p > 1 else 0.0
        per_iteration = 2 * big + self.scalars * alpha * stages
        # Passes counted: the start's local epochs and its evaluation, then one a line-search trial.
        iterations = (self.passes - local - 1) / self.trials
        # The start's local fits run in pieces of at most PIECE documents, on the rank's threads.
        pieces = max(math.ceil(n / p / PIECE), 1)
        start = local * n / p * self.saga_1 * z * k / min(threads, pieces) + per_pass + 2 * big
        rows = n / p * (z * 12 + 28)
        running = rows + 4 * params * 8 + (2 * memory + 6) * params * 8 / p
        if threads > 1:
            # The threaded pass: the rows by feature and n x K residuals and curvatures.
            running += rows + n / p * 2 * k * 8
        # The start: its pieces' copies of the rows and each running piece's SAGA state.
        starting = 2 * rows + n / p * k * 8 + 5 * params * 8 * min(threads, pieces)
        return {"compute": (self.passes - local - 1) * per_pass, "communication": iterations * per_iteration, "start": start,
                "epochs": iterations, "gb": max(running, starting) / 1e9}


def convergence(path, gaps=(1e-3, 1e-4, 1e-5, 1e-6)):
    """Markdown: each mode's epochs (SAGA) or passes (L-BFGS, the start's included) to each gap, by rank count."""
    r = json.load(open(path))
    fstar = min(e["objective"] for run in r["runs"] for e in run["epochs"])
    print(f"{r['documents']} documents, {r['features']} features, {r['classes']} classes; optimum {fstar:.10g} (the lowest objective seen)\n")
    print("| mode | ranks | " + " | ".join(f"{g:g}" for g in gaps) + " | CPU s a unit, max over ranks |")
    print("|---|---:|" + "---:|" * len(gaps) + "---:|")
    for run in r["runs"]:
        key = "epoch" if run["mode"] == "saga" else "passes"
        cells = [to_gap(run, fstar, g, key)[0] for g in gaps]
        last = run["epochs"][-1]
        unit = last["cpu_max"] / last[key]
        print(f"| {run['mode']} | {run['ranks']} | " + " | ".join("-" if c is None else str(c) for c in cells) + f" | {unit:.4f} |")


def predict(a):
    st = study(a.rounds[0], a.gap)
    m = Model(st, [study(r, a.gap) for r in a.rounds[1:]], a.min_docs_per_rank)
    n, d, k, z = a.docs, a.features, (1 if a.classes == 2 else a.classes), a.nnz
    ranks = [int(r) for r in a.ranks.split(",")]
    r_node, t = a.ranks_per_node, a.threads
    bounds = {side: m.bound(side) for side in ("low", "high")}

    def modes(model, p, per_node, threads):
        s = model.saga(n, d, k, z, p, IB, per_node=per_node, threads=threads)
        l = model.lbfgs(n, d, k, z, p, IB, per_node=per_node, threads=threads)
        return [("saga", s["compute"] + s["communication"] + s["start"], s), ("lbfgs", l["compute"] + l["communication"] + l["start"], l)]

    def one_core(model):
        return min(sec for _, sec, _ in modes(model, 1, 1, 1))

    t1 = one_core(m)
    t1_bound = {side: one_core(b) for side, b in bounds.items()}
    rows = []
    for p in ranks:
        # The ranks of a node: at most p (one node holds them all below per_node ranks).
        per_node = min(r_node, p)
        both = modes(m, p, per_node, t)
        speed = {side: {mode: t1_bound[side] / sec for mode, sec, _ in modes(b, p, per_node, t)} for side, b in bounds.items()}
        for mode, sec, r in both + [("auto", *min(both, key=lambda x: x[1])[1:])]:
            chosen = min(both, key=lambda x: x[1])[0] if mode == "auto" else mode
            lo, hi = sorted(speed[side][chosen] for side in bounds)
            rows.append((mode, p, sec, r, per_node, lo, hi))
    print("mode,ranks,seconds,speedup,efficiency,gb_per_rank,ranks_per_node,threads,cores,low,high")
    for mode, p, sec, r, per_node, lo, hi in rows:
        cores = p * t
        print(f"{mode},{p},{sec:.2f},{t1 / sec:.2f},{t1 / sec / cores:.3f},{r['gb']:.2f},{per_node},{t},{cores},{lo:.2f},{hi:.2f}")
    if a.details:
        with open(a.details, "w") as f:
            cal = {k2: getattr(m, k2) for k2 in ("saga_1", "saga_rep", "lbfgs_nz", "lbfgs_vec", "lbfgs_rep", "rep_spread", "e1", "b0", "passes", "passes_spread", "scalars", "trials")}
            json.dump({"calibration": cal, "rows": [{"mode": mode, "ranks": p, "seconds": sec, "ranks_per_node": rn, "low": lo, "high": hi, **r}
                                                    for mode, p, sec, r, rn, lo, hi in rows]}, f, indent=1)
    for path in a.check:
        check(m, path)


def check(m, path):
    """A real run's fit seconds against the model's, given the run's own epochs or passes (shared memory)."""
    r = json.load(open(path))
    n, d, p = r["documents"], r["columns"], r["ranks"]
    k = 1 if r["classes"] == 2 else r["classes"]
    z = r["nnz"] / n
    measured = r["seconds"]["fit"]["max"]
    if r.get("solver") == "lbfgs":
        per = m.lbfgs(n, d, k, z, p, SHM)
        scale = (r["passes"] - 4) / (m.passes - 4)
        modelled = (per["compute"] + per["communication"]) * scale + per["start"]
        what = f"{r['passes']} passes"
    else:
        per = m.saga(n, d, k, z, p, SHM)
        modelled = (per["compute"] + per["communication"]) * r["epochs"] / per["epochs"]
        what = f"{r['epochs']} epochs"
    print(f"# check {path}: {r.get('solver')} at {p} ranks, {what}: measured {measured:.2f} s, "
          f"modelled {modelled:.2f} s ({100 * (modelled - measured) / measured:+.0f} %)", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--predict", action="store_true", help="both modes and auto at --ranks, as CSV (needs --rounds)")
    ap.add_argument("--rounds", nargs="+", help="convergence studies from `cargo bench --bench rounds`: "
                    "the first at several rank counts, more at 1 rank on other corpus sizes")
    ap.add_argument("--convergence", metavar="R.json", help="print a study's epochs / passes to each gap (markdown)")
    ap.add_argument("--ranks", default="1,2,4,8,16,32,64,128,256,512,1024")
    ap.add_argument("--features", type=float, default=1e6)
    ap.add_argument("--classes", type=int, default=20)
    ap.add_argument("--nnz", type=float, default=68.0, help="non-zeros a document")
    ap.add_argument("--gap", type=float, default=1e-6, help="relative objective gap that counts as solved")
    ap.add_argument("--min-docs-per-rank", type=float, default=5000,
                    help="L-BFGS's passes: the most of the measured rank counts with at least this many documents a rank")
    ap.add_argument("--ranks-per-node", type=int, default=1,
                    help="ranks a node, sharing its network link (default 1: a link a rank)")
    ap.add_argument("--threads", type=int, default=1, help="threads a rank (fit --threads): cores = ranks x threads")
    ap.add_argument("--details", help="write the calibration and every row's parts here (JSON)")
    ap.add_argument("--calibrate")
    ap.add_argument("--check", nargs="*", default=[])
    ap.add_argument("--batches", nargs="*", default=[])
    ap.add_argument("--docs", type=float, default=10e6, help="corpus size to extrapolate to (default 10M)")
    a = ap.parse_args()
    if a.convergence:
        return convergence(a.convergence)
    if a.predict:
        if not a.rounds:
            ap.error("--predict needs --rounds R.json")
        return predict(a)
    if not a.calibrate:
        ap.error("give --predict --rounds R.json, or --calibrate M1.json")

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
