"""Turns the metrics of a scaling sweep into scaling.csv and scaling.svg
(used by scripts/scaling.sh and scripts/slurm/sweep.sh).

usage: scaling_report.py DIR WEAK(0|1) RANKS...

Speedup is T(first) * p_first / T(p) for strong scaling and T(first) / T(p)
for weak scaling; efficiency is speedup / (p / p_first) (strong) or the
speedup itself (weak). Only the standard library: no plotting package needed.
"""

import csv
import json
import sys
from pathlib import Path

PHASES = ["read", "tokenize", "vocabulary_merge", "df_allreduce", "transform", "fit", "write"]
COLORS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1"]


def main():
    out, weak, ranks = Path(sys.argv[1]), sys.argv[2] == "1", [int(r) for r in sys.argv[3:]]
    rows = []
    for p in ranks:
        m = json.loads((out / f"metrics-{p}.json").read_text())
        row = {"ranks": p, "documents": m["documents"]}
        for ph in PHASES:
            row[ph] = m["seconds"].get(ph, {}).get("max", 0.0)
        row["total"] = m["total_seconds"]
        row["epochs"] = m.get("epochs", "")
        rows.append(row)
    base = rows[0]
    for r in rows:
        if weak:
            r["speedup"] = base["total"] / r["total"]
            r["efficiency"] = r["speedup"]
        else:
            r["speedup"] = base["total"] / r["total"] * base["ranks"]
            r["efficiency"] = r["speedup"] / r["ranks"]
    fields = ["ranks", "documents", *PHASES, "total", "epochs", "speedup", "efficiency"]
    with open(out / "scaling.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items()})
    (out / "scaling.svg").write_text(svg(rows, weak))
    for r in rows:
        print(f"ranks {r['ranks']:>4}  docs {r['documents']:>9}  total {r['total']:8.2f} s  speedup {r['speedup']:5.2f}  efficiency {r['efficiency']:5.2f}")
    print(f"scaling: wrote {out / 'scaling.csv'} and {out / 'scaling.svg'}")


def svg(rows, weak):
    """Two panels: speedup (and ideal) plus efficiency against ranks; stacked phase times."""
    W, H, pad = 900, 380, 50
    pw = (W - 3 * pad) / 2
    ph = H - 2 * pad
    ranks = [r["ranks"] for r in rows]
    xs = {p: pad + (i + 0.5) * pw / len(ranks) for i, p in enumerate(ranks)}
    ideal = [1.0 if weak else p / ranks[0] for p in ranks]
    top = max(max(r["speedup"] for r in rows), max(ideal), 1.0) * 1.1
    y = lambda v: pad + ph - v / top * ph
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{pad}" y="20" font-size="14">{"Weak" if weak else "Strong"} scaling: speedup (blue), ideal (grey), efficiency (green, right axis 0-1)</text>',
           f'<line x1="{pad}" y1="{pad + ph}" x2="{pad + pw}" y2="{pad + ph}" stroke="black"/>',
           f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{pad + ph}" stroke="black"/>']
    for i in range(5):
        v = top * i / 4
        out.append(f'<text x="{pad - 6}" y="{y(v) + 4}" text-anchor="end">{v:.1f}</text>')
    def line(vals, color, scale=None):
        pts = " ".join(f"{xs[p]:.1f},{(y(v) if scale is None else pad + ph - v * ph):.1f}" for p, v in zip(ranks, vals))
        return f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>' + "".join(
            f'<circle cx="{xs[p]:.1f}" cy="{(y(v) if scale is None else pad + ph - v * ph):.1f}" r="3" fill="{color}"/>' for p, v in zip(ranks, vals))
    out.append(line(ideal, "#aaaaaa"))
    out.append(line([r["speedup"] for r in rows], "#4e79a7"))
    out.append(line([min(r["efficiency"], 1.0) for r in rows], "#59a14f", scale=1))
    for p in ranks:
        out.append(f'<text x="{xs[p]:.1f}" y="{pad + ph + 16}" text-anchor="middle">{p}</text>')
    out.append(f'<text x="{pad + pw / 2}" y="{H - 8}" text-anchor="middle">ranks</text>')
    # Stacked phase times.
    x0 = 2 * pad + pw
    tmax = max(r["total"] for r in rows) * 1.1
    bw = pw / len(rows) * 0.6
    out.append(f'<text x="{x0}" y="{pad - 8}">seconds per phase (max over ranks)</text>')
    out.append(f'<line x1="{x0}" y1="{pad + ph}" x2="{x0 + pw}" y2="{pad + ph}" stroke="black"/>')
    for i, r in enumerate(rows):
        bx = x0 + (i + 0.2) * pw / len(rows)
        acc = 0.0
        for ph_name, color in zip(PHASES, COLORS):
            v = r[ph_name]
            h = v / tmax * ph
            out.append(f'<rect x="{bx:.1f}" y="{pad + ph - (acc + v) / tmax * ph:.1f}" width="{bw:.1f}" height="{h:.1f}" fill="{color}"><title>{ph_name} {v:.2f} s</title></rect>')
            acc += v
        out.append(f'<text x="{bx + bw / 2:.1f}" y="{pad + ph + 16}" text-anchor="middle">{r["ranks"]}</text>')
        out.append(f'<text x="{bx + bw / 2:.1f}" y="{pad + ph - acc / tmax * ph - 4:.1f}" text-anchor="middle">{r["total"]:.1f}s</text>')
    for j, (ph_name, color) in enumerate(zip(PHASES, COLORS)):
        out.append(f'<rect x="{x0 + pw - 110}" y="{pad + j * 16}" width="10" height="10" fill="{color}"/><text x="{x0 + pw - 96}" y="{pad + j * 16 + 9}">{ph_name}</text>')
    out.append("</svg>")
    return "\n".join(out)


if __name__ == "__main__":
    main()
