"""Fine-tuning: datasets, style scorecard, local LoRA training, OpenAI jobs, model records.

Nothing here imports torch/transformers/peft at module level: the app runs without the
training extra (`make train-deps`), and only `lora.py` / `gguf_export.py` need it.
"""
