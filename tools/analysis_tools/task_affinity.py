"""Task affinity from a short warm-up with one shared prompt, then groups.

MmAP (Xin et al., AAAI 2024) groups tasks by their gradients on a shared
prompt ("gradient-driven task grouping"). This tool trains the config's
model for ``--warmup-iters`` steps with ONE prompt unit shared by all tasks
(the config's prompt type and sizes, groups and task-specific units
switched off) and, at every step t, takes each task's gradient g_i^t on the
shared prompt parameters theta (L_i: mean CE of task i's images in the
batch). ``--affinity`` chooses the measure (``mmmae.engine.task_affinity``):

- ``cosine`` (default): A_ij = mean_t cos(g_i^t, g_j^t); symmetric, unit
  diagonal;
- ``lookahead``: TAG's inter-task affinity (Fifty et al., NeurIPS 2021),
  Z_ij = mean_t 1 - L_j(theta_t - lr g_i^t) / L_j(theta_t) on the step-t
  batch, lr = ``--lookahead-lr`` or the optimizer's; row i steps, column j
  is measured; not symmetric.

Means run over the steps where both tasks are in the batch. The tasks are
then split by ``mmmae.engine.task_grouping.group_tasks`` (deterministic
given the matrix) and the result written as JSON that the config's prompt
reads through ``grouping_file=``, plus a PNG of the matrix next to it (both
written atomically):

    python tools/analysis_tools/task_affinity.py CONFIG \
        --warmup-iters 200 --out work_dirs/task_affinity/office-home.json
    python tools/analysis_tools/task_affinity.py CONFIG --affinity lookahead \
        --warmup-iters 200 --out work_dirs/task_affinity/office-home-tag.json
"""
import argparse
import copy
import json
import os.path as osp
from typing import Optional

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, set_random_seed

from mmmae.engine.task_affinity import (AFFINITY_TYPES, FORMULAS,
                                        AffinityMeter, gradient_cosine,
                                        lookahead_affinity)


def shared_prompt_cfg(model_cfg: dict) -> dict:
    """The model config with one prompt unit shared by all tasks."""
    model_cfg = copy.deepcopy(model_cfg)
    prompt = model_cfg.get('prompt')
    if not prompt:
        raise ValueError('the config has no model.prompt; task affinity '
                         'needs a prompt learner to share')
    prompt.update(groups=None, grouping_file=None, group_shared=True,
                  task_specific=False)
    return model_cfg


def _batches(loader):
    """Endless batches, re-seeding the sampler each epoch."""
    epoch = 0
    while True:
        if hasattr(loader.sampler, 'set_epoch'):
            loader.sampler.set_epoch(epoch)
        yield from loader
        epoch += 1


def measure_task_affinity(cfg: Config,
                          warmup_iters: int,
                          device: str = 'cpu',
                          seed: int = 0,
                          affinity: str = 'cosine',
                          lookahead_lr: Optional[float] = None) -> dict:
    """Warm up a shared prompt and return tasks, affinity and pair counts.

    Args:
        affinity (str): ``'cosine'`` or ``'lookahead'``.
        lookahead_lr (float, optional): Look-ahead step size; defaults to
            the optimizer's learning rate (first parameter group).
    """
    from mmmae.registry import MODELS
    if affinity not in AFFINITY_TYPES:
        raise ValueError(f'affinity={affinity!r}: choose one of '
                         f'{list(AFFINITY_TYPES)}')
    init_default_scope(cfg.get('default_scope', 'mmmae'))
    # python, numpy and torch: the data pipeline's augmentations too
    set_random_seed(seed)
    model = MODELS.build(shared_prompt_cfg(cfg.model))
    model.init_weights()
    model.to(device)
    model.train()
    tasks = list(model.tasks)
    shared = model.prompt.shared_parameters()
    loader = Runner.build_dataloader(copy.deepcopy(cfg.train_dataloader),
                                     seed=seed)
    optim_wrapper = build_optim_wrapper(model, copy.deepcopy(
        cfg.optim_wrapper))
    if affinity == 'lookahead' and lookahead_lr is None:
        lookahead_lr = float(optim_wrapper.get_lr()['lr'][0])

    meter = AffinityMeter(tasks)
    batches = _batches(loader)
    for _ in range(warmup_iters):
        data = model.data_preprocessor(next(batches), True)
        losses = model.task_losses(data['inputs'], data['data_samples'])
        grads = {task: torch.autograd.grad(loss, shared, retain_graph=True,
                                           allow_unused=True)
                 for task, loss in losses.items()}
        theta = [p.detach().clone() for p in shared]
        # the training step: the same update as the cosine-only tool had
        optim_wrapper.update_params(sum(losses.values()))
        if affinity == 'cosine':
            meter.update(gradient_cosine(grads, shared))
        else:
            meter.update(lookahead_affinity(
                shared, theta, grads,
                {t: float(v.detach()) for t, v in losses.items()},
                lambda: model.task_losses(data['inputs'],
                                          data['data_samples']),
                lookahead_lr))
    result = dict(tasks=tasks, affinity=meter.mean().tolist(),
                  pair_counts=meter.count.tolist(),
                  warmup_iters=warmup_iters, affinity_type=affinity,
                  formula=FORMULAS[affinity])
    if affinity == 'lookahead':
        result['lookahead_lr'] = lookahead_lr
    return result


def draw_affinity(affinity, tasks, groups: dict, path: str,
                  affinity_type: str = 'cosine') -> None:
    """Save a heat map of the matrix with the groups in the title."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from mmmae.utils.atomic_io import atomic_open
    a = np.asarray(affinity)
    fig, ax = plt.subplots(figsize=(1.2 * len(tasks) + 2,
                                    1.2 * len(tasks) + 1.5))
    # cosine lies in [-1, 1]; look-ahead values scale with the lr
    bound = 1. if affinity_type == 'cosine' else float(
        np.abs(a).max()) or 1.
    im = ax.imshow(a, cmap='viridis', vmin=-bound, vmax=bound)
    ax.set_xticks(range(len(tasks)), tasks, rotation=45, ha='right')
    ax.set_yticks(range(len(tasks)), tasks)
    for i in range(len(tasks)):
        for j in range(len(tasks)):
            ax.text(j, i, f'{a[i, j]:.2f}', ha='center', va='center',
                    color='w' if a[i, j] < 0.5 * bound else 'k',
                    fontsize=9)
    name = 'gradient cosine' if affinity_type == 'cosine' else \
        'look-ahead, row i steps, column j measured'
    ax.set_title(f'task affinity ({name})\n' + '; '.join(
        f'{g}: {", ".join(ts)}' for g, ts in groups.items()), fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    with atomic_open(path, 'wb') as f:
        fig.savefig(f, format='png', dpi=120)
    plt.close(fig)


def run(config: str, warmup_iters: int, out: str,
        num_groups: Optional[int] = None, cfg_options: Optional[dict] = None,
        device: Optional[str] = None, seed: int = 0,
        affinity: str = 'cosine',
        lookahead_lr: Optional[float] = None) -> dict:
    from mmmae.engine.task_grouping import group_tasks, partition_score
    from mmmae.utils import register_all_modules
    from mmmae.utils.atomic_io import atomic_write_text
    register_all_modules()
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    result = measure_task_affinity(cfg, warmup_iters, device, seed,
                                   affinity, lookahead_lr)
    groups = group_tasks(result['affinity'], result['tasks'], num_groups)
    blocks = [[result['tasks'].index(t) for t in ts]
              for ts in groups.values()]
    result.update(config=config, groups=groups, num_groups=len(groups),
                  score=partition_score(result['affinity'], blocks))
    atomic_write_text(out, json.dumps(result, indent=2))
    draw_affinity(result['affinity'], result['tasks'], groups,
                  osp.splitext(out)[0] + '.png', affinity)
    return result


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--warmup-iters', type=int, default=100)
    parser.add_argument('--out', required=True, help='output JSON path')
    parser.add_argument('--num-groups', type=int, default=None,
                        help='exact number of groups (default: chosen by '
                        'the grouping score)')
    parser.add_argument('--affinity', choices=AFFINITY_TYPES,
                        default='cosine',
                        help='cosine: gradient cosine similarity; lookahead: '
                        'TAG inter-task affinity (Fifty et al., 2021)')
    parser.add_argument('--lookahead-lr', type=float, default=None,
                        help='look-ahead SGD step size (default: the '
                        "optimizer's lr)")
    parser.add_argument('--device', default=None)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def main():
    args = parse_args()
    result = run(args.config, args.warmup_iters, args.out, args.num_groups,
                 args.cfg_options, args.device, args.seed, args.affinity,
                 args.lookahead_lr)
    print(f'groups: {dict(result["groups"])}')
    print(f'wrote {args.out} and {osp.splitext(args.out)[0]}.png')


if __name__ == '__main__':
    main()
