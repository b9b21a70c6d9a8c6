import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmmae component so that it lands in the registries.

    Args:
        init_default_scope (bool): Also make ``'mmmae'`` the default scope,
            so that an unprefixed ``type`` resolves in mmmae first and then
            in mmengine's root registries. Defaults to True.
    """
    import mmmae.apis  # noqa: F401
    import mmmae.datasets  # noqa: F401
    import mmmae.engine  # noqa: F401
    import mmmae.evaluation  # noqa: F401
    import mmmae.models  # noqa: F401
    import mmmae.visualization  # noqa: F401
    from .atomic_backend import install_atomic_local_backend
    from .checkpoint import register_safe_checkpoint_loader
    register_safe_checkpoint_loader()
    # Checkpoints and other mmengine file writes: temp file, fsync, rename.
    install_atomic_local_backend()

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None:
        DefaultScope.get_instance('mmmae', scope_name='mmmae')
    elif current.scope_name != 'mmmae':
        warnings.warn(f'The current default scope "{current.scope_name}" is '
                      'not "mmmae"; register_all_modules forces it to '
                      '"mmmae" for this process.')
        # DefaultScope instances need unique names.
        stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S%f')
        DefaultScope.get_instance(f'mmmae-{stamp}', scope_name='mmmae')
