"""Writes example_county/: a small made-up county in the format of a bureau's own files, for the
worked example in README ("Your county, your plan"). It is not a real county.

Villages, roads and schools come from SchoolFlow's county generator (3 townships, 27 villages,
seed 12); the rolls by grade, boarders and teachers are the base year of replicate 0 of that
county without rolls (teachers: 1.7 per primary class, 2.6 per junior class); names are
invented; births.csv is a projection falling 6% a year from the births the model expects in
year 1. Run from the repository root: python scenarios/counties/make_example_county.py
"""

from pathlib import Path

import numpy as np
import pandas as pd

from sim.core import dtypes as dt
from sim.model import build, engine
from sim.model import scenario as sc
from sim.model.births import expected_births
from sim.model.county_files import save_county_csv

HERE = Path(__file__).resolve().parent
TOWNSHIPS = ["河口乡", "石门乡", "龙潭乡"]
VILLAGES = ["上坪", "下坪", "杨家", "李家", "石桥", "青山", "白沙", "黄泥", "高岭", "东坑",
            "西坑", "南岭", "北岭", "中村", "新屋", "老屋", "大坝", "小坝", "枫树", "竹林",
            "茶园", "松山", "梅岭", "桃源", "柳塘", "荷田", "马鞍"]


def main() -> None:
    d = {"name": "example_source", "seed": 5, "replicates": 1, "years": 1,
         "county": {"synthetic": {"townships": 3, "villages": 27, "terrain": "mountainous",
                                  "seed": 12, "county_seat_population": 8000}}}
    model = build.build_model(sc.validate(d))
    w = model.world
    base = next(engine.trace_replicate(model, 0))
    roll = base.S.enrol.astype(np.int64).copy()
    roll[:, 0] = 0
    boarders = base.S.beds_used.astype(np.int64).copy()
    classes = np.minimum(np.ceil(roll / 45.0), w.school_classes_per_grade[:, None])
    junior = np.arange(dt.N_GRADES + 1) >= dt.FIRST_JUNIOR_GRADE
    teachers = np.round((classes * np.where(junior, 2.6, 1.7)).sum(axis=1))
    w.school_roll, w.school_boarders, w.school_teachers = roll, boarders, teachers
    e1 = expected_births(model.population, model.scenario, 1)
    w.births = {y: round(e1 * 0.94 ** (y - 1)) for y in range(1, 11)}
    folder = HERE / "example_county"
    ids = {old: (f"V{i + 1:02d}" if old.startswith("V") else old)
           for i, old in enumerate(w.node_name)}
    w.node_name = [ids[x] for x in w.node_name]
    old_schools = list(w.school_name)
    w.school_name = [f"S{i + 1:02d}" for i in range(w.n_schools)]
    w.township_names = TOWNSHIPS
    save_county_csv(w, folder)
    v = pd.read_csv(folder / "villages.csv")
    v["name"] = [VILLAGES[int(x[1:]) - 1] + "村" if x.startswith("V") else
                 ("县城" if x == "SEAT" else TOWNSHIPS[int(x[1:])] + "集镇") for x in v.village_id]
    v.to_csv(folder / "villages.csv", index=False)
    s = pd.read_csv(folder / "schools.csv")
    s.insert(1, "name", [_school_name(o, v, w) for o in old_schools])
    s["boarders"] = boarders
    s["teachers"] = teachers.astype(int)
    s.to_csv(folder / "schools.csv", index=False)


def _school_name(old: str, v: pd.DataFrame, w) -> str:
    place, kind = old.rsplit("-", 1) if not old.startswith("SEAT") else ("SEAT", old[5:])
    if place == "SEAT":
        return {"primary-1": "县城第一小学", "primary-2": "县城第二小学",
                "junior-1": "县城第一中学", "junior-2": "县城第二中学"}[kind]
    if place.startswith("T"):
        town = TOWNSHIPS[int(place[1:])]
        return town + {"central": "中心小学", "junior": "初级中学", "nine-year": "九年一贯制学校"}[kind]
    village = VILLAGES[int(place[1:])] + "村"
    return village + ("教学点" if kind == "point" else "小学")


if __name__ == "__main__":
    main()
