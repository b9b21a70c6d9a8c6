# Adds Weights & Biases beside the local files: list this file in a leaf's
# _base_. Needs `pip install wandb` and `wandb login`; with WANDB_MODE=offline
# the run is kept under <work_dir>/<timestamp>/vis_data/wandb/ for a later
# `wandb sync`. Set the project in the leaf:
#   wandb_vis_backend = dict(init_kwargs=dict(project='my-project'))
#
# One distinct key per tracker, so snippets combine; `wandb_vis_backend =
# None` switches it off (docs/visualization.md, "Experiment tracking").
wandb_vis_backend = dict(
    type='WandbVisBackend', init_kwargs=dict(project='mmmae'))
