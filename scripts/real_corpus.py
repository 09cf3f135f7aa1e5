#!/usr/bin/env python3
"""A real corpus for the benchmarks: Debian's package descriptions, labelled
with the package's archive section (libs, python, doc, perl, devel, ...).

    scripts/real_corpus.py --out DIR [--sections 20] [--textsaga BIN]

Fetches bookworm's package lists *with* their English long descriptions
through apt (into a private lists folder, so the system's apt state is left
as it is), keeps one document per distinct description, the largest
`--sections` sections as classes, and writes DIR/debian.h5 (90%) and
DIR/debian-test.h5 (10%, chosen by the description's md5, so the split is
the same on every machine) with `textsaga prepare`. Needs apt-get (Debian)
and the rights to run it.

Real text: short, technical, heavy-tailed vocabulary, classes that overlap
(a Python library is both 'python' and a library). About 50k documents.
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile


def records(text):
    """Yields the Debian control-file stanzas of `text` as dicts (continuation lines kept)."""
    cur, key = {}, None
    for line in text.splitlines():
        if not line:
            if cur:
                yield cur
            cur, key = {}, None
        elif line[0] in " \t" and key:
            cur[key] += "\n" + line
        else:
            key, _, value = line.partition(":")
            cur[key] = value.strip()
    if cur:
        yield cur


def cat(path):
    return subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", path], check=True, capture_output=True, text=True).stdout


def description(field):
    """Short and long description as one text: ' .' lines are paragraph breaks."""
    lines = field.split("\n")
    body = [("" if l.strip() == "." else l.strip()) for l in lines[1:]]
    return "\n".join([lines[0].strip()] + body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--sections", type=int, default=20)
    ap.add_argument("--textsaga", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "textsaga"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    with tempfile.TemporaryDirectory() as lists:
        os.makedirs(os.path.join(lists, "partial"))
        r = subprocess.run(
            ["apt-get", "update", "-o", "Acquire::Languages=en", "-o", f"Dir::State::Lists={lists}"],
            capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"real_corpus: apt-get update failed (run as root on Debian):\n{r.stderr.strip()}")
        names = os.listdir(lists)
        packages = [n for n in names if n.endswith(("Packages.lz4", "Packages.xz", "Packages.gz", "Packages"))]
        translations = [n for n in names if "Translation-en" in n]
        if not packages or not translations:
            sys.exit("real_corpus: apt fetched no package lists or no English descriptions")
        section = {}
        for n in sorted(packages):
            for rec in records(cat(os.path.join(lists, n))):
                md5, sec = rec.get("Description-md5"), rec.get("Section")
                if md5 and sec:
                    section.setdefault(md5, sec.split("/")[-1])
        text = {}
        for n in sorted(translations):
            for rec in records(cat(os.path.join(lists, n))):
                md5, desc = rec.get("Description-md5"), rec.get("Description-en")
                if md5 and desc:
                    text.setdefault(md5, description(desc))

    docs = sorted((md5, section[md5], t) for md5, t in text.items() if md5 in section)
    top = {s for s, _ in collections.Counter(s for _, s, _ in docs).most_common(args.sections)}
    docs = [d for d in docs if d[1] in top]
    paths = {}
    for part in ("train", "test"):
        paths[part] = os.path.join(args.out, f"debian-{part}.jsonl")
        with open(paths[part], "w") as f:
            for md5, sec, t in docs:
                if (int(md5, 16) % 10 == 0) == (part == "test"):
                    f.write(json.dumps({"text": t, "label": sec}) + "\n")
    for part, h5 in (("train", "debian.h5"), ("test", "debian-test.h5")):
        subprocess.run([args.textsaga, "prepare", paths[part], "-o", os.path.join(args.out, h5), "--quiet"], check=True)
        os.remove(paths[part])
    n_test = sum(int(md5, 16) % 10 == 0 for md5, _, _ in docs)
    print(f"real_corpus: {len(docs) - n_test} training and {n_test} test documents in {len(top)} sections "
          f"-> {args.out}/debian.h5, {args.out}/debian-test.h5")


if __name__ == "__main__":
    main()
