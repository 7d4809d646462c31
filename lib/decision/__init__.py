"""The decision guide: RAG, fine-tuning or both, from a team's answers and what the app measured.

`records` holds the evidence types (plain frozen data), `evidence` fills them from the data
dir (each missing piece becomes a next step naming its page), `logic` is the pure rule set
(answers + evidence -> recommendation), `cost` the prompt-cost calculator, `answers` and
`walkthrough` keep the guide's answers and the home page's progress facts on disk, and
`report` renders the stakeholder report (HTML with inline SVG `charts`, and Markdown).
"""
