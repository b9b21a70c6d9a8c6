import numpy as np

from mmmae.datasets import synthetic_nyuv2 as synth
from mmmae.datasets.geometry import (NYUV2_INTRINSICS, Intrinsics,
                                     backproject, encode_normals,
                                     normals_from_depth)


def _plane_depth(normal, offset, k, shape):
    """Depth of the plane n . P = offset seen through camera k."""
    h, w = shape
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    ray = np.stack([(u - k.cx) / k.fx, (v - k.cy) / k.fy, np.ones_like(u)],
                   -1)
    return offset / (ray @ np.asarray(normal))


def test_plane_normal_is_recovered_and_faces_the_camera():
    k = NYUV2_INTRINSICS
    n = np.array([0.3, -0.5, -0.8])
    n /= np.linalg.norm(n)
    depth = _plane_depth(n, -2.0, k, (480, 640))
    assert (depth > 0).all()
    out = normals_from_depth(depth, k)
    inner = out[1:-1, 1:-1]
    np.testing.assert_allclose(inner, np.broadcast_to(n, inner.shape),
                               atol=1e-6)
    assert not out[0].any() and not out[:, -1].any()  # border invalid
    # facing the camera: n . P < 0
    assert ((inner * backproject(depth, k)[1:-1, 1:-1]).sum(-1) < 0).all()


def test_missing_depth_and_jumps_are_invalid():
    k = Intrinsics(50., 50., 10., 8.)
    depth = np.full((16, 20), 3.0)
    depth[:, 10:] = 4.0  # a step: no surface between the two
    depth[5, 5] = 0
    out = normals_from_depth(depth, k)
    valid = out.any(-1)
    assert not valid[:, 9:11].any()
    assert not valid[4:7, 5].any() and not valid[5, 4:7].any()
    assert valid[8, 3] and valid[8, 15]


def test_encode_normals_roundtrip():
    n = np.array([[[0.6, 0.0, -0.8], [0, 0, 0]]])
    enc = encode_normals(n)
    assert enc.dtype == np.uint16 and enc[0, 1].tolist() == [32768] * 3
    np.testing.assert_allclose(2 * enc.astype(float) / 65535 - 1, n, atol=2e-5)


def test_synthetic_normals_agree_with_their_depth():
    """The analytic normals of the synthetic set match normals computed
    from its (millimetre) depth, on valid interior pixels."""
    for i in range(3):
        s = synth.render_scene(synth.sample_rng(0, 'train', i), (96, 128))
        f = s['focal']
        # the renderer samples pixel centres: (u + 0.5 - W / 2) / f
        k = Intrinsics(f, f, 64 - 0.5, 48 - 0.5)
        est = normals_from_depth(s['depth'] / 1000., k)
        gt = 2 * s['normals'].astype(float) / 65535 - 1
        both = est.any(-1) & (np.linalg.norm(gt, axis=-1) > 0.5)
        assert both.mean() > 0.8
        cos = np.clip((est * gt).sum(-1)[both], -1, 1)
        angle = np.degrees(np.arccos(cos))
        assert np.median(angle) < 1.5 and np.percentile(angle, 90) < 5
