"""The Compare page's saved-batch drill-down (AppTest): paired tests and one question's cells."""

from __future__ import annotations

from lib.compare.results import save_results
from lib.generation.local_server import get_local_server
from tests.test_compare_paired import batch
from tests.test_page_compare import open_compare


def test_saved_batch_drills_down_to_cells_with_tests(sample_data_dir):
    save_results(sample_data_dir, batch())
    try:
        at = open_compare()
        tests = next(d.value for d in at.dataframe if "test" in d.value.columns)
        assert len(tests) == 12  # six cell pairs, McNemar and style share each
        assert tests["result"].str.contains("McNemar p").sum() == 6
        # by default only questions where the cells disagree on the fact
        assert len(at.selectbox(key="cmp_drill_q").options) == len(batch().questions)
        at.selectbox(key="cmp_drill_q").set_value("q7").run()
        assert not at.exception
        text = "\n".join(m.value for m in at.markdown)
        assert "answer 7" in text
        assert any("Sources: [1] fees.pdf, page 3" in c.value for c in at.caption)
    finally:
        get_local_server(sample_data_dir).stop()
