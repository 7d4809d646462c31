"""The Chat page's memory: the transcript on disk (survives a restart) and the thumbs and
corrections users leave on answers, which become fine-tuning examples."""
