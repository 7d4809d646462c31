"""Question words no indexed document uses: found with the real BM25 index, shown as a hint."""

from __future__ import annotations

from lib.generation.unseen import index_knows, unseen_words
from lib.retrieval.keyword import KeywordIndex


class _Index:
    """The one method unseen words need, over a real BM25 index."""

    def __init__(self, *texts: str):
        self.keyword = KeywordIndex()
        self.keyword.add([f"c{i}" for i in range(len(texts))], list(texts))

    def keyword_query(self, query: str, k: int):
        return self.keyword.search(query, k)


INDEX = _Index("Arranged overdraft interest 29.9% EAR on Orbit Everyday.",
               "The standard daily cash machine limit is £500.")


def test_a_word_no_document_uses_is_reported_once_in_question_order():
    words = unseen_words("What mortgage rate does Orbit charge on a mortgage or a loan?",
                         index_knows(INDEX))
    assert words == ("mortgage", "rate", "charge", "loan")


def test_inflected_and_stop_words_are_not_reported():
    # "limits" is stemmed like "limit"; "about", "what", "much" are not what is asked about
    assert unseen_words("How much is the daily limits about?", index_knows(INDEX)) == ()


def test_an_index_without_keyword_search_reports_nothing():
    assert unseen_words("What about mortgages?", index_knows(object())) == ()


def test_a_contraction_is_not_a_word_no_document_uses():
    # "I'm", "I've" and "don't" read as words once were: "no document uses the word i've"
    assert unseen_words("I'm told I've a daily limit, don't I?", index_knows(INDEX)) == ("told",)
