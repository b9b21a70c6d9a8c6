# OpenAI CLIP ViT-B/16 as a frozen two-tower classifier (MmAP and its
# baselines). A leaf sets tasks, class_names and the prompt learner.
# Weights: convert OpenAI's ViT-B-16.pt once (no download happens):
#   python tools/model_converters/clip2mmmae.py ViT-B-16.pt \
#       checkpoints/clip_vit-b16_openai.pth
# OpenAI's weights were trained with QuickGELU. For an open_clip GELU
# checkpoint (converted with --act gelu) set act='gelu' on both towers;
# loading a checkpoint converted for the other activation is an error.
model = dict(
    type='MultiTaskCLIPClassifier',
    tasks=None,
    class_names=None,
    vision_encoder=dict(
        type='CLIPVisionTransformer', arch='b16', act='quick_gelu'),
    text_encoder=dict(type='CLIPTextTransformer', arch='b', act='quick_gelu'),
    tokenizer=dict(type='CLIPTokenizer', context_length=77),
    frozen=True,
    # OpenAI CLIP's pixel mean / std on the 0-255 scale.
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor',
        mean=[122.770938, 116.7460125, 104.09373615],
        std=[68.5005327, 66.6321579, 70.32316305],
        to_rgb=True),
    init_cfg=dict(
        type='Pretrained', checkpoint='checkpoints/clip_vit-b16_openai.pth'))
