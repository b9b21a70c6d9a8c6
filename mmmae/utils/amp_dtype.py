"""The autocast dtype of AMP training: fp16 (default) or bf16.

The ``*-amp-*`` configs use mmengine's ``AmpOptimWrapper``, whose
``dtype`` picks the autocast type (None: torch's default, fp16 on CUDA).
bf16 keeps fp32's exponent range, so it needs no loss scaling to avoid
overflow; the wrapper's dynamic scaler stays harmless. ``tools/train.py
--amp-dtype`` and ``--cfg-options optim_wrapper.dtype=bfloat16`` set the
same key.
"""

AMP_DTYPES = ('float16', 'bfloat16')


def set_amp_dtype(cfg, dtype: str) -> None:
    """Set ``cfg.optim_wrapper.dtype``; the wrapper must be AMP.

    Raises:
        ValueError: an unknown dtype, or a config whose optim wrapper is not
            ``AmpOptimWrapper`` (names the config and its wrapper type).
    """
    if dtype not in AMP_DTYPES:
        raise ValueError(f'AMP dtype must be one of {AMP_DTYPES}, got '
                         f'{dtype!r}')
    wrapper = cfg.get('optim_wrapper', None)
    kind = None if wrapper is None else wrapper.get('type', 'OptimWrapper')
    if kind != 'AmpOptimWrapper':
        raise ValueError(
            f'AMP dtype {dtype}: {cfg.filename or "the config"} has '
            f'optim_wrapper.type={kind}, not AmpOptimWrapper; add --amp or '
            'use an *-amp-* config')
    wrapper.dtype = dtype
