"""Boundary F-measure of the BSDS / SEISM benchmark, in numpy and scipy.

The multi-task literature (ASTMT, MTI-Net, ATRC, InvPT, TaskPrompter) saves
``uint8(255 * sigmoid(logit))`` boundary maps and scores them with SEISM
(jponttuset/seism, ``src/scripts/eval_method.m`` -> ``measures/eval_cont.m``
-> ``piotr_edges/edgesEvalImg.m`` -> BSDS ``correspondPixels``), reading
each map with MTI-Net's ``read_one_png.m`` at the 99 thresholds
0.01, 0.02, ..., 0.99. Per image and threshold t:

1. ``E = png / 255 >= t`` (no non-maximum suppression in that reader);
2. ``E`` and the ground-truth boundary map are thinned to one-pixel lines
   (``bwmorph(., 'thin', Inf)``: :func:`thin`);
3. boundary pixels of the two maps are matched one-to-one, a pair being
   allowed when the pixels are at most ``max_dist * image diagonal`` apart
   (:func:`match_boundaries`);
4. cntR = matched gt pixels, sumR = gt pixels, cntP = matched predicted
   pixels, sumP = predicted pixels.

The counts are summed over the dataset per threshold; odsF is the largest
F = 2PR / (P + R) over thresholds (``gather_measure.m``, ``general_ods.m``);
oisF picks every image's best threshold by its own F and sums the counts
there (``general_ois.m``). The corner cases (no gt or no predicted pixels)
follow those files.

Matching. ``correspondPixels`` solves a min-cost perfect matching where a
real pair costs its distance d <= max_dist and leaving a pixel unmatched
costs ``100 * max_dist`` (``outlierCost``). As every match saves two
outlier costs, far more than any distance, the optimum first maximises the
number of matched pairs and only then minimises their total distance; the
counts therefore equal the size of a maximum-cardinality matching on the
candidate pairs, which :func:`match_boundaries` computes exactly as a
unit-capacity max flow (``method='max_cardinality'``, the default). With
``method='min_cost'`` it solves correspondPixels' objective itself with
``scipy.sparse.csgraph.min_weight_full_bipartite_matching`` (seconds per
map instead of milliseconds); the tests show both give the same counts.
(correspondPixels approximates that objective: random sparse outlier edges
and distances rounded to 1/100 pixel; an exact solver is the intent.)
"""
from typing import Dict, Sequence, Tuple

import cv2
import numpy as np
import scipy.ndimage as ndi
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import (maximum_flow,
                                  min_weight_full_bipartite_matching)
from scipy.spatial import cKDTree

__all__ = [
    'thin', 'seg_to_bmap', 'match_boundaries', 'boundary_counts',
    'ods_ois', 'check_match_method', 'MATCH_METHODS', 'SEISM_THRESHOLDS'
]

# MTI-Net's SEISM parameter file: '%.2f' of np.arange(0.01, 1.00, 0.01),
# read back with str2double, hence the rounding.
SEISM_THRESHOLDS = tuple(float(f'{t:.2f}') for t in np.arange(0.01, 1.0, 0.01))

MATCH_METHODS = ('max_cardinality', 'min_cost')

# correspondPixels' default outlier cost, as a multiple of max_dist.
OUTLIER_COST = 100.0


def _thinning_luts() -> Tuple[np.ndarray, np.ndarray]:
    """Deletion tables of the two sub-iterations of MATLAB's
    ``bwmorph(., 'thin')`` (Guo & Hall 1989, the conditions G1, G2, G3 and
    G3' of MATLAB's documentation), indexed by the 8-neighbour code with
    bit i-1 = x_i: x1 = east, then counter-clockwise (x2 = north-east,
    x3 = north, ..., x8 = south-east)."""
    lut1 = np.zeros(256, dtype=bool)
    lut2 = np.zeros(256, dtype=bool)
    for code in range(256):
        x = [None] + [(code >> i) & 1 for i in range(8)] + [code & 1]
        # G1: exactly one 4-connected "0 then 1" transition.
        xh = sum(1 for i in range(1, 5)
                 if x[2 * i - 1] == 0 and (x[2 * i] or x[2 * i + 1]))
        n1 = sum(x[2 * k - 1] | x[2 * k] for k in range(1, 5))
        n2 = sum(x[2 * k] | x[2 * k + 1] for k in range(1, 5))
        g12 = xh == 1 and 2 <= min(n1, n2) <= 3
        g3 = ((x[2] | x[3] | (1 - x[8])) & x[1]) == 0
        g3p = ((x[6] | x[7] | (1 - x[4])) & x[5]) == 0
        lut1[code] = g12 and g3
        lut2[code] = g12 and g3p
    return lut1, lut2


_LUT1, _LUT2 = (lut.astype(np.uint8) for lut in _thinning_luts())
# Weight 2^(i-1) at the position of neighbour x_i (dy, dx): x1 = east, then
# counter-clockwise. filter2D correlates, so the weight sits at (1+dy, 1+dx).
_CODE_KERNEL = np.zeros((3, 3), dtype=np.float32)
for _bit, (_dy, _dx) in enumerate(((0, 1), (-1, 1), (-1, 0), (-1, -1),
                                   (0, -1), (1, -1), (1, 0), (1, 1))):
    _CODE_KERNEL[1 + _dy, 1 + _dx] = 1 << _bit


def _neighbour_code(img: np.ndarray) -> np.ndarray:
    """(H, W) uint8 0/1 -> (H, W) uint8 8-neighbour code (outside = 0)."""
    return cv2.filter2D(img, cv2.CV_16S, _CODE_KERNEL,
                        borderType=cv2.BORDER_CONSTANT).astype(np.uint8)


def thin(bmap: np.ndarray) -> np.ndarray:
    """Thin a binary map to one-pixel lines, as MATLAB's
    ``bwmorph(bmap, 'thin', Inf)``: both sub-iterations are applied to all
    pixels in parallel, repeated until nothing changes (the same output as
    scikit-image's ``morphology.thin``, which a test checks).

    Shapes:
        bmap: (H, W) bool -> (H, W) bool
    """
    img = np.asarray(bmap, dtype=bool)
    if img.ndim != 2:
        raise ValueError(f'thin: expected a (H, W) map, got {img.shape}')
    ys, xs = np.nonzero(img)
    if ys.size == 0:
        return img.copy()
    # Work on the bounding box only: thinning never adds pixels, and the
    # zero border of filter2D stands for the zeros around the box.
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop = img[y0:y1, x0:x1].astype(np.uint8)
    changed = True
    while changed:
        changed = False
        for lut in (_LUT1, _LUT2):
            delete = cv2.LUT(_neighbour_code(crop), lut) & crop
            if delete.any():
                crop ^= delete
                changed = True
    out = np.zeros_like(img)
    out[y0:y1, x0:x1] = crop.astype(bool)
    return out


def seg_to_bmap(seg: np.ndarray) -> np.ndarray:
    """Boundary map of a label map, as BSDS/SEISM ``seg2bmap`` at the same
    size: a pixel is a boundary when its label differs from its east, south
    or south-east neighbour (last row: east only; last column: south only;
    the bottom-right pixel never).

    Shapes:
        seg: (H, W) labels -> (H, W) bool
    """
    seg = np.asarray(seg)
    if seg.ndim != 2:
        raise ValueError(f'seg_to_bmap: expected a (H, W) map, got '
                         f'{seg.shape}')
    b = np.zeros(seg.shape, dtype=bool)
    b[:-1, :-1] = ((seg[:-1, :-1] != seg[:-1, 1:]) |
                   (seg[:-1, :-1] != seg[1:, :-1]) |
                   (seg[:-1, :-1] != seg[1:, 1:]))
    b[-1, :-1] = seg[-1, :-1] != seg[-1, 1:]
    b[:-1, -1] = seg[:-1, -1] != seg[1:, -1]
    b[-1, -1] = False
    return b


def check_match_method(method: str, who: str) -> None:
    if method not in MATCH_METHODS:
        raise ValueError(f'{who}: method must be one of {MATCH_METHODS}, '
                         f'got {method!r}')


class _GtMatcher:
    """One ground-truth boundary map, ready to be matched against many
    predictions (one per threshold).

    Only "matchable" pixels (with a partner within ``max_dist``, as in
    correspondPixels) enter the graph; the others stay unmatched anyway.
    """

    def __init__(self, gt: np.ndarray, max_dist: float, method: str):
        check_match_method(method, 'match_boundaries')
        self.method = method
        self.max_dist = max_dist
        self.shape = gt.shape
        self.points = np.stack(np.nonzero(gt), axis=1)  # N_gt 2 (y, x)
        self.n_gt = len(self.points)
        if self.n_gt:
            self.tree = cKDTree(self.points)
            # Pixels within max_dist of some gt pixel (exact Euclidean).
            self.near = ndi.distance_transform_edt(~gt) <= max_dist
        else:
            self.near = np.zeros(gt.shape, dtype=bool)

    def pairs(self, pred: np.ndarray):
        """(i, j, distance) of the candidate pairs and the node counts;
        i indexes the matchable predicted pixels, j the gt pixels that have
        a candidate."""
        points = np.stack(np.nonzero(pred & self.near), axis=1)
        if len(points) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0), 0, 0
        found = cKDTree(points).sparse_distance_matrix(
            self.tree, self.max_dist + 1e-6, output_type='ndarray')
        i, j = found['i'].astype(np.int64), found['j'].astype(np.int64)
        # correspondPixels' exact test on integer offsets.
        d2 = ((points[i] - self.points[j])**2).sum(1)
        keep = d2 <= self.max_dist**2
        i, j, d2 = i[keep], j[keep], d2[keep]
        gt_nodes, j = np.unique(j, return_inverse=True)
        return i, j.reshape(-1), np.sqrt(d2), len(points), gt_nodes.size

    def match(self, pred: np.ndarray) -> int:
        if pred.shape != self.shape:
            raise ValueError(f'match_boundaries: prediction {pred.shape} '
                             f'and ground truth {self.shape} differ in size')
        if self.n_gt == 0:
            return 0
        i, j, d, n_pred, n_gt = self.pairs(pred)
        if i.size == 0:
            return 0
        if self.method == 'max_cardinality':
            return _max_cardinality(i, j, n_pred, n_gt)
        return _min_cost_matches(i, j, d, n_pred, n_gt, self.max_dist)


def match_boundaries(pred: np.ndarray,
                     gt: np.ndarray,
                     max_dist: float,
                     method: str = 'max_cardinality') -> int:
    """Number of one-to-one matched pairs between two (thinned) boundary
    maps, a pair being allowed when its pixels are at most ``max_dist``
    pixels apart (see the module docstring).

    Args:
        pred, gt (np.ndarray): (H, W) boolean boundary maps.
        max_dist (float): Tolerance in pixels (the protocol's fraction times
            the image diagonal).
        method (str): ``'max_cardinality'`` (default) or ``'min_cost'``
            (correspondPixels' min-cost objective solved exactly).

    Returns:
        int: matched pairs = matched predicted pixels = matched gt pixels.
    """
    pred = np.asarray(pred, dtype=bool)
    gt = np.asarray(gt, dtype=bool)
    if pred.shape != gt.shape:
        raise ValueError(f'match_boundaries: prediction {pred.shape} and '
                         f'ground truth {gt.shape} differ in size')
    return _GtMatcher(gt, max_dist, method).match(pred)


def _max_cardinality(i, j, n_pred, n_gt) -> int:
    """Maximum bipartite matching as a unit-capacity max flow (Dinic):
    source -> predicted pixel -> gt pixel -> sink. scipy's Hopcroft-Karp
    (``maximum_bipartite_matching``) takes minutes on some boundary maps;
    Dinic on this unit network has the same O(E sqrt(V)) bound and stays
    fast."""
    source, sink = n_pred + n_gt, n_pred + n_gt + 1
    rows = np.concatenate([np.full(n_pred, source), i,
                           n_pred + np.arange(n_gt)])
    cols = np.concatenate([np.arange(n_pred), n_pred + j,
                           np.full(n_gt, sink)])
    graph = csr_matrix((np.ones(rows.size, dtype=np.int32), (rows, cols)),
                       shape=(n_pred + n_gt + 2, ) * 2)
    return int(maximum_flow(graph, source, sink, method='dinic').flow_value)


def _min_cost_matches(i, j, d, n_pred, n_gt, max_dist) -> int:
    """correspondPixels' objective: min sum(d) + outlier cost per unmatched
    pixel, as a perfect matching on an augmented graph. Rows: predicted
    pixels then one stand-in per gt pixel; columns: gt pixels then one
    stand-in per predicted pixel. A pixel left alone takes its own stand-in
    (outlier cost); the stand-ins of a matched pair take each other (free).
    Every perfect matching has n_pred + n_gt edges, so adding 1 to every
    weight keeps the optimum and keeps zero weights out of the sparse
    matrix."""
    oc = OUTLIER_COST * max_dist
    rows = np.concatenate([i, np.arange(n_pred), n_pred + np.arange(n_gt),
                           n_pred + j])
    cols = np.concatenate([j, n_gt + np.arange(n_pred), np.arange(n_gt),
                           n_gt + i])
    weights = np.concatenate([d, np.full(n_pred, oc), np.full(n_gt, oc),
                              np.zeros(i.size)]) + 1.0
    n = n_pred + n_gt
    graph = csr_matrix((weights, (rows, cols)), shape=(n, n))
    row, col = min_weight_full_bipartite_matching(graph)
    return int(np.count_nonzero((row < n_pred) & (col < n_gt)))


def boundary_counts(prob: np.ndarray,
                    gt: np.ndarray,
                    max_dist: float,
                    thresholds: Sequence[float] = SEISM_THRESHOLDS,
                    ignore: np.ndarray = None,
                    thin_gt: bool = True,
                    method: str = 'max_cardinality') -> Dict[str, np.ndarray]:
    """Per-threshold BSDS counts of one image.

    Args:
        prob (np.ndarray): (H, W) boundary probability in [0, 1].
        gt (np.ndarray): (H, W) binary boundary map.
        max_dist (float): Tolerance as a fraction of the image diagonal
            (0.0075 PASCAL-Context, 0.011 NYUD in the literature).
        thresholds (Sequence[float]): ``prob >= t`` is a boundary.
        ignore (np.ndarray, optional): (H, W) bool; pixels removed from both
            maps (e.g. padding) before thinning. The tolerance is then
            relative to the diagonal of the box of the other pixels.
        thin_gt (bool): Thin the ground truth as ``edgesEvalImg`` does.
        method (str): See :func:`match_boundaries`.

    Returns:
        dict: ``cntR, sumR, cntP, sumP``, each an int64 array of
        ``len(thresholds)``.
    """
    prob = np.asarray(prob, dtype=np.float64)
    gt = np.asarray(gt).astype(bool)
    if prob.shape != gt.shape or prob.ndim != 2:
        raise ValueError(f'boundary_counts: prediction {prob.shape} and '
                         f'ground truth {gt.shape} must be equal (H, W)')
    height, width = prob.shape
    if ignore is not None:
        prob = np.where(ignore, 0.0, prob)
        gt = gt & ~ignore
        # The tolerance is relative to the image, not to its padding: take
        # the diagonal of the box of evaluated pixels.
        ys, xs = np.nonzero(~ignore)
        if ys.size:
            height = ys.max() - ys.min() + 1
            width = xs.max() - xs.min() + 1
    max_dist_px = max_dist * np.sqrt(height**2 + width**2)
    if thin_gt:
        gt = thin(gt)
    n_gt = int(np.count_nonzero(gt))
    matcher = _GtMatcher(gt, max_dist_px, method)
    K = len(thresholds)
    counts = {k: np.zeros(K, dtype=np.int64)
              for k in ('cntR', 'sumR', 'cntP', 'sumP')}
    counts['sumR'][:] = n_gt
    prev_mask, prev = None, None
    for k, t in enumerate(thresholds):
        mask = prob >= t
        if prev_mask is not None and np.array_equal(mask, prev_mask):
            matched, n_pred = prev  # same binary map as the last threshold
        else:
            pred = thin(mask)
            n_pred = int(np.count_nonzero(pred))
            matched = matcher.match(pred) if n_pred and n_gt else 0
            prev_mask, prev = mask, (matched, n_pred)
        counts['cntR'][k] = counts['cntP'][k] = matched
        counts['sumP'][k] = n_pred
    return counts


def _prec_rec(cntR, sumR, cntP, sumP) -> Tuple[np.ndarray, np.ndarray]:
    """SEISM's precision and recall with its corner cases
    (``gather_measure.m`` / ``eval_cont.m``): no gt pixel -> R=1, P=0;
    no predicted pixel -> R=0, P=1."""
    cntR, sumR, cntP, sumP = (np.asarray(a, dtype=np.float64)
                              for a in (cntR, sumR, cntP, sumP))
    no_gt = sumR == 0
    no_pred = (sumP == 0) & ~no_gt
    rec = np.where(no_gt, 1.0,
                   np.where(no_pred, 0.0, cntR / np.maximum(sumR, 1)))
    prec = np.where(no_gt, 0.0,
                    np.where(no_pred, 1.0, cntP / np.maximum(sumP, 1)))
    return prec, rec


def _f(prec: np.ndarray, rec: np.ndarray) -> np.ndarray:
    s = prec + rec
    return np.where(s > 0, 2 * prec * rec / np.where(s > 0, s, 1), 0.0)


def ods_ois(counts: Dict[str, np.ndarray],
            thresholds: Sequence[float] = SEISM_THRESHOLDS) -> dict:
    """odsF and oisF (fractions in [0, 1]) from stacked per-image counts.

    Args:
        counts (dict): ``cntR, sumR, cntP, sumP`` as (N_images, K) arrays.
        thresholds (Sequence[float]): The K thresholds, to report the ODS
            one.

    Returns:
        dict: ``odsF, ods_precision, ods_recall, ods_threshold, oisF``.
    """
    c = {k: np.atleast_2d(np.asarray(counts[k])) for k in
         ('cntR', 'sumR', 'cntP', 'sumP')}
    # ODS: counts summed over the dataset, best single threshold (the first
    # on ties, as MATLAB's max).
    prec, rec = _prec_rec(*(c[k].sum(0) for k in
                            ('cntR', 'sumR', 'cntP', 'sumP')))
    f = _f(prec, rec)
    best = int(np.argmax(f))
    # OIS: every image at its own best threshold, counts summed there.
    img_prec, img_rec = _prec_rec(c['cntR'], c['sumR'], c['cntP'], c['sumP'])
    idx = np.argmax(_f(img_prec, img_rec), axis=1)
    rows = np.arange(idx.size)
    ois_p, ois_r = _prec_rec(*(c[k][rows, idx].sum() for k in
                               ('cntR', 'sumR', 'cntP', 'sumP')))
    return dict(odsF=float(f[best]), ods_precision=float(prec[best]),
                ods_recall=float(rec[best]),
                ods_threshold=float(thresholds[best]),
                oisF=float(_f(ois_p, ois_r)))
