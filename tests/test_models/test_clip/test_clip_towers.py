"""CLIP towers, tokenizer and prompt hook points (tiny, random weights)."""
import pytest
import torch

from mmmae.models.backbones.clip import (CLIPTextTransformer, CLIPTokenizer,
                                         CLIPVisionTransformer)
from mmmae.models.prompts.base_prompt import BasePrompt


class RecordingPrompt(BasePrompt):
    """Records the block indices and sequence lengths it sees."""

    def __init__(self):
        super().__init__(embed_dims=48, num_layers=2, patch_size=8)
        self.seen = []
        self.tokens = torch.nn.Parameter(torch.zeros(3, 48))

    def before_block(self, index, x, layout, ctx):
        self.seen.append((index, x.shape[1], layout.num_prompt))
        if index == 0:
            return self.replace_prompts(
                x, layout, {'p': self.tokens.expand(x.shape[0], -1, -1)})
        return x, layout

    def before_text_block(self, index, x, task):
        self.seen.append(('text', index, task))
        return x


def test_vision_tower_shapes_and_sizes():
    torch.manual_seed(0)
    v = CLIPVisionTransformer('tiny').eval()
    assert v(torch.randn(2, 3, 32, 32)).shape == (2, 16)
    # another image size: positions are resized on the fly
    assert v(torch.randn(1, 3, 48, 64)).shape == (1, 16)
    with pytest.raises(ValueError, match='multiple of the patch size'):
        v(torch.randn(1, 3, 30, 32))
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        v(torch.randn(1, 1, 32, 32))


def test_vision_prompt_hook_runs_before_every_block():
    v = CLIPVisionTransformer('tiny').eval()
    prompt = RecordingPrompt()
    out = v(torch.randn(2, 3, 32, 32), prompt)
    # 16 patches + class token; 3 prompts enter before block 0
    assert prompt.seen == [(0, 17, 0), (1, 20, 3)]
    # prompts change the class token's output
    assert not torch.allclose(out, v(torch.randn(2, 3, 32, 32)))


def test_text_tower_reads_end_token_and_calls_hook():
    torch.manual_seed(0)
    t = CLIPTextTransformer('tiny').eval()
    tok = CLIPTokenizer()
    ids = tok(['a photo of a dog.', 'a cat'])
    feats = t(ids)
    assert feats.shape == (2, 16)
    # tokens after the end token cannot change the feature (causal mask)
    ids2 = ids.clone()
    eot = ids[0].argmax()
    ids2[0, eot + 1:] = 5
    assert torch.allclose(t(ids2)[0], feats[0], atol=1e-6)
    prompt = RecordingPrompt()
    t(ids, prompt, 'task_a')
    assert prompt.seen == [('text', 0, 'task_a'), ('text', 1, 'task_a')]


def test_tokenizer_offline_and_strict(monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise OSError('network access in a test')

    # The BPE vocabulary ships inside open_clip: nothing is fetched.
    monkeypatch.setattr(socket.socket, 'connect', no_network)
    tok = CLIPTokenizer(context_length=8)
    ids = tok('X X red.')
    assert ids.shape == (1, 8)
    assert ids[0, 0] == tok.sot_token_id
    assert ids[0, 1] == ids[0, 2] == tok.encode('X')[0]
    assert tok.eot_token_id in ids[0].tolist()
    assert tok.vocab_size == 49408
    with pytest.raises(ValueError, match='more than the context length 8'):
        tok('one two three four five six seven eight')


def test_loading_another_width_names_key_and_shapes():
    small = CLIPVisionTransformer('tiny')
    wide = CLIPVisionTransformer(dict(embed_dims=64, num_layers=2,
                                      num_heads=2, patch_size=8, img_size=32,
                                      out_dims=16))
    with pytest.raises(ValueError) as err:
        small.load_state_dict(wide.state_dict(), strict=False)
    msg = str(err.value)
    assert 'cls_token: checkpoint (64,) vs model (48,)' in msg
    text = CLIPTextTransformer('tiny')
    other = CLIPTextTransformer(dict(embed_dims=64, num_layers=2,
                                     num_heads=2, context_length=77,
                                     vocab_size=49408, out_dims=16))
    with pytest.raises(ValueError, match=r'pos_embed: checkpoint \(77, 64\) '
                       r'vs model \(77, 32\)'):
        text.load_state_dict(other.state_dict(), strict=False)


def test_position_table_of_another_image_size_is_resized_on_load():
    src = CLIPVisionTransformer(dict(embed_dims=48, num_layers=2,
                                     num_heads=2, patch_size=8, img_size=48,
                                     out_dims=16))
    dst = CLIPVisionTransformer('tiny')
    dst.load_state_dict(src.state_dict())
    assert dst.pos_embed.shape == (17, 48)
    assert torch.equal(dst.pos_embed[0], src.pos_embed[0])


def test_unknown_arch():
    with pytest.raises(KeyError, match='Unknown CLIP vision arch'):
        CLIPVisionTransformer('h99')


class PhrasePrompt(torch.nn.Module):
    """Writes fixed vectors after the start token at text layer 0 only."""

    def __init__(self, vectors):
        super().__init__()
        self.vectors = vectors

    def before_text_block(self, index, x, task):
        if index:
            return x
        n = self.vectors.shape[0]
        return torch.cat([x[:, :1], self.vectors.expand(x.shape[0], -1, -1),
                          x[:, 1 + n:]], dim=1)


def test_layer0_text_prompts_get_positions():
    """CoOp / MaPLe insert the context among the word embeddings and THEN
    add positions: context vectors equal to the word embeddings of "a photo
    of a" give exactly the features of the written text."""
    torch.manual_seed(0)
    t = CLIPTextTransformer('tiny').eval()
    tok = CLIPTokenizer()
    phrase = torch.tensor(tok.encode('a photo of a'))
    assert phrase.numel() == 4
    with torch.no_grad():
        prompt = PhrasePrompt(t.token_embed(phrase))
        prompted = t(tok(['X X X X dog.', 'X X X X red car.']), prompt)
        written = t(tok(['a photo of a dog.', 'a photo of a red car.']))
    assert torch.allclose(prompted, written, atol=1e-6, rtol=0)


def test_towers_record_and_check_their_activation():
    """A state dict carries its tower's activation; loading it into a
    tower of the other activation names both."""
    for cls, arch in ((CLIPVisionTransformer, 'tiny'),
                      (CLIPTextTransformer, 'tiny')):
        gelu = cls(arch, act='gelu')
        sd = gelu.state_dict()
        assert sd._metadata['']['act'] == 'gelu'
        with pytest.raises(ValueError) as err:
            cls(arch, act='quick_gelu').load_state_dict(sd)
        assert 'act="quick_gelu"' in str(err.value)
        assert 'act="gelu"' in str(err.value)
        cls(arch, act='gelu').load_state_dict(sd)  # same activation: fine
        # a state dict without the record (hand-made) loads unchecked
        cls(arch, act='quick_gelu').load_state_dict(dict(sd))
