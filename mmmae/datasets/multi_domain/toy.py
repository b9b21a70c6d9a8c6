"""A tiny, separable multi-domain folder dataset for tests and CPU demos.

``root/<domain>/<class>/<k>.png``: each image is a square patch of its
class colour on a background whose colour and noise depend on the domain,
at a random place. Colour identifies the class in every domain, so a
classifier can separate the classes; the domains shift the statistics as
the Office-Home domains do. Deterministic given the seed.
"""
import colorsys
import os
import os.path as osp
from typing import List, Sequence

import numpy as np

# Named colours first, so class names read as words in the text prompts.
_NAMED = [('red', (220, 30, 30)), ('green', (30, 180, 40)),
          ('blue', (30, 60, 220)), ('yellow', (230, 220, 30)),
          ('magenta', (210, 40, 200)), ('cyan', (40, 210, 210)),
          ('orange', (240, 140, 20)), ('purple', (120, 40, 170))]

_DOMAIN_STYLES = [  # background rgb, noise std
    ((128, 128, 128), 8.), ((250, 250, 250), 4.), ((20, 20, 20), 12.),
    ((120, 90, 60), 20.)
]


def toy_classes(num_classes: int) -> List[tuple]:
    """(name, rgb) of each class: named colours, then evenly spaced hues."""
    classes = list(_NAMED[:num_classes])
    extra = num_classes - len(classes)
    for i in range(extra):
        r, g, b = colorsys.hsv_to_rgb((i + 0.5) / extra, 0.8, 0.9)
        classes.append((f'hue{i}', (int(r * 255), int(g * 255),
                                    int(b * 255))))
    return classes


def make_toy_multidomain(root: str,
                         domains: Sequence[str] = ('Art', 'Clipart',
                                                   'Product', 'Real_World'),
                         num_classes: int = 4,
                         images_per_class: int = 10,
                         size: int = 32,
                         seed: int = 0) -> List[str]:
    """Write the dataset; returns the class names (sorted = label order).

    Args:
        root (str): Output folder (created).
        domains (Sequence[str]): Domain folder names.
        num_classes (int): Classes per domain.
        images_per_class (int): Images per class and domain.
        size (int): Image side in pixels.
        seed (int): Seed of the random placement and noise.
    """
    from mmmae.utils.atomic_io import atomic_imwrite
    rng = np.random.default_rng(seed)
    classes = toy_classes(num_classes)
    side = max(size // 2, 2)
    for d, domain in enumerate(domains):
        bg, noise = _DOMAIN_STYLES[d % len(_DOMAIN_STYLES)]
        for name, rgb in classes:
            folder = osp.join(root, domain, name)
            os.makedirs(folder, exist_ok=True)
            for k in range(images_per_class):
                img = np.empty((size, size, 3), np.float32)
                img[:] = bg
                y, x = rng.integers(0, size - side + 1, size=2)
                img[y:y + side, x:x + side] = rgb
                img += rng.normal(0., noise, img.shape)
                img = np.clip(img, 0, 255).astype(np.uint8)
                atomic_imwrite(osp.join(folder, f'{k:04d}.png'),
                               img[..., ::-1])  # RGB -> cv2's BGR
    return sorted(name for name, _ in classes)
