"""`similarity_calibrate`: the similarity of every pair of faces in a labelled folder, split into
pairs of the same person (genuine) and of different people (impostor), and what each search
floor would make of them. The figures behind the floors (portal/search/floors.py, README).

The folder holds a manifest.csv with `file`, `identities_left_to_right` and `real_faces`
columns; pictures of one real face are used (group pictures would need their faces matched to
names, which the manifest gives only left to right)."""

from __future__ import annotations

import csv
import json
from itertools import combinations
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from portal.faces.engine import face_engine
from portal.search.floors import floors


def _summary(values: list[float]) -> dict:
    if not values:
        return {"pairs": 0}
    data = np.asarray(values)
    return {"pairs": len(values), "min": round(float(data.min()), 3),
            **{f"p{q}": round(float(np.percentile(data, q)), 3) for q in (1, 5, 50, 95, 99)},
            "max": round(float(data.max()), 3)}


class Command(BaseCommand):
    help = "Prints the genuine and impostor similarity distributions of a labelled folder and each floor's effect."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path, help="A folder with pictures and manifest.csv (e.g. ../shared/faces).")
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, folder: Path, as_json: bool, **options):
        manifest = folder / "manifest.csv"
        if not manifest.exists():
            raise CommandError(f"{manifest} does not exist.")
        with manifest.open(newline="") as handle:
            rows = [row for row in csv.DictReader(handle) if row["real_faces"] == "1"]
        engine = face_engine()
        faces = [(row["identities_left_to_right"], row["file"],
                  engine.faces_detect(data=(folder / row["file"]).read_bytes()).largest().embedding) for row in rows]
        genuine, impostor = [], []
        for (who_a, _, a), (who_b, _, b) in combinations(faces, 2):
            (genuine if who_a == who_b else impostor).append(float(np.dot(a, b)))
        report = {
            "pictures": len(faces), "identities": len({who for who, _, _ in faces}),
            "genuine": _summary(genuine), "impostor": _summary(impostor),
            "floors": {kind: {"min_threshold": threshold,
                              "genuine_pairs_leads": round(sum(s >= threshold for s in genuine) / max(len(genuine), 1), 3),
                              "impostor_pairs_leads": sum(s >= threshold for s in impostor)}
                       for kind, (threshold, _) in floors().items()},
        }
        if as_json:
            self.stdout.write(json.dumps(report, indent=2))
            return
        self.stdout.write(f"{report['pictures']} pictures of {report['identities']} people (one face each)")
        for name in ("genuine", "impostor"):
            self.stdout.write(f"{name:>9}: " + ", ".join(f"{key} {value}" for key, value in report[name].items()))
        for kind, effect in report["floors"].items():
            self.stdout.write(f"{kind:>16} floor {effect['min_threshold']}: {effect['genuine_pairs_leads']:.1%} of "
                              f"genuine pairs are leads, {effect['impostor_pairs_leads']} impostor pair(s)")
