# Adds TensorBoard beside the local files (scalars.json, pictures): list
# this file in a leaf's _base_. Event files go to <work_dir>/<timestamp>/
# vis_data/; view them with `tensorboard --logdir work_dirs`.
# Needs `pip install tensorboard` (requirements/optional.txt).
#
# One distinct key per tracker, so snippets combine; a leaf switches this
# one off with `tensorboard_vis_backend = None` (see docs/visualization.md,
# "Experiment tracking"; mmmae.utils.vis_backends folds these keys into
# visualizer.vis_backends when the Runner is built).
tensorboard_vis_backend = dict(type='TensorboardVisBackend')
