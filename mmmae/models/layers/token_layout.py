"""Where each kind of token sits in the encoder sequence."""
from dataclasses import dataclass, field, replace
from typing import Dict, Tuple


@dataclass(frozen=True)
class TokenLayout:
    """Slices of one token sequence: ``[prompts..., modality tokens..., global]``.

    Prompt tokens always come first, in the order of ``prompts``; modality
    tokens follow in the order of ``modalities``; the global token(s) close the
    sequence. Heads, prompts and losses read their slices from here and never
    use literal offsets.

    Attributes:
        modalities (dict): modality name -> slice of its patch tokens.
        grids (dict): modality name -> (h, w) token grid.
        prompts (dict): prompt group name -> slice of its tokens.
        num_global (int): Number of global tokens at the end.
    """
    modalities: Dict[str, slice] = field(default_factory=dict)
    grids: Dict[str, Tuple[int, int]] = field(default_factory=dict)
    prompts: Dict[str, slice] = field(default_factory=dict)
    num_global: int = 1

    @classmethod
    def build(cls, grids: Dict[str, Tuple[int, int]],
              num_global: int = 1) -> 'TokenLayout':
        """Layout of modality tokens (in dict order) then global tokens."""
        modalities, start = {}, 0
        for name, (h, w) in grids.items():
            modalities[name] = slice(start, start + h * w)
            start += h * w
        return cls(modalities, dict(grids), {}, num_global)

    @property
    def num_prompt(self) -> int:
        return sum(s.stop - s.start for s in self.prompts.values())

    @property
    def num_patch(self) -> int:
        return sum(s.stop - s.start for s in self.modalities.values())

    @property
    def num_tokens(self) -> int:
        return self.num_prompt + self.num_patch + self.num_global

    @property
    def patch_slice(self) -> slice:
        return slice(self.num_prompt, self.num_prompt + self.num_patch)

    @property
    def global_slice(self) -> slice:
        start = self.num_prompt + self.num_patch
        return slice(start, start + self.num_global)

    @property
    def prompt_slice(self) -> slice:
        return slice(0, self.num_prompt)

    def with_prompts(self, groups: Dict[str, int]) -> 'TokenLayout':
        """The layout after the prompt prefix is replaced by ``groups``.

        Args:
            groups (dict): prompt group name -> number of tokens, in order.
        """
        old, new = self.num_prompt, sum(groups.values())
        prompts, start = {}, 0
        for name, n in groups.items():
            prompts[name] = slice(start, start + n)
            start += n
        shift = new - old
        modalities = {
            k: slice(s.start + shift, s.stop + shift)
            for k, s in self.modalities.items()
        }
        return replace(self, modalities=modalities, prompts=prompts)
