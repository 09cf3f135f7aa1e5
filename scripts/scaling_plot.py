#!/usr/bin/env python3
"""The fit's scaling picture: measured runs and the cost model to 1024 ranks.

    scripts/scaling_plot.py --rounds R.json --out PNG [--measured DIR] [--docs N]
                            [--features D] [--classes K] [--nnz Z] [--title T]

Three panels, ranks on a log2 axis:
1. speedup against the best mode on 1 rank, with the ideal line: the
   modelled curves of saga, lbfgs and auto (scripts/cost_model.py's model on
   InfiniBand HDR), and measured points (DIR/metrics-P.json from
   scripts/scaling.sh; speedup of the fit phase against the fastest 1-rank fit
   measured);
2. efficiency (speedup / ranks) of the same;
3. seconds per phase, stacked: what auto's fit spends on the start, the
   compute and the communication at each rank count (modelled), and for
   the measured runs their phases from --metrics.

Without --measured the corpus's shape comes from the flags (default: the
issue's 100 M documents, 1 M features, 20 classes, 68 non-zeros).
"""
import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import cost_model  # noqa: E402

RANKS = [2 ** i for i in range(11)]


def measured_points(directory):
    """(ranks, fit seconds, solver, phases) of every metrics-*.json of a sweep."""
    out = []
    for path in sorted(Path(directory).glob("metrics-*.json")):
        m = json.loads(path.read_text())
        # The run's own phases, in its order (src/phase.rs): no copy of the list here.
        phases = {ph: v.get("max", 0.0) for ph, v in m["seconds"].items()}
        out.append((m["ranks"], m["seconds"]["fit"]["max"], m.get("solver", "saga"), phases, m))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", required=True, nargs="+", help="as scripts/cost_model.py --rounds")
    ap.add_argument("--out", required=True)
    ap.add_argument("--measured")
    ap.add_argument("--docs", type=float, default=1e8)
    ap.add_argument("--features", type=float, default=1e6)
    ap.add_argument("--classes", type=int, default=20)
    ap.add_argument("--nnz", type=float, default=68.0)
    ap.add_argument("--gap", type=float, default=1e-6)
    ap.add_argument("--title", default="")
    a = ap.parse_args()

    points = measured_points(a.measured) if a.measured else []
    if points:
        m = points[0][4]
        a.docs, a.features, a.classes, a.nnz = m["documents"], m["columns"], m["classes"], m["nnz"] / m["documents"]
    model = cost_model.Model(cost_model.study(a.rounds[0], a.gap), [cost_model.study(r, a.gap) for r in a.rounds[1:]])
    k = 1 if a.classes == 2 else a.classes
    shape = (a.docs, a.features, k, a.nnz)
    curves = {mode: [getattr(model, mode)(*shape, p, cost_model.IB) for p in RANKS] for mode in ("saga", "lbfgs")}
    total = {mode: [r["compute"] + r["communication"] + r["start"] for r in rs] for mode, rs in curves.items()}
    total["auto"] = [min(s, l) for s, l in zip(total["saga"], total["lbfgs"])]
    t1 = min(total["saga"][0], total["lbfgs"][0])

    fig, (ax_s, ax_e, ax_t) = plt.subplots(1, 3, figsize=(16, 5))
    styles = {"saga": ("#4e79a7", "--"), "lbfgs": ("#f28e2b", "--"), "auto": ("#222222", "-")}
    for mode, ts in total.items():
        color, ls = styles[mode]
        speed = [t1 / t for t in ts]
        ax_s.plot(RANKS, speed, ls, color=color, label=f"{mode} (model)", lw=2 if mode == "auto" else 1.5)
        ax_e.plot(RANKS, [s / p for s, p in zip(speed, RANKS)], ls, color=color, label=f"{mode} (model)")
    ax_s.plot(RANKS, RANKS, ":", color="gray", label="ideal")
    if points:
        best1 = min(t for p, t, *_ in points if p == 1)
        for p, t, solver, _, _ in points:
            color = styles.get(solver, ("red", ""))[0]
            ax_s.plot([p], [best1 / t], "o", color=color, ms=8, mec="black")
            ax_e.plot([p], [best1 / t / p], "o", color=color, ms=8, mec="black")
        ax_s.plot([], [], "o", color="white", mec="black", label="measured (this machine)")
    for ax, name in ((ax_s, "speedup"), (ax_e, "efficiency")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("ranks")
        ax.set_ylabel(name)
        ax.grid(True, which="both", alpha=0.3)
    ax_s.set_yscale("log", base=2)
    ax_s.legend(fontsize=8)
    ax_e.set_ylim(0, 1.1)

    # Seconds per phase: auto's modelled parts at each rank count, then the measured runs' phases.
    parts = [curves["saga"][i] if total["saga"][i] <= total["lbfgs"][i] else curves["lbfgs"][i] for i in range(len(RANKS))]
    labels = [str(p) for p in RANKS]
    bottom = [0.0] * len(RANKS)
    for part, color in (("start", "#76b7b2"), ("compute", "#4e79a7"), ("communication", "#e15759")):
        vals = [r[part] for r in parts]
        ax_t.bar(labels, vals, bottom=bottom, color=color, label=f"{part} (model, auto)")
        bottom = [b + v for b, v in zip(bottom, vals)]
    if points:
        colors = ["#bab0ac", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1"]
        for i, (p, _, solver, phases, _) in enumerate(points):
            lab = f"{p} {solver}\nmeasured"
            below = 0.0
            for ph, color in zip(phases, colors):
                ax_t.bar([lab], [phases[ph]], bottom=[below], color=color, hatch="//", label=f"{ph} (measured)" if i == 0 else None)
                below += phases[ph]
    ax_t.set_yscale("log")
    ax_t.set_ylabel("seconds (log scale)")
    lo, hi = ax_t.get_ylim()
    ax_t.set_ylim(lo, hi * 30)  # room for the legend above the bars
    ax_t.set_xlabel("ranks")
    ax_t.tick_params(axis="x", labelsize=7, rotation=90)
    ax_t.legend(fontsize=6, loc="upper right", ncol=2, framealpha=0.9)
    fig.suptitle(a.title or f"fit of {a.docs:.3g} documents, {a.features:.3g} features, K = {a.classes}: "
                 f"time to a {a.gap:g} gap, InfiniBand HDR model")
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print(f"scaling_plot: wrote {a.out}")


if __name__ == "__main__":
    main()
