# Adds MLflow beside the local files: list this file in a leaf's _base_.
# Needs `pip install mlflow`. Without tracking_uri the run is a file store
# in <work_dir>/<timestamp>/vis_data/ (`mlflow ui --backend-store-uri
# file://<that folder>`); set a server in the leaf:
#   mlflow_vis_backend = dict(tracking_uri='http://host:5000')
#
# One distinct key per tracker, so snippets combine; `mlflow_vis_backend =
# None` switches it off (docs/visualization.md, "Experiment tracking").
mlflow_vis_backend = dict(type='MLflowVisBackend', exp_name='mmmae')
