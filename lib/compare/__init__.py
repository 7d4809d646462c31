"""Base vs fine-tuned, RAG off vs on: the 2x2 grid of answers, batch runs over many questions
in the background, their results as versioned records, and the style scorecard that measures
behaviour (format, tone, facts)."""
