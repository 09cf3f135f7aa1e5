"""Turns the metrics of a scaling sweep into scaling.csv and a picture,
scaling.svg and scaling.png (used by scripts/scaling.sh and
scripts/slurm/sweep.sh alike).

usage: scaling_report.py DIR WEAK(0|1) RANKS...

Strong scaling: speedup T(first) * p_first / T(p) against ranks with the
ideal line, efficiency speedup / (p / p_first) on its own right-hand axis,
and the seconds of each phase, stacked. Weak scaling (the work per rank held
fixed): the time at each rank count, stacked by phase, with efficiency
T(first) / T(p) on the right-hand axis; ideal is a flat time.

The phases are the metrics' own (`seconds`, in the order the run reports
them): no copy of the list here. The CSV needs only the standard library;
the picture needs matplotlib (in .venv; without it the CSV is still written).
"""

import csv
import json
import sys
from pathlib import Path


def load(out, ranks):
    rows, phases = [], []
    for p in ranks:
        m = json.loads((out / f"metrics-{p}.json").read_text())
        for ph in m["seconds"]:
            if ph not in phases:
                phases.append(ph)
        row = {"ranks": p, "documents": m["documents"], "total": m["total_seconds"], "epochs": m.get("epochs", "")}
        row.update({ph: v.get("max", 0.0) for ph, v in m["seconds"].items()})
        rows.append(row)
    for r in rows:
        for ph in phases:
            r.setdefault(ph, 0.0)
    return rows, phases


def add_ratios(rows, weak):
    base = rows[0]
    for r in rows:
        if weak:
            r["speedup"] = base["total"] / r["total"]
            r["efficiency"] = r["speedup"]
        else:
            r["speedup"] = base["total"] / r["total"] * base["ranks"]
            r["efficiency"] = r["speedup"] / r["ranks"]


def main():
    out, weak, ranks = Path(sys.argv[1]), sys.argv[2] == "1", [int(r) for r in sys.argv[3:]]
    rows, phases = load(out, ranks)
    add_ratios(rows, weak)
    fields = ["ranks", "documents", *phases, "total", "epochs", "speedup", "efficiency"]
    with open(out / "scaling.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{r[k]:.4f}" if isinstance(r[k], float) else r[k]) for k in fields})
    for r in rows:
        print(f"ranks {r['ranks']:>4}  docs {r['documents']:>9}  total {r['total']:8.2f} s  speedup {r['speedup']:5.2f}  efficiency {r['efficiency']:5.2f}")
    try:
        import matplotlib
    except ImportError:
        print(f"scaling: wrote {out / 'scaling.csv'} (no picture: matplotlib is not installed for {sys.executable})")
        return
    matplotlib.use("Agg")
    fig = picture(rows, phases, weak)
    for ext in ("svg", "png"):
        fig.savefig(out / f"scaling.{ext}", dpi=120)
    print(f"scaling: wrote {out / 'scaling.csv'}, {out / 'scaling.svg'} and {out / 'scaling.png'}")


def stacked_phases(ax, rows, phases, xs):
    """Each rank count's phases as a stacked bar, its total above it."""
    bottom = [0.0] * len(rows)
    for ph in phases:
        vals = [r[ph] for r in rows]
        ax.bar(xs, vals, bottom=bottom, width=0.6, label=ph)
        bottom = [b + v for b, v in zip(bottom, vals)]
    for x, r in zip(xs, rows):
        ax.annotate(f"{r['total']:.1f} s", (x, r["total"]), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=8)
    ax.set_ylim(0, max(r["total"] for r in rows) * 1.15)


def picture(rows, phases, weak):
    import matplotlib.pyplot as plt

    ranks = [r["ranks"] for r in rows]
    xs = list(range(len(rows)))
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6))
    if weak:
        stacked_phases(left, rows, phases, xs)
        left.axhline(rows[0]["total"], color="grey", linestyle="--", linewidth=1, label=f"ideal: {rows[0]['total']:.1f} s flat")
        left.set_title(f"Weak scaling: {rows[0]['documents'] // ranks[0]:,} documents a rank")
        left.set_ylabel("seconds (max over ranks)")
        eff = left.twinx()
        eff.plot(xs, [r["efficiency"] for r in rows], "o-", color="black", label="efficiency T(first) / T(p)")
        eff.set_ylim(0, max(1.05, max(r["efficiency"] for r in rows) * 1.1))
        eff.set_ylabel("efficiency")
        handles = left.get_legend_handles_labels()[0] + eff.get_legend_handles_labels()[0]
        right.axis("off")
        right.legend(handles, [h.get_label() for h in handles], loc="center left", frameon=False)
    else:
        left.plot(xs, [p / ranks[0] for p in ranks], "--", color="grey", label="ideal speedup")
        left.plot(xs, [r["speedup"] for r in rows], "o-", color="tab:blue", label="speedup")
        left.set_ylabel("speedup")
        left.set_ylim(0, max(max(r["speedup"] for r in rows), ranks[-1] / ranks[0]) * 1.1)
        eff = left.twinx()
        eff.plot(xs, [r["efficiency"] for r in rows], "s-", color="tab:green", label="efficiency")
        eff.set_ylim(0, 1.1)
        eff.set_ylabel("efficiency (speedup / ranks)", color="tab:green")
        h1, l1 = left.get_legend_handles_labels()
        h2, l2 = eff.get_legend_handles_labels()
        # Below the axes: a legend inside would cover the first points.
        left.legend(h1 + h2, l1 + l2, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize=8, frameon=False)
        left.set_title(f"Strong scaling: {rows[0]['documents']:,} documents")
        stacked_phases(right, rows, phases, xs)
        right.set_title("seconds per phase (max over ranks)")
        right.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    for ax in (left, right):
        if ax.axison:
            ax.set_xticks(xs, [str(p) for p in ranks])
            ax.set_xlabel("ranks")
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    main()
