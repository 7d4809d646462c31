"""Fine-tuning: datasets (validation, builder from chat feedback), local LoRA training and
GGUF export, OpenAI fine-tuning jobs, and the registry of trained models.

Nothing here imports torch/transformers/peft at module level: the app runs without the
training extra (`make train-deps`), and only `lora.py` / `gguf_export.py` need it.
"""
