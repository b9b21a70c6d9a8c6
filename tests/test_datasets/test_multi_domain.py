"""Multi-domain folders, the task-mixing sampler and the accuracy metric."""
import os
import shutil

import pytest
import torch
from mmpretrain.evaluation import Accuracy

from mmmae.datasets.multi_domain import (MultiDomainDataset,
                                         MultiTaskMixedSampler,
                                         make_toy_multidomain)
from mmmae.evaluation import MultiTaskAccuracy

DOMAINS = ('Art', 'Clipart', 'Product', 'Real_World')


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('toy') / 'toy')
    make_toy_multidomain(root, DOMAINS, num_classes=3, images_per_class=5,
                         size=16)
    return root


def paths(ds):
    return [ds.get_data_info(i)['img_path'] for i in range(len(ds))]


def test_split_is_deterministic_disjoint_and_complete(toy_root):
    train = MultiDomainDataset(toy_root, DOMAINS, split='train')
    test = MultiDomainDataset(toy_root, DOMAINS, split='test')
    assert train.metainfo['classes'] == ('blue', 'green', 'red')
    assert train.metainfo['tasks'] == DOMAINS
    # 5 images per class: round(0.8 * 5) = 4 train, 1 test
    assert len(train) == 4 * 3 * 4 and len(test) == 4 * 3 * 1
    assert not set(paths(train)) & set(paths(test))
    assert paths(train) == paths(MultiDomainDataset(toy_root, DOMAINS))
    other = MultiDomainDataset(toy_root, DOMAINS, split_seed=1)
    assert set(paths(other)) != set(paths(train))
    info = train.get_data_info(0)
    assert info['task'] == info['domain'] == 'Art'
    assert info['gt_label'] == train.metainfo['classes'].index(
        info['class_name'])
    item = MultiDomainDataset(
        toy_root, DOMAINS, pipeline=[
            dict(type='mmpretrain.LoadImageFromFile'),
            dict(type='mmpretrain.PackInputs', meta_keys=('task', ))])[0]
    assert item['data_samples'].task == 'Art'
    assert item['inputs'].shape == (3, 16, 16)


def test_domain_with_other_classes_fails(toy_root, tmp_path):
    root = str(tmp_path / 'bad')
    shutil.copytree(toy_root, root)
    os.rename(os.path.join(root, 'Product', 'red'),
              os.path.join(root, 'Product', 'crimson'))
    with pytest.raises(ValueError) as err:
        MultiDomainDataset(root, DOMAINS)
    msg = str(err.value)
    assert 'domain "Product"' in msg
    assert "missing ['red']" in msg and "extra ['crimson']" in msg


def test_config_class_list_must_match_folders(toy_root):
    with pytest.raises(ValueError, match="only in config \\['purple'\\]"):
        MultiDomainDataset(toy_root, DOMAINS,
                           metainfo=dict(classes=['blue', 'green', 'purple']))
    with pytest.raises(ValueError, match='found 3 classes, expected 65'):
        MultiDomainDataset(toy_root, DOMAINS, num_classes=65)


def test_space_named_domain_folder_and_split_files(toy_root, tmp_path):
    root = str(tmp_path / 'oh')
    shutil.copytree(toy_root, root)
    os.rename(os.path.join(root, 'Real_World'),
              os.path.join(root, 'Real World'))
    assert len(MultiDomainDataset(root, DOMAINS)) == 48
    # official-style split lists: "<domain>/<class>/<image> label"
    os.makedirs(os.path.join(root, 'splits'))
    for d in ('Art', 'Clipart'):
        for split, ks in (('train', (0, 1, 2)), ('test', (3, ))):
            with open(os.path.join(root, 'splits', f'{d}_{split}.txt'),
                      'w') as f:
                for c in ('blue', 'green', 'red'):
                    for k in ks:
                        f.write(f'{d}/{c}/{k:04d}.png 7\n')
    ds = MultiDomainDataset(root, ('Art', 'Clipart'), split='test',
                            split_file='splits/{domain}_{split}.txt')
    assert len(ds) == 6
    assert [ds.get_data_info(i)['gt_label'] for i in range(3)] == [0, 1, 2]


def test_sampler_mixes_every_batch(toy_root):
    ds = MultiDomainDataset(toy_root, DOMAINS)
    sampler = MultiTaskMixedSampler(ds, seed=0)
    order = list(sampler)
    assert sorted(order) == list(range(len(ds)))
    for start in range(0, len(order), 4):  # every block of T=4 indices
        assert {ds.get_task(i) for i in order[start:start + 4]} == \
            set(DOMAINS)
    assert order == list(MultiTaskMixedSampler(ds, seed=0))
    sampler.set_epoch(1)
    assert list(sampler) != order
    infinite = iter(MultiTaskMixedSampler(ds, seed=0, infinite=True))
    two = [next(infinite) for _ in range(2 * len(ds))]
    assert two[:len(ds)] == order and sorted(two[len(ds):]) == sorted(order)


def test_multi_task_accuracy_matches_mmpretrain():
    torch.manual_seed(0)
    scores = torch.rand(10, 3).softmax(-1)
    labels = torch.randint(0, 3, (10, ))
    tasks = ['a'] * 6 + ['b'] * 4
    metric = MultiTaskAccuracy(tasks=('a', 'b'))
    metric.process(None, [dict(task=t, pred_score=s, gt_label=l.view(1))
                          for t, s, l in zip(tasks, scores, labels)])
    out = metric.compute_metrics(metric.results)
    ref_a = Accuracy.calculate(scores[:6], labels[:6])[0][0].item()
    ref_b = Accuracy.calculate(scores[6:], labels[6:])[0][0].item()
    assert out['a/top1'] == pytest.approx(ref_a)
    assert out['b/top1'] == pytest.approx(ref_b)
    assert out['mean/top1'] == pytest.approx((ref_a + ref_b) / 2)
    with pytest.raises(ValueError, match=r"no predictions for tasks \['c'\]"):
        MultiTaskAccuracy(tasks=('a', 'c')).compute_metrics(metric.results)


def _splits(root, **kwargs):
    return {s: paths(MultiDomainDataset(root, DOMAINS, split=s, **kwargs))
            for s in ('train', 'val', 'test')}


def test_val_split_is_carved_from_train_seeded_and_disjoint(tmp_path):
    root = str(tmp_path / 'toy10')
    make_toy_multidomain(root, DOMAINS, num_classes=3, images_per_class=10,
                         size=8)
    full_train = set(paths(MultiDomainDataset(root, DOMAINS, split='train')))
    s = _splits(root, val_ratio=0.25)
    train, val, test = (set(s[k]) for k in ('train', 'val', 'test'))
    # 10 per class: 8 train / 2 test; of the 8, round(0.25 * 8) = 2 val.
    assert len(val) == 2 * 3 * 4 and len(train) == 6 * 3 * 4
    assert not val & test and not train & test and not val & train
    assert train | val == full_train
    # The test split is the one without a val split, untouched.
    assert test == set(paths(MultiDomainDataset(root, DOMAINS,
                                                split='test')))
    # Every domain and class has val images.
    ds = MultiDomainDataset(root, DOMAINS, split='val', val_ratio=0.25)
    pairs = {(ds.get_data_info(i)['domain'], ds.get_data_info(i)['class_name'])
             for i in range(len(ds))}
    assert len(pairs) == 4 * 3
    # Deterministic, and the seed moves it (while test stays put for a seed).
    assert _splits(root, val_ratio=0.25) == s
    other = _splits(root, val_ratio=0.25, split_seed=1)
    assert set(other['val']) != val
    assert not set(other['val']) & set(other['test'])


def test_val_split_from_official_split_lists(toy_root, tmp_path):
    root = str(tmp_path / 'lists')
    shutil.copytree(toy_root, root)
    os.makedirs(os.path.join(root, 'splits'))
    for d in DOMAINS:
        for split, ks in (('train', (0, 1, 2, 3)), ('test', (4, ))):
            with open(os.path.join(root, 'splits', f'{d}_{split}.txt'),
                      'w') as f:
                for c in ('blue', 'green', 'red'):
                    for k in ks:
                        f.write(f'{d}/{c}/{k:04d}.png 0\n')
    s = _splits(root, val_ratio=0.25, split_file='splits/{domain}_{split}.txt')
    assert len(s['val']) == 1 * 3 * 4 and len(s['train']) == 3 * 3 * 4
    assert all(p.endswith('0004.png') for p in s['test'])
    assert not set(s['val']) & (set(s['test']) | set(s['train']))


def test_val_split_needs_a_ratio():
    with pytest.raises(ValueError, match='split="val" needs val_ratio > 0'):
        MultiDomainDataset('unused', DOMAINS, split='val')
    with pytest.raises(ValueError, match='val_ratio=1.0'):
        MultiDomainDataset('unused', DOMAINS, val_ratio=1.)


def test_num_held_out_keeps_both_sides_of_every_class():
    from mmmae.datasets.multi_domain.val_split import carve_val, num_held_out
    assert [num_held_out(n, 0.1) for n in (0, 1, 2, 5, 30)] == [0, 0, 1, 1, 3]
    assert num_held_out(4, 0.9) == 3 and num_held_out(9, 0.) == 0
    items = [(f'{c}/{k}.png', c) for c in 'ab' for k in range(10)]
    train, val = carve_val(items, 0.2, 'seed')
    assert train == [i for i in items if i not in val]  # input order kept
    assert sorted(c for _, c in val) == ['a', 'a', 'b', 'b']
    # Listing order does not matter, only the seed.
    assert carve_val(items[::-1], 0.2, 'seed')[1] == val
