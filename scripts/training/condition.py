"""The condition vector: one labels.csv row (or the API's attributes) as the numbers G reads, in
config.CONDITION_LAYOUT order. pack.py, train.py and export.py all encode through this module,
and server/generator/condition.ts mirrors it.
"""
import math

import config as C

VALUES = {"eyewear": C.EYEWEAR, "lighting": C.LIGHTING, "mood": C.MOODS, "ethnicity": C.ETHNICITIES}


def encode_condition(row):
    """One labels.csv row -> condition vector, in CONDITION_LAYOUT order."""
    v = []
    for name, size, _ in C.CONDITION_LAYOUT:
        if name == "gender":
            v.append(1.0 if row["gender"] == "male" else 0.0)
        elif name == "age":
            v.append(min(float(row["age"]), C.AGE_SCALE) / C.AGE_SCALE)
        elif name == "age_log":
            v.append(math.log1p(min(float(row["age"]), C.AGE_SCALE)) / math.log1p(C.AGE_SCALE))
        elif name in VALUES:
            v += [1.0 if row[name] == value else 0.0 for value in VALUES[name]]
        elif name in ("skintone", "facial_hair", "hair_length"):
            v.append(float(row[name]) / 10)
        elif name == "zoom":
            v.append(1.0 if row["zoom"] == "closeup" else 0.0)
        elif name == "yaw":
            v.append(float(row["yaw"]) / 60)
        else:
            raise ValueError(name)
    assert len(v) == C.COND_DIM
    return v


def slot_offset(name):
    """Where a CONDITION_LAYOUT slot starts in the condition vector."""
    names = [n for n, _, _ in C.CONDITION_LAYOUT]
    return sum(size for _, size, _ in C.CONDITION_LAYOUT[: names.index(name)])
