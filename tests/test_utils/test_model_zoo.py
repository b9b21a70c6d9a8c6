"""Model zoo: metafiles, and weights by name or URL from a local HTTP server
(127.0.0.1 only) through download, sha256 check, conversion and the safe
loader; a downloaded checkpoint still gets the model identity and delta
checks."""
import functools
import glob
import hashlib
import http.server
import os
import os.path as osp
import re
import threading

import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.runner import CheckpointLoader

from mmmae.apis import init_model
from mmmae.models.pretrainers import convert_multimae
from mmmae.registry import MODELS
from mmmae.utils import model_zoo
from mmmae.utils.checkpoint import register_safe_checkpoint_loader
from mmmae.utils.delta_checkpoint import (base_record, make_delta,
                                          write_frozen_base)
from mmmae.utils.model_identity import (IDENTITY_KEY,
                                        WrongModelCheckpointError,
                                        model_identity)
from mmmae.utils.model_zoo import (CheckpointDownloadError,
                                   ChecksumMismatchError, UnknownModelError,
                                   ZooModel)
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def converter_tests(load_tool):
    # The tiny reference-format checkpoint the converter tests build.
    return load_tool('tests/test_tools/test_model_converters.py',
                     '_mc_fixtures')


# --------------------------------------------------------------- metafiles
def _index():
    with open(osp.join(ROOT, 'model-index.yml')) as f:
        return yaml.safe_load(f)


def test_model_index_lists_every_metafile():
    listed = sorted(_index()['Import'])
    found = sorted(osp.relpath(p, ROOT) for p in glob.glob(
        osp.join(ROOT, 'configs', '*', 'metafile.yml')))
    assert listed == found
    for folder in ('multimae', 'prompt', 'mmap'):
        assert f'configs/{folder}/metafile.yml' in listed
        assert osp.isfile(osp.join(ROOT, 'configs', folder, 'README.md'))


def test_metafiles_are_consistent():
    names = []
    for rel in _index()['Import']:
        with open(osp.join(ROOT, rel)) as f:
            meta = yaml.safe_load(f)
        collections = {c['Name'] for c in meta['Collections']}
        for c in meta['Collections']:
            assert osp.isfile(osp.join(ROOT, c['README'])), (rel, c['Name'])
        for m in meta['Models']:
            names.append(m['Name'])
            assert m['In Collection'] in collections, (rel, m['Name'])
            assert osp.isfile(osp.join(ROOT, m['Config'])), (rel, m)
            if m.get('Weights'):
                assert m['Weights'].startswith('https://'), m['Name']
                sha = str(m['Metadata']['Sha256'])
                assert sha == 'unknown' or re.fullmatch(r'[0-9a-f]{64}', sha)
                assert m['Metadata']['License'], m['Name']
    dup = sorted({n for n in names if names.count(n) > 1})
    assert not dup, f'model names used twice: {dup}'


def test_official_multimae_weights_are_in_the_zoo():
    zoo = model_zoo.load_model_zoo()
    multivit = zoo['multimae-b_rgb-depth-semseg_1600e_multivit']
    assert multivit.weights.endswith(
        'multimae-b_98_rgb+-depth-semseg_1600e_multivit-afff3f8c.pth')
    assert model_zoo.hash_suffix(multivit.weights) == 'afff3f8c'
    assert multivit.license == 'CC BY-NC 4.0'
    assert 'multimae-b_rgb-depth-semseg_1600e_timm' in zoo


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(UnknownModelError,
                       match='unknown model name "vit-huge".*knows: '
                       'multimae-b_rgb-depth-semseg_1600e_multivit'):
        model_zoo.resolve_checkpoint('vit-huge')
    # A missing *path* is left for the loader to name.
    assert model_zoo.resolve_checkpoint('no/such.pth') == 'no/such.pth'


# ------------------------------------------------------------- downloads
class _Quiet(http.server.SimpleHTTPRequestHandler):

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """(served folder, base URL) of an HTTP server on 127.0.0.1."""
    served = tmp_path / 'served'
    served.mkdir()
    handler = functools.partial(_Quiet, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, f'http://127.0.0.1:{httpd.server_address[1]}'
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def cache(tmp_path):
    """A fresh torch.hub dir, so downloads go to tmp_path/hub/checkpoints."""
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / 'hub'))
    register_safe_checkpoint_loader()
    yield tmp_path / 'hub' / 'checkpoints'
    torch.hub.set_dir(old)


def _sha(path):
    return hashlib.sha256(open(path, 'rb').read()).hexdigest()


def _serve(served, name, obj):
    """Save ``obj`` as ``name``; a ``{h}`` in the name becomes the file's
    sha256 prefix (torch.hub convention). Returns (file name, sha256)."""
    tmp = served / 'tmp.pth'
    torch.save(obj, str(tmp))
    sha = _sha(tmp)
    final = name.format(h=sha[:8])
    os.replace(tmp, served / final)
    return final, sha


@pytest.fixture(scope='module')
def official(converter_tests):
    torch.manual_seed(0)
    return converter_tests.official_multimae()


def test_url_downloads_checks_converts_and_loads(server, cache, official,
                                                 converter_tests):
    served, base = server
    name, sha = _serve(served, 'tiny_multivit-{h}.pth', dict(model=official))
    url = f'{base}/{name}'
    model = converter_tests.mmmae_multimae()
    model.init_cfg = dict(type='Pretrained', checkpoint=url)
    model.init_weights()
    assert torch.equal(model.backbone.blocks[1].attn.qkv.weight,
                       official['encoder.1.attn.qkv.weight'])
    own = model.state_dict()
    for key, value in convert_multimae(official).items():
        assert torch.equal(own[key], value), key
    # Cached: the download, its first-seen digest and the converted copy.
    assert (cache / name).read_bytes() == (served / name).read_bytes()
    assert (cache / (name + '.sha256')).read_text().strip() == sha
    converted = cache / name.replace('.pth', '_mmmae.pth')
    assert converted.is_file()
    meta = torch.load(str(converted), weights_only=True)['meta']
    assert meta['sha256'] == sha and meta['source'] == url
    # A second load uses the cache: the server may be gone.
    (served / name).unlink()
    ckpt = CheckpointLoader.load_checkpoint(url)
    assert 'backbone.global_tokens' in ckpt['state_dict']


def test_model_name_resolves_through_the_zoo(server, cache, official,
                                             monkeypatch, converter_tests):
    served, base = server
    name, sha = _serve(served, 'zoo_model.pth', dict(model=official))
    zoo = {'tiny-multimae': ZooModel('tiny-multimae', 'x.py',
                                     f'{base}/{name}', sha256=sha)}
    monkeypatch.setattr(model_zoo, 'load_model_zoo', lambda root=None: zoo)
    model = converter_tests.mmmae_multimae()
    model.init_cfg = dict(type='Pretrained', checkpoint='tiny-multimae')
    model.init_weights()
    assert torch.equal(model.backbone.global_tokens,
                       official['global_tokens'])


def _no_partial_files(cache):
    left = [p for p in os.listdir(cache)] if cache.exists() else []
    assert left == [], f'left in the cache: {left}'


def test_hash_prefix_mismatch_deletes_and_names_both(server, cache,
                                                     official):
    served, base = server
    name, sha = _serve(served, 'tiny-00000000.pth', dict(model=official))
    with pytest.raises(ChecksumMismatchError) as info:
        CheckpointLoader.load_checkpoint(f'{base}/{name}')
    assert '00000000' in str(info.value) and sha in str(info.value)
    _no_partial_files(cache)


def test_pinned_sha256_mismatch_deletes_and_names_both(server, cache,
                                                       official):
    served, base = server
    name, sha = _serve(served, 'tiny.pth', dict(model=official))
    wrong = 'ab' * 32
    with pytest.raises(ChecksumMismatchError,
                       match=f'expected {wrong}.*got {sha}'):
        model_zoo.resolve_checkpoint(f'{base}/{name}#sha256={wrong}')
    _no_partial_files(cache)
    # The right pin passes.
    path = model_zoo.resolve_checkpoint(f'{base}/{name}#sha256={sha}')
    assert osp.isfile(path)


def test_cached_file_that_changed_is_refused(server, cache, official):
    served, base = server
    name, _ = _serve(served, 'tiny.pth', dict(model=official))
    model_zoo.download(f'{base}/{name}')
    with open(cache / name, 'ab') as f:
        f.write(b'tampered')
    with pytest.raises(ChecksumMismatchError,
                       match='recorded at the first download.*was deleted'):
        model_zoo.download(f'{base}/{name}')
    assert not (cache / name).exists()


def test_no_network_names_url_and_manual_command(cache):
    # A port nothing listens on: connection refused, as offline.
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    url = f'http://127.0.0.1:{port}/multimae-b-afff3f8c.pth'
    with pytest.raises(CheckpointDownloadError) as info:
        model_zoo.resolve_checkpoint(url)
    msg = str(info.value)
    assert url in msg and 'tools/model_converters/multimae2mmmae.py' in msg
    assert 'wget' in msg
    _no_partial_files(cache)


def test_unsafe_download_fails_safely(server, cache):
    served, base = server
    # Official training checkpoints store their argparse.Namespace: not
    # in the allowlist, so it is refused (the opt-in is named).
    import argparse
    name, _ = _serve(served, 'evil.pth',
                     dict(model={}, args=argparse.Namespace(lr=1)))
    from mmmae.utils.checkpoint import UnsafeCheckpointError
    url = f'{base}/{name}'
    with pytest.raises(UnsafeCheckpointError,
                       match=f'{name}.*Namespace.*MMMAE_TRUSTED'):
        CheckpointLoader.load_checkpoint(url)
    # Trusting the URL is the opt-in for that one file.
    from mmmae.utils.checkpoint import _TRUSTED, trust_checkpoint
    trust_checkpoint(url)
    try:
        assert 'args' in CheckpointLoader.load_checkpoint(url)
    finally:
        _TRUSTED.discard(url)


# ------------------------------------- identity and delta checks via a URL
def _seg_cfg(prompt_length=2, frozen=True, init_cfg=None):
    backbone = dict(type='MultiViT', arch='tiny', out_indices=(0, 1),
                    frozen=frozen, init_cfg=init_cfg,
                    prompt=dict(type='DeepPrompt', length=prompt_length)
                    if prompt_length else None)
    return dict(type='MultiTaskSegmentor', backbone=backbone,
                decode_heads=dict(depth=dict(
                    type='MultiMAEDPTHead', embed_dims=32, in_index=(0, 0, 1, 1),
                    channels=8, post_process_channels=(8, 8, 8, 8),
                    head_channels=(8, 4))))


def _full(model):
    return dict(state_dict=model.state_dict(),
                meta={IDENTITY_KEY: model_identity(model)})


def test_url_checkpoint_keeps_the_model_identity_check(server, cache):
    served, base = server
    torch.manual_seed(0)
    ft = MODELS.build(_seg_cfg(prompt_length=0, frozen=False))
    name, _ = _serve(served, 'ft.pth', _full(ft))
    url = f'{base}/{name}'
    prompt_cfg = Config(dict(model=_seg_cfg(), default_scope='mmmae'))
    with pytest.raises(WrongModelCheckpointError,
                       match='is a checkpoint of another model'):
        init_model(prompt_cfg, url)
    ft_cfg = Config(dict(model=_seg_cfg(prompt_length=0, frozen=False),
                         default_scope='mmmae'))
    model = init_model(ft_cfg, url)
    assert torch.equal(model.backbone.global_tokens,
                       ft.backbone.global_tokens)


def test_init_model_by_zoo_name(server, cache, monkeypatch):
    served, base = server
    torch.manual_seed(2)
    ft = MODELS.build(_seg_cfg(prompt_length=0, frozen=False))
    name, sha = _serve(served, 'ft-{h}.pth', _full(ft))
    zoo = {'tiny-ft': ZooModel('tiny-ft', 'x.py', f'{base}/{name}')}
    monkeypatch.setattr(model_zoo, 'load_model_zoo', lambda root=None: zoo)
    ft_cfg = Config(dict(model=_seg_cfg(prompt_length=0, frozen=False),
                         default_scope='mmmae'))
    model = init_model(ft_cfg, 'tiny-ft')
    assert torch.equal(model.backbone.global_tokens,
                       ft.backbone.global_tokens)
    with pytest.raises(UnknownModelError, match='knows: tiny-ft'):
        init_model(ft_cfg, 'tiny-fx')


def test_url_delta_checkpoint_loads_its_base(server, cache, tmp_path):
    served, base = server
    torch.manual_seed(0)
    cfg = _seg_cfg()
    model = MODELS.build(cfg)
    sources = write_frozen_base(model, str(tmp_path / 'work'))
    delta = make_delta(_full(model), model, base_record(model, sources))
    name, _ = _serve(served, 'delta.pth', delta)
    loaded = init_model(Config(dict(model=cfg, default_scope='mmmae')),
                        f'{base}/{name}')
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_delta_with_a_zoo_named_base(server, cache, tmp_path, monkeypatch):
    """The base is a zoo name in init_cfg: the delta records the name and
    loading fetches it again, checked by the frozen-weight fingerprint."""
    served, base = server
    torch.manual_seed(1)
    pre = MODELS.build(_seg_cfg(prompt_length=0, frozen=False))
    name, sha = _serve(served, 'pre.pth',
                       dict(state_dict=pre.state_dict()))
    zoo = {'tiny-seg': ZooModel('tiny-seg', 'x.py', f'{base}/{name}',
                                sha256=sha)}
    monkeypatch.setattr(model_zoo, 'load_model_zoo', lambda root=None: zoo)
    cfg = _seg_cfg(init_cfg=dict(type='Pretrained', checkpoint='tiny-seg',
                                 prefix='backbone.'))
    model = MODELS.build(cfg)
    model.init_weights()
    assert torch.equal(model.backbone.global_tokens,
                       pre.backbone.global_tokens)
    from mmmae.utils.delta_checkpoint import pretrained_sources
    record = base_record(model, pretrained_sources(model))
    delta = make_delta(_full(model), model, record)
    dname, _ = _serve(served, 'delta_zoo.pth', delta)
    loaded = init_model(Config(dict(model=cfg, default_scope='mmmae')),
                        f'{base}/{dname}')
    assert torch.equal(loaded.backbone.global_tokens,
                       pre.backbone.global_tokens)
