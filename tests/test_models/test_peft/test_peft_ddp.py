"""Two gloo ranks train a frozen MultiViT with a PEFT method under DDP: the
ranks stay in sync, the method's parameters move, the frozen ones do not."""
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

METHODS = {
    'LoRA': dict(type='LoRA', rank=2),
    'MTLoRA': dict(type='MTLoRA', tasks=('a', 'b'), rank=2, task_rank=1),
}


class _TwoTaskLoss(torch.nn.Module):
    """Backbone plus a loss on both tasks' maps (what DDP wraps)."""

    def __init__(self, peft):
        super().__init__()
        from mmmae.models.backbones import MultiViT
        self.backbone = MultiViT(arch='tiny', patch_size=8, img_size=32,
                                 out_indices=(0, 1), frozen=True, peft=peft)

    def forward(self, inputs):
        feats = self.backbone.forward_features(inputs, tasks=('a', 'b'))
        loss = 0.
        for task in ('a', 'b'):
            maps = self.backbone.tokens_to_maps(feats['tokens'],
                                                feats['layout'], task)
            loss = loss + sum(m.square().mean() for m in maps)
        return loss


def _worker(rank, port, method, out):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=2)
    torch.manual_seed(0)  # same start on both ranks
    model = _TwoTaskLoss(METHODS[method])
    with torch.no_grad():  # B != 0, so A gets gradients at step 1
        for p in model.backbone.peft.parameters():
            if p.dim() == 2 and not p.any():
                p.normal_(0, 0.05)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    ddp = DistributedDataParallel(model)
    opt = torch.optim.SGD(
        [p for p in ddp.parameters() if p.requires_grad], lr=0.1)
    g = torch.Generator().manual_seed(rank)  # different data per rank
    for _ in range(2):
        inputs = dict(rgb=torch.randn(2, 3, 32, 32, generator=g),
                      depth=torch.randn(2, 1, 32, 32, generator=g))
        opt.zero_grad()
        ddp(inputs).backward()
        opt.step()
    torch.save(dict(start=start, end=model.state_dict(),
                    trainable=[n for n, p in model.named_parameters()
                               if p.requires_grad]),
               os.path.join(out, f'rank{rank}.pth'))
    # Both ranks tear gloo down together: a rank whose peer has already
    # exited can abort in teardown ("terminate called without an active
    # exception", seen under load).
    dist.barrier()
    dist.destroy_process_group()


@pytest.mark.slow
@pytest.mark.parametrize('method', sorted(METHODS))
def test_ddp_keeps_ranks_in_sync(method, tmp_path):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    mp.spawn(_worker, args=(port, method, str(tmp_path)), nprocs=2)
    r0, r1 = (torch.load(tmp_path / f'rank{r}.pth') for r in (0, 1))
    for key, value in r0['end'].items():
        assert torch.equal(value, r1['end'][key]), key
    trainable = set(r0['trainable'])
    moved = {k for k, v in r0['end'].items()
             if not torch.equal(v, r0['start'][k])}
    assert moved and moved <= trainable
    assert any(k.startswith('backbone.peft.') for k in moved)
    assert 'backbone.blocks.0.attn.qkv.weight' not in moved
