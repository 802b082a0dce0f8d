"""The fitted choice combiner (app/core/choice_fit.py): its file names data, command and model; the per-option checks
can overturn a one-sided rubric reading; another model keeps the fixed rule."""
from __future__ import annotations

import pytest

from app.core import choice_fit
from app.core.policy import combine_choice


def test_the_fit_file_names_its_data_command_and_model() -> None:
    fit = choice_fit.fitted()
    assert fit["command"].startswith("python -m app.fit_choice") and "--split dev" in fit["command"]
    assert fit["model_file"] == "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    assert set(fit["weights"]) == {"none", *choice_fit.FEATURES}
    assert fit["weights"]["check"] > 0 and fit["weights"]["ev_share"] > 0 and fit["weights"]["log_letter"] > 0
    assert len(fit["rows"]) > 200 and all(r["question"] and r["checks"] for r in fit["rows"])


def test_a_clear_check_overturns_a_one_sided_rubric_reading() -> None:
    evidence = {"a": 3.0, "b": 0.0}
    letters = {"a": 0.5, "b": 0.3, "none": 0.2}
    probs = choice_fit.fitted_choice(evidence, letters, {"a": 0.05, "b": 0.97})
    assert max(probs, key=probs.get) == "b" and sum(probs.values()) == pytest.approx(1.0)
    assert combine_choice("a", 1.0, probs, [], fitted=True) == ("b", probs["b"])
    # the fixed rule lets the one-sided rubric stand against the same letters
    assert combine_choice("a", 1.0, letters, [])[0] == "a"
    # with checks that agree with the rubric, the rubric's pick stands
    agree = choice_fit.fitted_choice(evidence, letters, {"a": 0.9, "b": 0.1})
    assert max(agree, key=agree.get) == "a"


def test_another_model_is_not_read_through_the_fit() -> None:
    assert choice_fit.fitted_with("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
    assert not choice_fit.fitted_with("SmolLM2-135M-Instruct.Q4_1.gguf")


def test_checks_are_skipped_only_where_one_sided_names_and_the_letters_agree() -> None:
    from app.core.policy import names_and_letters_agree
    letters = {"a": 0.6, "b": 0.3, "none": 0.1}
    assert names_and_letters_agree("a", 1.0, letters)
    assert not names_and_letters_agree("b", 1.0, letters)  # the letters pick another option
    assert not names_and_letters_agree("a", 0.7, letters)  # the names are not one-sided enough
    assert not names_and_letters_agree("none", 1.0, {"none": 0.9, "a": 0.1})
