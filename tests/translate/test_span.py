"""Answer-span projection on constructed cases: marks survive, move, get lost, overlap."""

from __future__ import annotations

from nativeval.translate.span import Span, locate, mark, plan_copies, project, recover


def test_marked_span_is_recovered_at_its_new_place():
    context = "Moscow was founded in 1147 by Yuri Dolgoruky."
    span = locate(context, "Yuri Dolgoruky", 30)
    marked, numbers = mark(context, [span])
    assert marked == "Moscow was founded in 1147 by ⟪0⟫Yuri Dolgoruky⟪/0⟫."
    # a translator that reorders the sentence, moving the marked answer to the front
    translation = "⟪0⟫ Юрий Долгорукий ⟪/0⟫ основал Москву в 1147 году."
    text, recovered = project(translation, numbers, {span: "Yuri Dolgoruky"})
    assert text == " Юрий Долгорукий  основал Москву в 1147 году."
    assert text[recovered[span].start :].startswith("Юрий Долгорукий")
    assert recovered[span].text == "Юрий Долгорукий" and recovered[span].method == "marks"


def test_lost_swapped_or_doubled_marks_are_not_recovered():
    for broken in (
        "Юрий Долгорукий основал Москву.",  # marks dropped
        "⟪/0⟫Юрий Долгорукий⟪0⟫ основал Москву.",  # swapped
        "⟪0⟫Юрий⟪/0⟫ ⟪0⟫Долгорукий⟪/0⟫ основал Москву.",  # doubled
        "⟪0⟫ ⟪/0⟫Юрий Долгорукий основал Москву.",
    ):  # nothing between
        _, spans = recover(broken, 1)
        assert spans == {}, broken


def test_an_answer_copied_verbatim_is_found_when_its_marks_are_lost():
    context = "Pushkin was born in 1799 in Moscow."
    span = locate(context, "1799", None)
    _, numbers = mark(context, [span])
    text, recovered = project("Пушкин родился в 1799 году в Москве.", numbers, {span: "1799"})
    assert recovered[span].method == "verbatim" and text[recovered[span].start :].startswith("1799")
    # ... but not when it occurs twice: that would be a guess
    _, none = project("1799: Пушкин родился в 1799 году.", numbers, {span: "1799"})
    assert none == {}


def test_locate_prefers_the_given_offset_and_refuses_an_ambiguous_guess():
    context = "a b a b"
    assert locate(context, "a", 4) == Span(4, 5)
    assert locate(context, "a", 99) is None  # wrong offset and two occurrences
    assert locate(context, "b a", 1) == Span(2, 5)  # offset off by one, text found once
    assert locate(context, "zzz", 0) is None


def test_overlapping_answers_go_to_separate_copies_equal_ones_share_a_mark():
    # three questions on one passage: two share an answer, one answer overlaps theirs
    same, overlapping, elsewhere = Span(0, 10), Span(5, 15), Span(20, 25)
    assignment = plan_copies([[same], [same], [overlapping], [elsewhere]])
    assert assignment == [0, 0, 1, 0]
    marked, numbers = mark("x" * 30, [same, elsewhere])
    assert marked.count("⟪") == 4 and set(numbers) == {same, elsewhere}
