"""The decision guide: RAG, fine-tuning or both, from a team's answers and what the app measured.

`logic` is the pure rule set (answers + evidence -> recommendation), `evidence` reads the
measured figures from the data dir, `cost` is the prompt-cost calculator, `answers` and
`walkthrough` keep the guide's answers and the home page's progress facts on disk, and
`report` renders the stakeholder report (HTML with inline SVG charts, and Markdown).
"""
