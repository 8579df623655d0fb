"""Exact triangle / grid-cell overlap (separating-axis theorem) for conservative surface voxelisation.

Input triangles are in *cell units*: cell ``[i, j, k]`` is the closed box ``[i, i+1] x [j, j+1] x [k, k+1]``
of a grid ``(R, R, R)``. A cell is marked when it meets at least one triangle. The overlap test is
Akenine-Moeller's (2001): a triangle and a box are disjoint iff they are separated along one of 13 axes: the 3
box axes (checked by only visiting cells in the triangle's bounding box), the triangle normal, and the 9 cross
products of the box axes with the triangle edges. Zero axes (degenerate triangles, edges parallel to a box
axis) never separate, so segments and points are handled too.

Triangles whose bounding box holds many more cells than they can touch (long slivers, large faces tilted
against all three axes) are first bisected on their longest edge: the union of the pieces is the triangle, so
the result is unchanged and only the number of tested cells shrinks.

Two implementations: :func:`mark_surface` (numba kernel, used by :func:`gen3d.geometry.voxelize_surface`) and
:func:`mark_surface_numpy` (vectorised numpy over (triangle, cell) pairs, kept as an independent reference).
"""

from __future__ import annotations

import numpy as np

__all__ = ["mark_surface", "mark_surface_numpy"]

_PAIRS_PER_CHUNK = 1 << 20  # numpy reference: (triangle, cell) pairs tested per vectorised step

_UNIT_AXES = np.eye(3)

# a triangle whose bounding box holds more than this many times the cells it can touch is bisected first: a
# long sliver across the grid would otherwise test up to R^3 cells while touching only ~R of them
_MAX_WASTE = 8.0
_MAX_DEPTH = 48  # bisection stack depth of the kernel (each level halves a piece)


def _tolerance(r):
    """Cells are tested as closed boxes grown by this many cell units, so that a face lying exactly on a grid
    plane (a box scaled to [-1, 1]) touches the cells on both sides despite round-off."""
    return 1e-9 * max(r, 1)


def mark_surface(tri: np.ndarray, resolution: int) -> np.ndarray:
    """bool ``(R, R, R)``: cells meeting any of ``tri (T, 3, 3)`` (float64, cell units)."""
    r = int(resolution)
    grid = np.zeros((r, r, r), dtype=np.uint8)
    if tri.shape[0]:
        _kernel()(np.ascontiguousarray(tri, dtype=np.float64), r, _MAX_WASTE, _tolerance(r), grid)
    return grid.view(bool)


_KERNEL = None


def _kernel():
    """The numba kernel, compiled on first use (cached on disk by numba where the package folder is
    writable), so that importing gen3d.geometry does not import numba."""
    global _KERNEL
    if _KERNEL is None:
        import numba

        _KERNEL = numba.njit(cache=True, nogil=True)(_mark_kernel)
    return _KERNEL


def _mark_kernel(tri, r, waste, tol, grid):  # pragma: no cover - compiled by numba
    """Scalar kernel: for each triangle (bisected while wasteful), test the cells of its bounding box."""
    half = 0.5 + tol
    stack = np.empty((_MAX_DEPTH + 2, 9))
    ax = np.empty(10)
    ay = np.empty(10)
    az = np.empty(10)
    pmin = np.empty(10)
    pmax = np.empty(10)
    rad = np.empty(10)
    lo = np.empty(3, np.int64)
    hi = np.empty(3, np.int64)
    for t in range(tri.shape[0]):
        for q in range(9):
            stack[0, q] = tri[t, q // 3, q % 3]
        n = 1
        while n > 0:
            n -= 1
            v = stack[n]
            # candidate cells: closed [idx, idx + 1] meets [min, max]  <=>  ceil(min) - 1 <= idx <= floor(max)
            boxes = 1.0
            widest = 0.0
            for d in range(3):
                mn = min(v[d], min(v[3 + d], v[6 + d]))
                mx = max(v[d], max(v[3 + d], v[6 + d]))
                # clamp before the integer conversion (far-away vertices must not overflow it)
                lo[d] = max(int(np.ceil(min(max(mn, -2.0), r + 2.0) - tol)) - 1, 0)
                hi[d] = min(int(np.floor(min(max(mx, -2.0), r + 2.0) + tol)), r - 1)
                boxes *= max(hi[d] - lo[d] + 1, 0)
                widest = max(widest, mx - mn)
            if boxes == 0.0:
                continue
            if boxes == 1.0:  # the triangle lies in one cell
                grid[lo[0], lo[1], lo[2]] = 1
                continue
            # edges e0 = p1 - p0, e1 = p2 - p1, e2 = p0 - p2 and the normal e0 x e1
            e0x, e0y, e0z = v[3] - v[0], v[4] - v[1], v[5] - v[2]
            e1x, e1y, e1z = v[6] - v[3], v[7] - v[4], v[8] - v[5]
            e2x, e2y, e2z = v[0] - v[6], v[1] - v[7], v[2] - v[8]
            nx = e0y * e1z - e0z * e1y
            ny = e0z * e1x - e0x * e1z
            nz = e0x * e1y - e0y * e1x
            l0 = np.sqrt(e0x * e0x + e0y * e0y + e0z * e0z)
            l1 = np.sqrt(e1x * e1x + e1y * e1y + e1z * e1z)
            l2 = np.sqrt(e2x * e2x + e2y * e2y + e2z * e2z)
            touched = 0.5 * np.sqrt(nx * nx + ny * ny + nz * nz) + l0 + l1 + l2 + 1.0
            if boxes > waste * touched and widest > 2.0 and n < _MAX_DEPTH:
                # longest-edge bisection: vertex a-b is the longest edge, c the opposite vertex
                if l0 >= l1 and l0 >= l2:
                    a, b, c = 0, 3, 6
                elif l1 >= l2:
                    a, b, c = 3, 6, 0
                else:
                    a, b, c = 6, 0, 3
                for d in range(3):
                    mid = 0.5 * (v[a + d] + v[b + d])
                    pa, pb, pc = v[a + d], v[b + d], v[c + d]
                    stack[n, d], stack[n, 3 + d], stack[n, 6 + d] = pa, mid, pc
                    stack[n + 1, d], stack[n + 1, 3 + d], stack[n + 1, 6 + d] = mid, pb, pc
                n += 2
                continue
            # the 10 non-box axes: the normal, then (unit box axis) x (edge) for x, y, z and e0, e1, e2
            ax[0], ay[0], az[0] = nx, ny, nz
            ax[1], ay[1], az[1] = 0.0, -e0z, e0y
            ax[2], ay[2], az[2] = 0.0, -e1z, e1y
            ax[3], ay[3], az[3] = 0.0, -e2z, e2y
            ax[4], ay[4], az[4] = e0z, 0.0, -e0x
            ax[5], ay[5], az[5] = e1z, 0.0, -e1x
            ax[6], ay[6], az[6] = e2z, 0.0, -e2x
            ax[7], ay[7], az[7] = -e0y, e0x, 0.0
            ax[8], ay[8], az[8] = -e1y, e1x, 0.0
            ax[9], ay[9], az[9] = -e2y, e2x, 0.0
            for q in range(10):  # projection interval of the triangle and radius of a cell on each axis
                p0 = ax[q] * v[0] + ay[q] * v[1] + az[q] * v[2]
                p1 = ax[q] * v[3] + ay[q] * v[4] + az[q] * v[5]
                p2 = ax[q] * v[6] + ay[q] * v[7] + az[q] * v[8]
                pmin[q] = min(p0, min(p1, p2))
                pmax[q] = max(p0, max(p1, p2))
                rad[q] = half * (abs(ax[q]) + abs(ay[q]) + abs(az[q]))
            for i in range(lo[0], hi[0] + 1):
                for j in range(lo[1], hi[1] + 1):
                    for k in range(lo[2], hi[2] + 1):
                        if grid[i, j, k]:
                            continue
                        # separated if the interval misses [c - rad, c + rad] (c: the centre's projection)
                        hit = True
                        for q in range(10):
                            c = ax[q] * (i + 0.5) + ay[q] * (j + 0.5) + az[q] * (k + 0.5)
                            if pmin[q] - c > rad[q] or pmax[q] - c < -rad[q]:
                                hit = False
                                break
                        if hit:
                            grid[i, j, k] = 1


def mark_surface_numpy(tri: np.ndarray, resolution: int) -> np.ndarray:
    """Reference implementation of :func:`mark_surface` in vectorised numpy (same result, slower)."""
    r = int(resolution)
    grid = np.zeros((r, r, r), dtype=bool)
    tri = _split_large(np.asarray(tri, dtype=np.float64), r, _MAX_WASTE)
    if tri.shape[0] == 0:
        return grid
    tmin, tmax = tri.min(axis=1), tri.max(axis=1)
    # candidate cells: closed [idx, idx + 1] meets [tmin, tmax]  <=>  ceil(tmin) - 1 <= idx <= floor(tmax)
    tol = _tolerance(r)
    lo = np.maximum(np.ceil(tmin - tol) - 1, 0).astype(np.int64)
    hi = np.minimum(np.floor(tmax + tol), r - 1).astype(np.int64)
    ext = hi - lo + 1
    keep = np.all(ext > 0, axis=1)
    tri, lo, ext = tri[keep], lo[keep], ext[keep]
    if tri.shape[0] == 0:
        return grid
    # a triangle whose bounding box lies in one cell touches that cell: no test needed
    single = np.all(ext == 1, axis=1)
    grid[lo[single, 0], lo[single, 1], lo[single, 2]] = True
    tri, lo, ext = tri[~single], lo[~single], ext[~single]
    if tri.shape[0] == 0:
        return grid
    axes, pmin, pmax, rad = _separating_axes(tri, 0.5 + tol)
    counts = ext.prod(axis=1)
    # process triangles in chunks of about _PAIRS_PER_CHUNK candidate pairs (at least one triangle each)
    csum = np.cumsum(counts)
    start = 0
    while start < tri.shape[0]:
        done = csum[start - 1] if start else 0
        stop = max(int(np.searchsorted(csum, done + _PAIRS_PER_CHUNK, side="right")), start + 1)
        sl = slice(start, stop)
        _mark_chunk(grid, lo[sl], ext[sl], counts[sl], axes[sl], pmin[sl], pmax[sl], rad[sl])
        start = stop
    return grid


def _in_grid(tri: np.ndarray, r: int) -> np.ndarray:
    """(T,) bool: the triangle's bounding box meets the closed grid box [0, r]^3 (cell units)."""
    return np.all(tri.max(axis=1) >= 0, axis=1) & np.all(tri.min(axis=1) <= r, axis=1)


def _split_large(tri: np.ndarray, r: int, waste: float) -> np.ndarray:
    """Longest-edge bisection of ``tri (T, 3, 3)`` (cell units) until no piece has many more candidate cells
    (its bounding box) than cells it can touch (about area + perimeter + 1), within a factor ``waste``.

    Long slivers and triangles tilted against all three axes are split; axis-aligned faces are kept whole.
    Pieces outside the grid are dropped. The union of the pieces is the union of the input triangles, so the
    voxelisation is unchanged; only the number of tested (triangle, cell) pairs shrinks.
    """
    tri = tri[_in_grid(tri, r)]
    done = []
    while tri.shape[0]:
        lo, hi = tri.min(axis=1), tri.max(axis=1)
        boxes = np.prod(np.minimum(hi, r) - np.maximum(lo, 0) + 2, axis=1)
        edges = tri - np.roll(tri, -1, axis=1)  # edge k = (v_k, v_k+1)
        sq = (edges**2).sum(axis=2)
        area = 0.5 * np.linalg.norm(np.cross(edges[:, 0], edges[:, 1]), axis=1)
        touched = area + np.sqrt(sq).sum(axis=1) + 1.0
        big = (boxes > waste * touched) & ((hi - lo).max(axis=1) > 2.0)
        done.append(tri[~big])
        t, sq = tri[big], sq[big]
        if t.shape[0] == 0:
            break
        # rotate each triangle's vertices so that its longest edge is (v0, v1), then split at that midpoint
        order = (np.arange(3)[None, :] + sq.argmax(axis=1)[:, None]) % 3
        t = np.take_along_axis(t, order[:, :, None], axis=1)
        mid = (t[:, 0] + t[:, 1]) / 2
        halves = np.concatenate([np.stack([t[:, 0], mid, t[:, 2]], 1), np.stack([mid, t[:, 1], t[:, 2]], 1)])
        tri = halves[_in_grid(halves, r)]
    return np.concatenate(done) if done else tri


def _separating_axes(tri: np.ndarray, half: float):
    """Per triangle, the 10 non-box candidate axes with the triangle's projection interval on each.

    Returns ``axes (T, 10, 3)``, ``pmin, pmax, rad (T, 10)`` where ``rad`` is the projection radius of a
    cell of half-size ``half`` about its centre (``half * sum |axis|``). A cell with centre ``c`` is separated
    from the triangle along axis ``a`` iff ``pmin - a.c > rad`` or ``pmax - a.c < -rad``. Zero axes (from a
    degenerate triangle or an edge parallel to a box axis) never separate.
    """
    v0, v1, v2 = tri[:, 0], tri[:, 1], tri[:, 2]
    edges = np.stack([v1 - v0, v2 - v1, v0 - v2], axis=1)  # (T, 3, 3)
    normal = np.cross(edges[:, 0], edges[:, 1])[:, None, :]  # (T, 1, 3)
    # box axis e_k x edge e_m, for k, m in 0..2 -> (T, 9, 3)
    cross = np.cross(_UNIT_AXES[None, :, None, :], edges[:, None, :, :]).reshape(-1, 9, 3)
    axes = np.concatenate([normal, cross], axis=1)  # (T, 10, 3)
    proj = np.einsum("tad,tvd->tav", axes, tri)  # (T, 10, 3 vertices)
    rad = half * np.abs(axes).sum(axis=2)
    return axes, proj.min(axis=2), proj.max(axis=2), rad


def _mark_chunk(grid, lo, ext, counts, axes, pmin, pmax, rad):
    """Expand triangles to their candidate cells, keep the pairs no axis separates, mark those cells."""
    total = int(counts.sum())
    owner = np.repeat(np.arange(lo.shape[0]), counts)
    local = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    ey, ez = ext[owner, 1], ext[owner, 2]
    cell = np.empty((total, 3), dtype=np.int64)
    cell[:, 2] = local % ez
    local //= ez
    cell[:, 1] = local % ey
    cell[:, 0] = local // ey
    cell += lo[owner]
    centre = cell + 0.5
    hit = np.ones(total, dtype=bool)
    for k in range(axes.shape[1]):
        a = axes[owner, k]  # (P, 3)
        d = a[:, 0] * centre[:, 0] + a[:, 1] * centre[:, 1] + a[:, 2] * centre[:, 2]
        r = rad[owner, k]
        hit &= (pmin[owner, k] - d <= r) & (pmax[owner, k] - d >= -r)
    c = cell[hit]
    grid[c[:, 0], c[:, 1], c[:, 2]] = True
