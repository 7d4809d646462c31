"""The grounding check's on-screen text (pure helpers of ui/grounding.py)."""

from __future__ import annotations

from lib.types import Figure, Grounding
from ui.grounding import figure_note, summary


def test_each_figure_says_where_it_was_found():
    assert figure_note(Figure("£12.99", "money", (1, 3), True)) == "`£12.99` ✓ \\[1\\], \\[3\\]"
    assert "only in \\[3\\], not cited" in figure_note(Figure("£14.99", "money", (3,), False))
    assert "not in any source" in figure_note(Figure("£13", "money", (), False))


def test_summary_warns_only_when_a_figure_is_unsupported():
    ok = Grounding((Figure("£12.99", "money", (1,), True),), (1,))
    bad = Grounding((*ok.figures, Figure("£13", "money", (), False)), (1,))
    assert summary(ok).startswith("🔎") and "one figure" in summary(ok)
    assert summary(bad).startswith("⚠️") and "1 of 2" in summary(bad)
    assert "no figures" in summary(Grounding((), (1,)))


def test_summary_says_what_the_post_check_did():
    g = Grounding((Figure("£12", "money", (1,), True),), (1,), action="retried")
    assert "asked again" in summary(g) and summary(g).startswith("🔎")
    assert "quoted" in summary(Grounding((), (1,), action="quoted"))


def test_after_a_repair_the_summary_names_the_check_the_first_answer_failed():
    why = "it gave a figure the cited sources do not hold"
    text = summary(Grounding((Figure("£12", "money", (1,), True),), (1,), action="quoted",
                             repaired=why))
    assert "quoted" in text and "do not hold" in text
    assert "meaning of the code" not in text  # not every reason a check can have


def test_the_grid_scorecard_shows_each_cells_grounding_check():
    from lib.compare.grid import CellResult
    from ui.scorecard import grounding_mark

    ok = Grounding((Figure("£12.99", "money", (1,), True),), (1,))
    bad = Grounding((*ok.figures, Figure("£13.49", "money", (), False)), (1,))
    assert grounding_mark(CellResult("a", "A", grounding=ok)).startswith("✅ 1 checked")
    assert grounding_mark(CellResult("b", "B", grounding=bad)) == "❌ not found: £13.49"
    assert grounding_mark(CellResult("c", "C")) == grounding_mark(CellResult("d", "D",
                                                                  grounding=Grounding((), (1,))))


def test_a_figure_from_another_line_says_what_that_line_gives():
    fig = Figure("120", "number", (1,), True, better='[1] gives 30 for "payment initiation"')
    note = figure_note(fig)
    assert "⚠️" in note and "30" in note
    g = Grounding((fig,), (1,))
    assert not g.passed and "answers something else" in summary(g)


def test_a_missed_meaning_or_figure_is_a_warning_with_its_reason():
    meaning = Grounding((Figure("ERR-5002", "id", (1,), True),), (1,),
                        missing="the answer does not say what [1] gives as the meaning of ERR-5002")
    assert summary(meaning).startswith("⚠️") and "meaning of ERR-5002" in summary(meaning)
    assert "though the sources hold one" not in summary(meaning)  # that is a figure's reason
    figure = Grounding((), (1,), missing="the question asks for a figure and the answer gives "
                                         "none, though the sources hold one")
    assert summary(figure).startswith("⚠️") and "though the sources hold one" in summary(figure)
    from lib.compare.grid import CellResult
    from ui.scorecard import grounding_mark

    assert grounding_mark(CellResult("m", "M", grounding=meaning)) == "❌ meaning not given"
    assert grounding_mark(CellResult("f", "F", grounding=figure)) == "❌ no figure given"


def test_a_yes_past_a_limit_is_a_warning_and_a_scorecard_mark():
    from lib.compare.grid import CellResult
    from lib.generation.conditions import Broken, condition_reason
    from lib.generation.lines import Line
    from ui.scorecard import grounding_mark
    why = condition_reason(Broken("72", "aged 70 or under", Line(2, "... aged 70 or under", "", ())))
    g = Grounding((), (2,), missing=why)
    assert summary(g).startswith("⚠️") and "aged 70 or under" in summary(g)
    assert grounding_mark(CellResult("m", "M", grounding=g)) == "❌ limit ignored"
