"""RSML (Root System Markup Language, Lobet et al. 2015, Plant Physiol 167:617) read and write.

An RSML file is XML::

    <rsml>
      <metadata> <unit>cm</unit> <resolution>1</resolution> ... </metadata>
      <scene> <plant>
        <root ID="1" label="...">
          <geometry> <polyline> <point x=".." y=".." z=".."/> ... </polyline> </geometry>
          <functions>
            <function name="diameter" domain="polyline"> <sample>0.1</sample> ... </function>
          </functions>
          <properties> <parent-node value="3"/> ... </properties>
          <root ID="2"> ... a lateral, nested in its parent ... </root>
        </root>
      </plant> </scene>
    </rsml>

How a file becomes a :class:`~rhizofem.rootsystem.architecture.RootSystem`:

- **Units.** Coordinates (and diameters) are in ``unit`` divided by ``resolution`` (SmartRoot
  writes pixels with ``unit=inch, resolution=300``: 300 pixels per inch); so a value ``v`` is
  ``v * cm_per_unit / resolution`` cm. ``unit`` may be cm, mm, m, inch (or µm/um); ``pixel``
  (or ``px``) has no physical size, so reading it needs ``pixel_size_cm``.
- **2D files** (points without ``z``) are image coordinates with ``y`` pointing down: the point
  ``(x, y)`` becomes ``(x, 0, -y)``, so depth is negative z as everywhere in rhizofem.
- **Topology.** Roots are numbered in document order (depth first); a root nested in another is
  its lateral (``root_parent``) and its ``order`` is its nesting depth (0 for base roots).
  Each polyline gives its consecutive point pairs as segments. A lateral with a
  ``parent-node`` property (0-based index into its parent's polyline as written; CPlantBox writes it and
  leaves the shared node out of the lateral's polyline) starts from that parent node, so its
  first segment joins the parent. A lateral whose first point coincides with a parent point
  shares that node. Otherwise (image tracings leave a gap) its first point is a node of its
  own and the gap is not counted as root.
- **Per-node functions → per-segment values.** A segment takes the values of its distal
  (tip-side) point, as ``created_d`` is defined in the architecture module. Radius comes from a
  ``diameter`` (halved) or ``radius`` function, or else the same-named per-root property;
  creation time from a time function (``node_creation_time`` as CPlantBox writes it,
  ``creation_time``, ``creationTime``, ``emergence_time``, ``emergenceTime``,
  ``nodeCreationTime``) or from an ``age`` function (``created = t_obs - age`` with ``t_obs``
  the oldest node's age unless ``observation_time_d`` is given, as CPlantBox's own reader does).
  Times are in days. Missing radius or time falls back to ``default_radius_cm`` /
  ``default_created_d`` with a :class:`RSMLDefaultWarning` that says so.
- **Emergence.** A root's start (``root_start_d``) is the time of its first point. A lateral
  written without its first node (CPlantBox) has no such point; its start is the observation
  time minus its ``age`` property (CPlantBox writes both; the observation time is
  ``observation_time_d`` or, if not given, a base root's first-point time plus its age).

:func:`write_rsml` writes one plant, 3D points in cm (resolution 1), functions ``diameter``
and ``node_creation_time`` per point (CPlantBox's reader finds both; a root's first point
carries its emergence time) and the ``parent-node`` property; ``read_rsml(write_rsml(rs))`` returns ``rs`` exactly when ``rs`` is in the reader's
order (roots depth first, nodes along each root), and the same segments in that order otherwise.
"""

from __future__ import annotations

import datetime
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rhizofem.errors import InputError
from rhizofem.rootsystem.architecture import RootSystem

__all__ = ["CM_PER_UNIT", "TIME_FUNCTIONS", "RSMLDefaultWarning", "read_rsml", "write_rsml"]

CM_PER_UNIT = {"cm": 1.0, "mm": 0.1, "m": 100.0, "inch": 2.54, "in": 2.54, "um": 1e-4,
               "µm": 1e-4, "micron": 1e-4}
PIXEL_UNITS = ("pixel", "pixels", "px")
TIME_FUNCTIONS = ("node_creation_time", "creation_time", "creationTime", "emergence_time",
                  "emergenceTime", "nodeCreationTime")
AGE_FUNCTIONS = ("age", "Age", "age [d]")
DIAMETER_NAMES = ("diameter", "diameters", "Diameter", "diam", "rootDiameter")
RADIUS_NAMES = ("radius", "radii", "Radius")


class RSMLDefaultWarning(UserWarning):
    """An RSML file lacks radii or creation times and defaults were used."""


@dataclass
class _Root:
    """One <root> element as read: its points (file units) and per-point functions."""
    rsml_id: str
    parent: int  # index into the flat list, -1 for base roots
    depth: int
    points: np.ndarray
    functions: dict = field(default_factory=dict)
    properties: dict = field(default_factory=dict)
    prepended: int = 0  # 1 when the parent's node was put in front (see _start_at_parent_node)


def _local(tag: str) -> str:
    """Tag without an XML namespace prefix ({uri}name -> name)."""
    return tag.rsplit("}", 1)[-1]


def _children(elem, name):
    return [c for c in elem if _local(c.tag) == name]


def _number(text, path, where):
    try:
        return float(text)
    except (TypeError, ValueError):
        raise InputError(f"{path}: {where}: {text!r} is not a number. "
                         "Fix: write plain decimal numbers.") from None


def _scale_cm(meta, path, pixel_size_cm):
    unit = "cm"
    resolution = 1.0
    if meta is not None:
        for u in _children(meta, "unit"):
            unit = (u.text or "cm").strip()
        for r in _children(meta, "resolution"):
            resolution = _number(r.text, path, "metadata <resolution>")
    if not resolution > 0:
        raise InputError(f"{path}: metadata <resolution> is {resolution}; it must be > 0.")
    if unit.lower() in PIXEL_UNITS:
        if pixel_size_cm is None:
            raise InputError(f"{path}: coordinates are in pixels, which have no physical size. "
                             "Fix: pass pixel_size_cm=... (the edge of one pixel in cm).")
        return pixel_size_cm / resolution
    factor = CM_PER_UNIT.get(unit, CM_PER_UNIT.get(unit.lower()))
    if factor is None:
        raise InputError(f"{path}: unknown metadata <unit> {unit!r}. "
                         f"Fix: use one of {', '.join(CM_PER_UNIT)} or pixel.")
    return factor / resolution


def _parse_root(elem, parent, depth, roots, path):
    rid = elem.get("ID") or elem.get("id") or elem.get("label") or f"#{len(roots) + 1}"
    where = f"root ID={rid}"
    polylines = [p for g in _children(elem, "geometry") for p in _children(g, "polyline")]
    if not polylines:
        raise InputError(f"{path}: {where} has no <geometry><polyline>. "
                         "Fix: every root needs a polyline of at least 2 points.")
    pts = []
    for p in _children(polylines[0], "point"):
        if "x" in p.attrib:
            x = _number(p.get("x"), path, where)
            y = _number(p.get("y"), path, where)
            z = p.get("z")
            # 2D image coordinates: y points down; rhizofem's depth is negative z
            pts.append((x, y, _number(z, path, where)) if z is not None else (x, 0.0, -y))
        else:  # <point><x>..</x><y>..</y></point> as some writers do
            vals = {_local(c.tag): _number(c.text, path, where) for c in p}
            if "x" not in vals or "y" not in vals:
                raise InputError(f"{path}: {where}: a <point> has no x/y. Fix: <point x=.. y=.. z=../>.")
            pts.append((vals["x"], vals["y"], vals["z"]) if "z" in vals else (vals["x"], 0.0, -vals["y"]))
    root = _Root(rid, parent, depth, np.array(pts, dtype=float).reshape(-1, 3))
    for funcs in _children(elem, "functions"):
        for fun in _children(funcs, "function"):
            name = fun.get("name", "")
            domain = fun.get("domain", "polyline")
            samples = [_number(s.get("value", s.text), path, f"{where} function {name!r}")
                       for s in _children(fun, "sample")]
            if domain != "polyline":
                root.functions[name] = domain  # remembered, refused only if used
                continue
            if len(samples) != len(pts):
                raise InputError(f"{path}: {where}: function {name!r} has {len(samples)} samples "
                                 f"for {len(pts)} polyline points. Fix: one sample per point "
                                 "(domain=\"polyline\").")
            root.functions[name] = np.array(samples)
    for props in _children(elem, "properties"):
        for prop in props:
            value = prop.get("value", prop.text)
            try:
                root.properties[_local(prop.tag)] = float(value)
            except (TypeError, ValueError):
                root.properties[_local(prop.tag)] = value
    _start_at_parent_node(root, roots, path)
    if len(root.points) < 2:
        raise InputError(f"{path}: {where} has a polyline with {len(root.points)} point(s) (and no "
                         "parent-node property joining it to its parent). Fix: give at least 2 "
                         "points, or remove the root.")
    roots.append(root)
    me = len(roots) - 1
    for child in _children(elem, "root"):
        _parse_root(child, me, depth + 1, roots, path)


def _start_at_parent_node(root, roots, path):
    """CPlantBox writes a lateral's polyline without its first node, which is point number
    ``parent-node`` (0-based) of the parent's polyline as written in the file: put that node
    back in front so the lateral's first segment (and its length) is not lost. Its per-point
    values copy the lateral's first ones."""
    pn = root.properties.get("parent-node")
    if root.parent < 0 or not isinstance(pn, float) or pn < 0 or len(root.points) == 0:
        return
    parent = roots[root.parent]
    ppts = parent.points[parent.prepended:]  # parent-node counts the points as written
    if pn != int(pn) or int(pn) >= len(ppts):
        raise InputError(f"{path}: root ID={root.rsml_id}: parent-node={pn:g} is not a point "
                         f"index of its parent (which has {len(ppts)} points). Fix: a 0-based "
                         "index into the parent's polyline.")
    base = ppts[int(pn)]
    if np.array_equal(base, root.points[0]):
        return
    root.points = np.vstack([base, root.points])
    root.prepended = 1
    for name, f in root.functions.items():
        if not isinstance(f, str):
            root.functions[name] = np.concatenate([f[:1], f])


def _per_point(root, names, path, what):
    """Per-point values of the first function in ``names``, else of a per-root property."""
    for n in names:
        f = root.functions.get(n)
        if isinstance(f, str):
            raise InputError(f"{path}: root ID={root.rsml_id}: function {n!r} has domain {f!r}; "
                             f"rhizofem reads {what} only with domain=\"polyline\" (one sample "
                             "per point). Fix: resample it per point.")
        if f is not None:
            return f
    for n in names:
        v = root.properties.get(n)
        if isinstance(v, float):
            return np.full(len(root.points), v)
    return None


def read_rsml(path: str | Path, *, pixel_size_cm: float | None = None,
              default_radius_cm: float = 0.05, default_created_d: float = 0.0,
              observation_time_d: float | None = None) -> RootSystem:
    """Read an RSML file into a :class:`RootSystem` (conventions in the module docstring).

    Args:
        path: the .rsml file.
        pixel_size_cm: cm per pixel, needed only when the file's unit is ``pixel``.
        default_radius_cm: radius of roots without a diameter/radius function or property.
        default_created_d: creation time of nodes without a time or age function.
        observation_time_d: the time at which ``age`` functions were recorded (default: the
            largest age in the file, i.e. the oldest node was created at t = 0).
    """
    path = Path(path)
    try:
        tree = ET.parse(path)
    except OSError as err:
        raise InputError(f"{path}: cannot read the RSML file ({err}).") from None
    except ET.ParseError as err:
        raise InputError(f"{path}: not an XML file ({err}). Fix: give an RSML (.rsml) file.") from None
    top = tree.getroot()
    if _local(top.tag) != "rsml":
        raise InputError(f"{path}: the top element is <{_local(top.tag)}>, not <rsml>. "
                         "Fix: give an RSML file.")
    meta = next(iter(_children(top, "metadata")), None)
    to_cm = _scale_cm(meta, path, pixel_size_cm)
    roots: list[_Root] = []
    for scene in _children(top, "scene"):
        for plant in _children(scene, "plant"):
            for elem in _children(plant, "root"):
                _parse_root(elem, -1, 0, roots, path)
    if not roots:
        raise InputError(f"{path}: no <root> in <scene><plant>. Fix: the file holds no roots; "
                         "check that the writer exported the root system (CPlantBox's Plant "
                         "class writes an empty scene in some versions: use RootSystem).")

    missing_radius, missing_time = [], []
    ages = {}
    times, radii, timed = [], [], []
    for r in roots:
        d = _per_point(r, DIAMETER_NAMES, path, "diameters")
        rad = 0.5 * d * to_cm if d is not None else None
        if rad is None:
            rr = _per_point(r, RADIUS_NAMES, path, "radii")
            rad = rr * to_cm if rr is not None else None
        if rad is None:
            missing_radius.append(r.rsml_id)
            rad = np.full(len(r.points), default_radius_cm)
        ct = _per_point(r, TIME_FUNCTIONS, path, "creation times")
        if ct is None:
            age = _per_point(r, AGE_FUNCTIONS, path, "ages")
            if age is not None:
                ages[len(times)] = age
            else:
                missing_time.append(r.rsml_id)
                ct = np.full(len(r.points), default_created_d)
        timed.append(r.rsml_id not in missing_time)
        times.append(ct)
        radii.append(rad)
    t_obs = observation_time_d
    if ages:
        t_obs = t_obs if t_obs is not None else max(a.max() for a in ages.values())
        for i, age in ages.items():
            times[i] = t_obs - age
    starts = _root_starts(roots, times, timed, t_obs)
    if missing_radius:
        warnings.warn(f"{path}: {len(missing_radius)} root(s) (IDs {_few(missing_radius)}) have no "
                      f"diameter or radius; radius set to default_radius_cm={default_radius_cm} cm.",
                      RSMLDefaultWarning, stacklevel=2)
    if missing_time:
        warnings.warn(f"{path}: {len(missing_time)} root(s) (IDs {_few(missing_time)}) have no node "
                      f"creation time or age function; created_d set to default_created_d="
                      f"{default_created_d} d.", RSMLDefaultWarning, stacklevel=2)
    return _assemble(roots, radii, times, starts, to_cm, path)


def _few(ids, n=5):
    return ", ".join(ids[:n]) + (", ..." if len(ids) > n else "")


def _root_starts(roots, times, timed, t_obs):
    """Each root's emergence time: the time of its first point, when the file holds that point
    with a time; for a lateral written without its first node (CPlantBox), the observation
    time minus the root's ``age`` property (CPlantBox writes both; without ``observation_time_d``
    the observation time is read from the roots written whole: first-point time + age).
    NaN when the file does not say (the model then estimates it)."""
    starts = np.full(len(roots), np.nan)
    if t_obs is None:
        seen = [times[i][0] + r.properties["age"] for i, r in enumerate(roots)
                if timed[i] and not r.prepended and isinstance(r.properties.get("age"), float)]
        t_obs = max(seen) if seen else None
    for i, r in enumerate(roots):
        if not timed[i]:
            continue
        if not r.prepended:
            starts[i] = times[i][0]
        elif t_obs is not None and isinstance(r.properties.get("age"), float):
            starts[i] = min(t_obs - r.properties["age"], times[i][1])
    return starts


def _assemble(roots, radii, times, starts, to_cm, path):
    nodes, segments, radius, created, root_id, order = [], [], [], [], [], []
    first_node = []  # global index of each root's points
    n = 0
    for i, r in enumerate(roots):
        pts = r.points * to_cm
        idx = np.arange(n, n + len(pts))
        if r.parent >= 0:  # a lateral starting on a point of its parent shares that node
            ppts = roots[r.parent].points * to_cm
            hit = np.flatnonzero(np.all(ppts == pts[0], axis=1))
            if hit.size:
                idx = np.concatenate([[first_node[r.parent][hit[0]]], idx[:-1]])
                pts = pts[1:]
        first_node.append(idx)
        nodes.append(pts)
        n += len(pts)
        segments.append(np.stack([idx[:-1], idx[1:]], axis=1))
        radius.append(radii[i][1:])
        created.append(times[i][1:])
        root_id.append(np.full(len(idx) - 1, i))
        order.append(np.full(len(idx) - 1, r.depth))
    parents = np.array([r.parent for r in roots], dtype=np.int64)
    return RootSystem(np.concatenate(nodes), np.concatenate(segments).astype(np.int64),
                      np.concatenate(radius), np.concatenate(created),
                      np.concatenate(root_id).astype(np.int64), np.concatenate(order).astype(np.int64),
                      parents, str(path), starts)


# -- writing -------------------------------------------------------------------------------

def _polyline(rs: RootSystem, r: int) -> np.ndarray:
    """Segment indices of root ``r`` from base to tip; InputError unless they form one chain."""
    return rs.chain(r)


def write_rsml(rs: RootSystem, path: str | Path, *, software: str = "rhizofem") -> None:
    """Write ``rs`` as RSML (cm, days). Roots whose ``root_parent`` is -1 (or unknown) are base
    roots; the others are nested in their parent. Floats are written with ``repr`` so that
    reading gives back the same binary values."""
    n_roots = rs.n_roots
    parent = np.full(n_roots, -1, dtype=np.int64)
    if len(rs.root_parent) >= n_roots:
        parent[:] = rs.root_parent[:n_roots]
    chains = [_polyline(rs, r) for r in range(n_roots)]
    try:
        start = rs.start_times()
    except InputError:  # a one-segment root of unknown start: write what is known
        start = np.full(n_roots, np.nan)
        start[:min(n_roots, len(rs.root_start_d))] = rs.root_start_d[:n_roots]
    top = ET.Element("rsml")
    meta = ET.SubElement(top, "metadata")
    for tag, text in (("version", "1"), ("unit", "cm"), ("resolution", "1"),
                      ("last-modified", datetime.date.today().isoformat()), ("software", software)):
        ET.SubElement(meta, tag).text = text
    plant = ET.SubElement(ET.SubElement(top, "scene"), "plant")
    elements = {}
    node_of = {}  # node index -> (root, position in its polyline), for parent-node

    def add(r, container):
        chain = chains[r]
        if chain.size == 0:
            return
        pts = np.concatenate([[rs.segments[chain[0], 0]], rs.segments[chain, 1]])
        elem = ET.SubElement(container, "root", ID=str(r + 1), label="lateral" if parent[r] >= 0 else "root")
        poly = ET.SubElement(ET.SubElement(elem, "geometry"), "polyline")
        for p in pts:
            x, y, z = (repr(float(v)) for v in rs.nodes[p])
            ET.SubElement(poly, "point", x=x, y=y, z=z)
        props = ET.SubElement(elem, "properties")
        base = node_of.get(int(pts[0]))
        ET.SubElement(props, "parent-node", value=str(base[1] if base and base[0] == parent[r] else -1))
        funcs = ET.SubElement(elem, "functions")
        # the base point carries the root's emergence time and its first segment's diameter
        diam = 2.0 * rs.radius_cm[np.concatenate([[chain[0]], chain])]
        ct = np.concatenate([[start[r] if np.isfinite(start[r]) else rs.created_d[chain[0]]],
                             rs.created_d[chain]])
        for name, values in (("diameter", diam), ("node_creation_time", ct)):
            f = ET.SubElement(funcs, "function", name=name, domain="polyline")
            for v in values:
                ET.SubElement(f, "sample").text = repr(float(v))
        for k, p in enumerate(pts):
            node_of.setdefault(int(p), (r, k))
        elements[r] = elem
        for child in np.flatnonzero(parent == r):
            add(int(child), elem)

    for r in range(n_roots):
        if parent[r] < 0 or parent[r] >= n_roots:
            add(r, plant)
    missing = [r for r in range(n_roots) if chains[r].size and r not in elements]
    if missing:
        raise InputError(f"root system ({rs.source}): roots {missing[:5]} are not reachable from a "
                         "base root through root_parent (a cycle?). Fix: root_parent must form a tree.")
    ET.indent(top, space="  ")
    ET.ElementTree(top).write(path, encoding="utf-8", xml_declaration=True)
