"""Procedural shape families of the synthetic collection: one builder per category.

A builder takes a ``numpy.random.Generator`` and returns a list of closed
:class:`~gen3d.datasets.synth_parts.Part` in metre-like units, y up, the front towards +z. Each family draws
discrete styles (leg type, back type, arms, wing layout, ...) and continuous proportions, so a category has
real intra-class variation while staying recognisable. The collection writer normalises each shape like
ShapeNetCore v2 afterwards.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gen3d.datasets.synth_parts import Part, box, frustum, lathe, prism, rotation, sphere, torus

__all__ = ["BUILDERS", "build_chair", "build_table", "build_airplane", "build_lamp", "build_mug", "build_car"]

MIRROR_X = np.diag([-1.0, 1.0, 1.0])


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _pick(rng: np.random.Generator, options: list, p: list[float] | None = None):
    return options[int(rng.choice(len(options), p=p))]


# --------------------------------------------------------------------------------------------------- chair
def build_chair(rng: np.random.Generator) -> list[Part]:
    """Seat + legs (square / round / pedestal / sled) + back (solid / slats / ladder, varying height and
    tilt) + optional arms."""
    w, d = _u(rng, 0.42, 0.6), _u(rng, 0.4, 0.56)
    sh, st = _u(rng, 0.38, 0.5), _u(rng, 0.03, 0.08)
    parts = [box((0, sh - st / 2, 0), (w, st, d), "seat")]
    legs = _pick(rng, ["square", "round", "pedestal", "sled"], [0.35, 0.3, 0.2, 0.15])
    lt, inset = _u(rng, 0.03, 0.06), _u(rng, 0.0, 0.04)
    under = sh - st
    if legs in ("square", "round"):
        splay = _u(rng, 0.0, 0.04)
        for sx in (-1, 1):
            for sz in (-1, 1):
                x, z = sx * (w / 2 - inset - lt / 2), sz * (d / 2 - inset - lt / 2)
                if legs == "square":
                    parts.append(box((x, under / 2, z), (lt, under, lt), "legs"))
                else:
                    foot = (x + sx * splay, 0.0, z + sz * splay)
                    parts.append(frustum(foot, (x, under, z), lt / 2 * _u(rng, 0.6, 1.0), lt / 2, 12, "legs"))
        if rng.random() < 0.4:  # stretchers between the legs
            y = under * _u(rng, 0.2, 0.4)
            for sx in (-1, 1):
                parts.append(
                    box((sx * (w / 2 - inset - lt / 2), y, 0), (lt * 0.6, lt * 0.6, d - 2 * inset), "legs")
                )
    elif legs == "pedestal":
        col_r = _u(rng, 0.022, 0.04)
        base_y = _u(rng, 0.05, 0.1)
        parts.append(frustum((0, base_y, 0), (0, under, 0), col_r, col_r, 16, "legs"))
        if rng.random() < 0.6:  # five-spoke office base
            reach = _u(rng, 0.22, 0.3)
            for k in range(5):
                spoke = box((reach / 2, base_y, 0), (reach, 0.035, 0.04), "legs")
                parts.append(spoke.transformed(rotation("y", 2 * np.pi * k / 5 + 0.3)))
                parts.append(
                    sphere(
                        rotation("y", 2 * np.pi * k / 5 + 0.3) @ np.array([reach, base_y / 2, 0]), base_y / 2
                    )
                )
        else:  # round disc foot
            parts.append(frustum((0, 0, 0), (0, base_y, 0), _u(rng, 0.18, 0.26), col_r * 2, 24, "legs"))
    else:  # sled: two floor runners and uprights on each side
        for sx in (-1, 1):
            x = sx * (w / 2 - inset - lt / 2)
            parts.append(box((x, lt / 4, 0), (lt, lt / 2, d * 1.05), "legs"))
            for sz in (-1, 1):
                parts.append(box((x, under / 2, sz * (d / 2 - inset - lt / 2)), (lt, under, lt), "legs"))

    # back, built upright in local coordinates (origin at the seat's rear top edge), then tilted backwards
    bh, bt, tilt = _u(rng, 0.25, 0.7), _u(rng, 0.025, 0.06), _u(rng, 0.0, 0.3)
    style = _pick(rng, ["solid", "slats", "ladder"], [0.45, 0.3, 0.25])
    back: list[Part] = []
    if style == "solid":
        back.append(box((0, bh / 2, 0), (w * _u(rng, 0.85, 1.0), bh, bt), "back"))
    else:
        pw = _u(rng, 0.03, 0.05)
        for sx in (-1, 1):
            back.append(box((sx * (w / 2 - pw / 2), bh / 2, 0), (pw, bh, bt), "back"))
        rail = _u(rng, 0.04, 0.1)
        back.append(box((0, bh - rail / 2, 0), (w, rail, bt), "back"))
        inner = w - 2 * pw
        if style == "slats":
            n = int(rng.integers(2, 6))
            sw = inner / (2 * n + 1)
            for k in range(n):
                x = -inner / 2 + sw * (2 * k + 1.5)
                back.append(box((x, (bh - rail) / 2, 0), (sw, bh - rail, bt * 0.6), "back"))
        else:
            n = int(rng.integers(1, 4))
            for k in range(n):
                y = (bh - rail) * (k + 1) / (n + 1)
                back.append(box((0, y, 0), (inner, rail * 0.6, bt * 0.6), "back"))
    rot = rotation("x", -tilt)
    parts += [p.transformed(rot, (0, sh, -d / 2 + bt / 2)) for p in back]

    if rng.random() < 0.4:  # arms: a post at the front and a rest reaching back to the backrest
        ah, aw = _u(rng, 0.16, 0.28), _u(rng, 0.035, 0.07)
        for sx in (-1, 1):
            x = sx * (w / 2 + aw * _u(rng, -0.5, 0.5))
            parts.append(box((x, sh + ah / 2, d / 2 - aw), (aw * 0.8, ah, aw * 0.8), "arms"))
            parts.append(box((x, sh + ah, 0), (aw, aw * 0.6, d), "arms"))
    return parts


# --------------------------------------------------------------------------------------------------- table
def build_table(rng: np.random.Generator) -> list[Part]:
    """Top (rectangular / square / round) at dining or coffee height + base (four legs with optional apron
    and shelf / trestle / pedestal / tripod)."""
    top = _pick(rng, ["rect", "square", "round"], [0.5, 0.2, 0.3])
    height = _u(rng, 0.68, 0.78) if rng.random() < 0.7 else _u(rng, 0.35, 0.48)
    tt = _u(rng, 0.025, 0.06)
    if top == "round":
        rad = _u(rng, 0.35, 0.7)
        half = np.array([rad, rad]) / np.sqrt(2)
        parts = [frustum((0, height - tt, 0), (0, height, 0), rad, rad, 32, "top")]
        base = _pick(rng, ["pedestal", "four_legs", "tripod"], [0.5, 0.3, 0.2])
    else:
        lx = _u(rng, 1.0, 1.8) if top == "rect" else _u(rng, 0.6, 1.0)
        lz = _u(rng, 0.55, 1.0) if top == "rect" else lx
        half = np.array([lx, lz]) / 2
        parts = [box((0, height - tt / 2, 0), (lx, tt, lz), "top")]
        base = _pick(
            rng, ["four_legs", "trestle", "pedestal"], [0.65, 0.25, 0.1] if top == "rect" else [0.6, 0.1, 0.3]
        )
    under = height - tt
    lt = _u(rng, 0.035, 0.08)
    inset = _u(rng, 0.02, 0.12) * min(half)
    if base == "four_legs":
        round_legs = rng.random() < 0.4
        corners = [
            (sx * (half[0] - inset - lt / 2), sz * (half[1] - inset - lt / 2))
            for sx in (-1, 1)
            for sz in (-1, 1)
        ]
        for x, z in corners:
            if round_legs:
                parts.append(
                    frustum((x, 0, z), (x, under, z), lt / 2 * _u(rng, 0.5, 1.0), lt / 2, 12, "legs")
                )
            else:
                parts.append(box((x, under / 2, z), (lt, under, lt), "legs"))
        if rng.random() < 0.5:  # apron under the top
            ah = _u(rng, 0.05, 0.12)
            ix, iz = half[0] - inset - lt / 2, half[1] - inset - lt / 2
            for s in (-1, 1):
                parts.append(box((0, under - ah / 2, s * iz), (2 * ix, ah, lt * 0.4), "legs"))
                parts.append(box((s * ix, under - ah / 2, 0), (lt * 0.4, ah, 2 * iz), "legs"))
        if rng.random() < 0.3:  # lower shelf
            sy = under * _u(rng, 0.12, 0.3)
            parts.append(box((0, sy, 0), (2 * (half[0] - inset), tt * 0.7, 2 * (half[1] - inset)), "shelf"))
    elif base == "trestle":
        pt = _u(rng, 0.04, 0.08)
        for sx in (-1, 1):
            x = sx * (half[0] - inset - pt / 2)
            parts.append(box((x, under / 2, 0), (pt, under, 2 * half[1] * _u(rng, 0.5, 0.8)), "legs"))
            parts.append(box((x, pt / 2, 0), (pt * 1.5, pt, 2 * half[1] * 0.9), "legs"))
        parts.append(box((0, under * _u(rng, 0.25, 0.5), 0), (2 * (half[0] - inset), pt, pt), "legs"))
    elif base == "pedestal":
        col = _u(rng, 0.05, 0.12)
        parts.append(frustum((0, 0, 0), (0, under, 0), col * _u(rng, 0.8, 1.5), col, 20, "legs"))
        foot = _u(rng, 0.45, 0.8) * min(half)
        if rng.random() < 0.5:
            parts.append(frustum((0, 0, 0), (0, _u(rng, 0.03, 0.07), 0), foot, foot * 0.8, 28, "legs"))
        else:
            for ang in (np.pi / 4, -np.pi / 4):
                parts.append(
                    box((0, 0.03, 0), (2 * foot, 0.06, 0.07), "legs").transformed(rotation("y", ang))
                )
    else:  # tripod: three splayed legs
        r_top, r_foot = min(half) * 0.45, min(half) * _u(rng, 0.7, 1.0)
        for k in range(3):
            a = 2 * np.pi * k / 3
            top_pt = (r_top * np.cos(a), under, r_top * np.sin(a))
            foot = (r_foot * np.cos(a), 0.0, r_foot * np.sin(a))
            parts.append(frustum(foot, top_pt, lt * 0.35, lt / 2, 12, "legs"))
    return parts


# ------------------------------------------------------------------------------------------------ airplane
def _wing(span: float, root: float, taper: float, sweep: float, thick: float, material: str) -> Part:
    """Right half-wing planform in the x-z plane: root at x = 0 (leading edge z = 0), swept back (-z)."""
    tip_le = -span * np.tan(sweep)
    poly = [(0.0, 0.0), (span, tip_le), (span, tip_le - root * taper), (0.0, -root)]
    return prism(poly, thick, material)


def build_airplane(rng: np.random.Generator) -> list[Part]:
    """Fuselage of revolution + swept, tapered wings with dihedral (low / mid / high) + conventional or
    T-tail + 0, 2 or 4 engines. Nose towards +z."""
    length = _u(rng, 0.9, 1.5)
    rad = length * _u(rng, 0.035, 0.07)
    nose, tail = length * _u(rng, 0.08, 0.2), length * _u(rng, 0.22, 0.35)
    profile = [
        (0.0, -length / 2),
        (rad * _u(rng, 0.15, 0.4), -length / 2),
        (rad, -length / 2 + tail),
        (rad, length / 2 - nose),
        (rad * 0.75, length / 2 - nose * 0.35),
        (0.0, length / 2),
    ]
    body = lathe(profile, 20, "fuselage").transformed(rotation("x", np.pi / 2))  # lathe y axis -> +z
    parts = [body]

    span = length * _u(rng, 0.35, 0.7)  # half span
    root = length * _u(rng, 0.14, 0.3)
    taper, sweep = _u(rng, 0.2, 0.65), np.deg2rad(_u(rng, 0.0, 40.0))
    dihedral = np.deg2rad(_u(rng, -3.0, 8.0))
    wing_y = _pick(rng, [-0.6, 0.0, 0.6], [0.5, 0.2, 0.3]) * rad
    wing_z = length * _u(rng, -0.02, 0.15) + root / 2
    half = _wing(span, root, taper, sweep, root * 0.1, "wings").transformed(rotation("z", dihedral))
    for m in (np.eye(3), MIRROR_X):
        parts.append(half.transformed(m, (0, wing_y, wing_z)))

    # tail: vertical fin (planform built in x-z, stood up by rotating x -> y) and horizontal stabiliser
    fin_h, fin_c = length * _u(rng, 0.1, 0.2), root * _u(rng, 0.6, 1.0)
    fin_sweep = np.deg2rad(_u(rng, 20.0, 50.0))
    tail_z = -length / 2 + fin_c * 1.05
    fin = _wing(fin_h, fin_c, _u(rng, 0.35, 0.8), fin_sweep, fin_c * 0.08, "tail")
    parts.append(fin.transformed(rotation("z", np.pi / 2), (0, rad * 0.6, tail_z)))
    t_tail = rng.random() < 0.3
    h_span, h_root = span * _u(rng, 0.28, 0.42), root * _u(rng, 0.4, 0.6)
    h_y = rad * 0.6 + fin_h * 0.95 if t_tail else rad * _u(rng, 0.0, 0.5)
    h_z = tail_z - fin_h * np.tan(fin_sweep) * 0.95 if t_tail else tail_z - fin_c * 0.1
    stab = _wing(
        h_span, h_root, _u(rng, 0.4, 0.7), sweep + np.deg2rad(_u(rng, 0.0, 10.0)), h_root * 0.1, "tail"
    )
    for m in (np.eye(3), MIRROR_X):
        parts.append(stab.transformed(m, (0, h_y, h_z)))

    engines = _pick(rng, [0, 2, 4], [0.3, 0.5, 0.2])
    e_rad, e_len = rad * _u(rng, 0.35, 0.55), root * _u(rng, 0.6, 0.9)
    stations = [0.35] if engines == 2 else [0.3, 0.62] if engines == 4 else []
    for frac in stations:
        x = span * frac
        y = wing_y + x * np.tan(dihedral) - e_rad * 1.3
        z = wing_z - x * np.tan(sweep) + e_len * 0.35
        for sx in (-1, 1):
            parts.append(frustum((sx * x, y, z - e_len), (sx * x, y, z), e_rad * 0.8, e_rad, 14, "engines"))
            parts.append(
                box((sx * x, y + e_rad, z - e_len / 2), (e_rad * 0.3, e_rad * 1.2, e_len * 0.6), "engines")
            )
    return parts


# ---------------------------------------------------------------------------------------------------- lamp
def build_lamp(rng: np.random.Generator) -> list[Part]:
    """Base (disc / square) + desk stem, floor stem or jointed arm + shade (cone / drum / globe / bowl)."""
    kind = _pick(rng, ["desk", "floor", "arm"], [0.4, 0.3, 0.3])
    bh = _u(rng, 0.02, 0.05)
    br = _u(rng, 0.07, 0.14) if kind != "floor" else _u(rng, 0.14, 0.22)
    if rng.random() < 0.65:
        parts = [frustum((0, 0, 0), (0, bh, 0), br, br * _u(rng, 0.6, 1.0), 24, "base")]
    else:
        parts = [box((0, bh / 2, 0), (2 * br * 0.9, bh, 2 * br * 0.9), "base")]
    pole = _u(rng, 0.008, 0.02)
    if kind == "arm":
        # two arm segments with ball joints; the shade hangs from the end, pointing down and forward
        a1, a2 = _u(rng, 0.25, 0.45), _u(rng, 0.25, 0.4)
        lean1, lean2 = _u(rng, -0.35, 0.35), _u(rng, 0.6, 1.4)
        j1 = np.array([0.0, bh + a1 * np.cos(lean1), a1 * np.sin(lean1)])
        j2 = j1 + a2 * np.array([0.0, np.cos(lean2), np.sin(lean2)])
        parts += [
            frustum((0, bh, 0), j1, pole, pole, 10, "stem"),
            sphere(j1, pole * 2, 10, 6, "stem"),
            frustum(j1, j2, pole, pole, 10, "stem"),
            sphere(j2, pole * 2, 10, 6, "stem"),
        ]
        sr, sl = _u(rng, 0.05, 0.1), _u(rng, 0.08, 0.16)
        aim = np.array([0.0, -np.cos(_u(rng, 0.2, 0.7)), np.sin(_u(rng, 0.2, 0.7))])
        parts.append(frustum(j2, j2 + sl * aim, sr * 0.3, sr, 20, "shade"))
        return parts
    height = _u(rng, 0.3, 0.5) if kind == "desk" else _u(rng, 1.1, 1.7)
    parts.append(frustum((0, bh, 0), (0, height, 0), pole * 1.2, pole, 12, "stem"))
    shade = _pick(rng, ["cone", "drum", "globe", "bowl"], [0.4, 0.25, 0.15, 0.2])
    s = 1.0 if kind == "desk" else _u(rng, 1.2, 1.8)
    if shade == "cone":
        sh, r_bot = s * _u(rng, 0.12, 0.22), s * _u(rng, 0.1, 0.18)
        parts.append(
            frustum(
                (0, height - sh * 0.6, 0),
                (0, height + sh * 0.4, 0),
                r_bot,
                r_bot * _u(rng, 0.4, 0.7),
                24,
                "shade",
            )
        )
    elif shade == "drum":
        sh, r = s * _u(rng, 0.1, 0.2), s * _u(rng, 0.08, 0.15)
        parts.append(frustum((0, height - sh * 0.5, 0), (0, height + sh * 0.5, 0), r, r, 24, "shade"))
    elif shade == "globe":
        r = s * _u(rng, 0.07, 0.13)
        parts.append(sphere((0, height + r * 0.7, 0), r, 20, 10, "shade"))
    else:  # upturned bowl (torchiere)
        sh, r_top = s * _u(rng, 0.06, 0.12), s * _u(rng, 0.12, 0.2)
        parts.append(frustum((0, height - sh, 0), (0, height, 0), r_top * 0.25, r_top, 24, "shade"))
    return parts


# ----------------------------------------------------------------------------------------------------- mug
def build_mug(rng: np.random.Generator) -> list[Part]:
    """Hollow body of revolution (straight or tapered, squat or tall) + handle (round arc / square / ear)."""
    r = _u(rng, 0.035, 0.05)
    h = r * _u(rng, 1.5, 2.8)
    top = r * _u(rng, 0.85, 1.15)
    wall, floor = r * _u(rng, 0.07, 0.13), r * _u(rng, 0.1, 0.25)
    profile = [(0.0, 0.0), (r, 0.0), (top, h), (top - wall, h), (r - wall, floor), (0.0, floor)]
    parts = [lathe(profile, 32, "body")]
    # the handle sits on the +x side; the wall there is at radius ~ (r + top) / 2
    x_wall = (r + top) / 2 - wall / 2
    style = _pick(rng, ["round", "square", "ear"], [0.55, 0.25, 0.2])
    thick = wall * _u(rng, 0.9, 1.5)
    if style == "round":
        major = h * _u(rng, 0.22, 0.36)
        arc = np.deg2rad(_u(rng, 200.0, 250.0))
        cx = x_wall - major * np.cos(arc / 2)
        parts.append(torus((cx, h * _u(rng, 0.45, 0.55), 0), major, thick, arc, 24, 10, "handle"))
    elif style == "square":
        reach, span = h * _u(rng, 0.25, 0.4), h * _u(rng, 0.45, 0.7)
        yc = h * _u(rng, 0.45, 0.55)
        for sy in (-1, 1):
            parts.append(
                box(
                    (x_wall + reach / 2, yc + sy * span / 2, 0),
                    (reach + thick, 2 * thick, 2 * thick),
                    "handle",
                )
            )
        parts.append(box((x_wall + reach, yc, 0), (2 * thick, span + 2 * thick, 2 * thick), "handle"))
    else:  # ear: a small flattened ring near the rim
        major = h * _u(rng, 0.14, 0.2)
        parts.append(torus((x_wall + major * 0.6, h * 0.7, 0), major, thick, 2 * np.pi, 24, 10, "handle"))
    return parts


# ----------------------------------------------------------------------------------------------------- car
def build_car(rng: np.random.Generator) -> list[Part]:
    """Lower body + cabin (sedan / hatchback / SUV / pickup) + four wheels. Front towards +z."""
    kind = _pick(rng, ["sedan", "hatchback", "suv", "pickup"])
    length = _u(rng, 3.8, 5.0) if kind != "hatchback" else _u(rng, 3.4, 4.2)
    width = _u(rng, 1.65, 1.95)
    clearance = _u(rng, 0.15, 0.22) if kind in ("sedan", "hatchback") else _u(rng, 0.22, 0.32)
    body_h = _u(rng, 0.45, 0.6) if kind != "suv" else _u(rng, 0.6, 0.8)
    wheel_r = _u(rng, 0.3, 0.36) if kind in ("sedan", "hatchback") else _u(rng, 0.36, 0.44)
    parts = [box((0, clearance + body_h / 2, 0), (width, body_h, length), "body")]
    cab_h = _u(rng, 0.45, 0.6)
    roof_y = clearance + body_h
    # cabin as a side profile (z, height) extruded across the width: front and back slopes differ per kind
    if kind == "sedan":
        z0, z1 = -length * 0.3, length * 0.2
        prof = [(z0, 0), (z1, 0), (z1 - cab_h * 1.2, cab_h), (z0 + cab_h * 0.9, cab_h)]
    elif kind == "hatchback":
        z0, z1 = -length * 0.48, length * 0.18
        prof = [(z0, 0), (z1, 0), (z1 - cab_h * 1.3, cab_h), (z0 + cab_h * 0.3, cab_h)]
    elif kind == "suv":
        z0, z1 = -length * 0.48, length * 0.22
        prof = [(z0, 0), (z1, 0), (z1 - cab_h * 0.8, cab_h), (z0 + cab_h * 0.05, cab_h)]
    else:  # pickup: short cab, open bed behind (the bed walls)
        z0, z1 = -length * 0.05, length * 0.25
        prof = [(z0, 0), (z1, 0), (z1 - cab_h * 0.7, cab_h), (z0, cab_h)]
        bed_z0, wall = -length / 2, 0.06
        for sx in (-1, 1):
            parts.append(
                box(
                    (sx * (width / 2 - wall / 2), roof_y + 0.15, (bed_z0 + z0) / 2),
                    (wall, 0.3, z0 - bed_z0),
                    "body",
                )
            )
        parts.append(box((0, roof_y + 0.15, bed_z0 + wall / 2), (width, 0.3, wall), "body"))
    # prism's polygon is (x, z) in its x-z plane: use x <- height, z <- length, then rotate x -> y
    poly = [(hgt, z) for z, hgt in prof]
    cabin = prism(poly, width * _u(rng, 0.82, 0.95), "cabin").transformed(
        rotation("z", np.pi / 2), (0, roof_y, 0)
    )
    parts.append(cabin)
    axle = length / 2 - _u(rng, 0.15, 0.22) * length
    tyre = _u(rng, 0.2, 0.3)
    for sz in (-1, 1):
        for sx in (-1, 1):
            x = sx * (width / 2 + 0.02)  # tyres stick out of the body sides
            parts.append(
                frustum(
                    (x - tyre / 2 * sx, wheel_r, sz * axle),
                    (x + tyre / 2 * sx, wheel_r, sz * axle),
                    wheel_r,
                    wheel_r,
                    20,
                    "wheels",
                )
            )
    return parts


# name -> (ShapeNet synset id, taxonomy name as ShapeNet spells it, builder)
BUILDERS: dict[str, tuple[str, str, Callable[[np.random.Generator], list[Part]]]] = {
    "airplane": ("02691156", "airplane,aeroplane,plane", build_airplane),
    "car": ("02958343", "car,auto,automobile,machine,motorcar", build_car),
    "chair": ("03001627", "chair", build_chair),
    "lamp": ("03636649", "lamp", build_lamp),
    "mug": ("03797390", "mug", build_mug),
    "table": ("04379243", "table", build_table),
}
