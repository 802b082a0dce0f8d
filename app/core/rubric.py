"""Grading from the rubric alone: choice by alias matching with negation scope, key points by
overlap with their paraphrases, flags for gaming, and the documented verdict and score rule."""
from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass, field
from typing import Callable, Sequence

from app.core import grader_address, stance
from app.core.model import Point, PointResult, Question, Span
from app.core.policy import POLICY, Flag, GradingPolicy, clear_off_topic
from app.core.text import (STOPWORDS, STRONG_NEGATIONS, WORD, Sentence, containment, content_stems, is_negated,
                           is_negation, positioned_stems, sentences, words)

# (sentences, phrasings) -> matrix of similarities in [0, 1], rows = sentences; None = no embeddings
Similarity = Callable[[Sequence[str], Sequence[str]], list[list[float]]]

INJECTION = re.compile(
    r"(ignore|disregard|forget)\b[^.\n]{0,40}\b(instruction|rubric|prompt|above|previous|rules|criteria)"
    r"|\b(give|award|assign|grade|score|mark|rate)\b[^.\n]{0,30}\b(full|maximum|max|perfect|top|100|10/10|a\+)\b"
    r"|\b(mark|grade|label|score|rate)\b[^.\n]{0,20}\bas (correct|right|excellent|perfect)"
    r"|\b(as|dear|note to( the)?|attention) (the )?(grader|evaluator|judge|assistant|ai|model)\b"
    r"|\b(grader|evaluator|judge|system)\s*:|(^|[.!?\n]\s*)(grader|evaluator|judge)\s*,"  # "the judge, ..." is not
    r"|\byou (are|must|should|will) (now )?(give|grade|mark|score|rate|output|respond|say)"
    r"|\bverdict\s*[:=]\s*correct|\bscore\s*[:=]\s*\d+"
    r"|\b(grader|grading|evaluator|judge)\s+(instruction|note|override)"
    r"|\b(receive|get|deserve|earn)s?\b[^.\n]{0,25}\b(max|maximum|full|top|perfect|highest)\b"
    r"|\bif you are an? (ai|llm|model|grader|language model)",
    re.I)
# "tell the model to ignore instructions in emails" is about the model, not an address to the grader
IGNORE = re.compile(r"ignore|disregard|forget", re.I)
ABOUT_THE_MODEL = re.compile(r"\b(model|llm|agent|bot|assistant|it|them)\s+(to\s+)?$", re.I)
# HEDGE, BOTH and ASIDE keep only the alternatives that fire on 3 or more of the 385 dev answers (#18: a phrase
# needs evidence from several answers; the counts are in the commit that pruned them).
HEDGE = re.compile(r"\bit depends\b|\bdepends on\b|\beither way\b", re.I)
# An answer whose every sentence hedges commits to nothing (LABELLING.md: none "when the answer hedges without
# deciding"), whatever options it names. The hedges are one closed class: a modal of possibility, "depends", a stated
# uncertainty, a question, putting the decision off until more is known. On the dev splits of both answer sets this
# holds for 20 of the 129 undecided answers and for none of the 611 decided ones.
HEDGED = re.compile(r"\b(maybe|perhaps|possibly|might|could|depends?|depending|not sure|unsure|hard to say|"
                    r"(want|need) to (look|see|know|check))\b|\?", re.I)
# An answer that says to put the options together ("combine them", "together they catch more", "two things at once")
# recommends several, not one: "use both" is the both option where there is one, else no single choice (LABELLING.md).
# Dev answers behind them: "combine them/all" 3, "together they/you/we" 4, "... at once" 3; none from the test split.
BOTH = re.compile(r"^\W*both\b|\b(do|use|doing|using|combine|go with|want|need|recommend|pick|choose|try)\s+both\b|"
                  r"\bboth\s*[:!]|\bcombine (them|all|the (two|three))\b|\btogether,? (they|you|we)\b|"
                  r"\b(two things|both|all three) at once\b", re.I)
# An answer that opens on a bare name ("INT4, since ...", "Bigger GPU: ...", "Up-front router.") states its pick
# first: a lead of at most three words, before the first punctuation mark, with no "is"-type verb ("DPO is tempting,"
# names what it goes on to weigh). On dev 93 answers open so: 88 chose the option their lead names; the other five are
# four keyword lists (their flag settles them) and one "Truncating alone: ..." that goes on to pick both.
LEAD = re.compile(r"\s*([^.,:;!?\n—(]+)")
LEAD_WORDS = 3
COPULA = re.compile(r"\b(is|are|was|were|be|sounds?|looks?|seems?)\b", re.I)
# A sentence that states a decision (how close it must be to an option's wording to name it: policy.py).
STATED = re.compile(r"\b(i'?d|i would|i recommend|recommend|recommendation|the right (move|call|choice)|go with|"
                    r"we should|they should|the answer is|my choice|start with|opt for)\b", re.I)
# A sentence that adds something on the side of the main recommendation.
ASIDE = re.compile(r"\balso\b|\bon top\b|\bafterwards\b", re.I)
DECISION_CUES = ("recommend", "go with", "choose", "pick", "i'd", "i would", "we should", "use", "opt for",
                 "best", "answer", "prefer", "start with", "my choice", "the right call", "favor", "favour")


@dataclass
class RubricSignals:
    """Everything the rubric found; the model-backed grader refines choice and points from here."""
    option_evidence: dict[str, float]
    choice: str
    choice_confidence: float
    key_points: list[PointResult]
    misconceptions: list[PointResult]
    flags: list[str] = field(default_factory=list)
    relevance: float = 0.0
    states_decision: bool = False  # some sentence reads as a decision ("my recommendation is to ...")
    # the sentences that may speak to the grader, with their evidence (grader_address); empty without embeddings
    address: list[grader_address.Reading] = field(default_factory=list)
    addressed: list[Sentence] = field(default_factory=list)  # the ones that do: flagged, and not weighed
    # per option, how close in meaning the answer's nearest sentence is to its wording (empty without embeddings):
    # an answer that describes its choice in its own words still sits nearest that option
    option_closeness: dict[str, float] = field(default_factory=dict)
    # (option id, the sentence naming it with its words masked): what stance.py reads for or against each option
    stance_units: list[tuple[str, str]] = field(default_factory=list)
    option_stance: dict[str, float] = field(default_factory=dict)  # filled where the fitted choice reads it
    # the same closeness for the answer's first sentence alone, where answers often put their decision
    option_opening: dict[str, float] = field(default_factory=dict)
    # ... and for the last sentence that names no option: an answer that turns the named options down often ends on
    # its own pick in other words ("Send the manual.", "Keep their KV blocks around.")
    option_closing: dict[str, float] = field(default_factory=dict)
    option_lead: str | None = None  # the one option a bare-name opening names (LEAD)


# Words in many option names across the bank (model: 39% of options; keep, add, switch, run: 9-14%): a mention of
# an option needs at least one word that is its own.
GENERIC_STEMS = frozenset(content_stems("model models llm keep add switch run before first every one send set answer "
                                        "data system user question"))
# "1.0", "e.g" and "6,000" do not end a clause
CLAUSE_START = re.compile(r"[.;!?](?=\s|$)|[\n:]|(?<!\d),|,(?!\d)")
CLAUSE_END = re.compile(r"[.;!?](?=\s|$)|\n|(?<!\d),|,(?!\d)")
NEGATED_SPAN_END = re.compile(r"[,;:()]| and | then | but ")  # where a refusal inside an option's wording stops
REFUSING = frozenset({"instead", "without"})  # "X instead of Y", "X without Y": Y is turned down
OWN_PAIR_REACH = 1  # two own words of an option this many tokens apart (1: side by side) name it (_own_pairs)
NOT_A_REFUSAL = frozenset({"against", "reject"})  # "check the judge against people", "reject answers whose ..."
WORD_AT = re.compile(r"[a-z0-9]*(?:['’][a-z0-9]+)*")  # the word a stem was read from (text.WORD), to its end
REPLACERS = frozenset("stop stopping drop dropping ditch ditching replace replacing swap swapping remove removing "
                      "abandon scrap".split())
AFTER_NEGATIVE = re.compile(r"^\W*(\w+\W+){0,3}?(is|are|would be|will be|seems?)?\W*(not|n't|the wrong|a bad|a mistake|"
                            r"overkill|unnecessary|not needed|pointless|wasteful|weak|go stale|goes stale|gets stale|"
                            r"has no idea|fails?|breaks?|blows|kills|ruins|too slow|too expensive|too costly)\b"
                            r"|^\W*(\w+\W+){0,2}?(won't|wouldn't|doesn't|"
                            r"does not|will not|would not|can't|cannot|don't|do not) (work|help|solve|fix|be|do|change|matter)",
                            re.I)


def option_phrases(option) -> list[list[str]]:
    """The stem sequences that name an option: its id, its label (and the parts of it), its aliases, less what they
    turn down (_refusals). In that order, always: the longest phrase is found first, and among phrases of one length
    the order must not depend on the process (a set here made the same answer's grade depend on PYTHONHASHSEED)."""
    label, aliases = _refusals(option.label)[0], [_refusals(a)[0] for a in option.aliases]
    texts = dict.fromkeys([option.id, label, *aliases, *re.split(r"[()]", label)])
    parts = [] if _is_both(option) else \
        [part for text in [label, *aliases] for part in re.split(r"\s(?:and|plus|then)\s|, ", text)]
    return _stem_phrases([*((t, 1) for t in texts), *((p, 2) for p in parts)])  # a part needs two words


def refusal_phrases(option) -> list[list[str]]:
    """The stem sequences of what the option's wording turns down ("routing" in "no routing, just the big model",
    "cache these answers" in "Do not cache these answers"): an answer that turns them down too names the option."""
    return _stem_phrases([(t, 1) for text in [option.label, *option.aliases] for t in _refusals(text)[1]])


def _stem_phrases(texts: list[tuple[str, int]]) -> list[list[str]]:
    phrases = []
    for text, fewest in texts:
        stems = list(dict.fromkeys(content_stems(text)))
        if len(stems) >= fewest and stems not in phrases:
            phrases.append(stems)
    return phrases


def _refusals(text: str) -> tuple[str, list[str]]:
    """An option's wording split into what it says and what it turns down: "no routing, just the big model" names
    the big model and turns down routing, the router's word, not this option's. A negation turns something down
    when it opens a clause ("no X", "do not X", "..., not X") or says "instead of X" / "without X", to the clause's
    end. One inside a clause ("a role that can't see HR tables", "no retention and a BAA") describes the option
    itself and stays."""
    lowered = text.lower()
    for word in WORD.finditer(lowered):
        if not is_negation(word.group(0)) or word.group(0) in NOT_A_REFUSAL:
            continue
        clause = max((m.end() for m in re.finditer(r"[,;:(]", lowered[:word.start()])), default=0)
        opens = all(w == "do" for w in lowered[clause:word.start()].split())
        if opens or word.group(0) in REFUSING:
            end = NEGATED_SPAN_END.search(lowered, word.end())
            finish = end.start() if end else len(text)
            kept = text[:clause if opens else word.start()] + text[finish:]
            rest, refused = _refusals(re.sub(r"^[\s,;:]*(?:(?:and|then|but)\b)?\s*|[\s,;:]+$", "", kept))
            return rest, [text[word.end():finish], *refused]
    return text, []


def _find(phrase: list[str], tokens: list[tuple[str, int]], distinctive: set[str] | None = None) -> list[tuple[int, int]]:
    """(start index, end index) of windows holding enough of the phrase's stems. The window ends where the last
    stem it needs is found. When `distinctive` is given, a window counts only if it holds one of those stems
    (words no rival option uses and no generic word), so shared words alone never name an option."""
    n = len(phrase)
    need = n if n <= 2 else max(2, math.ceil(0.6 * n))
    width = n + 1 if n <= 2 else 2 * n
    found, i = [], 0
    stems = [t[0] for t in tokens]
    while i < len(stems):
        if stems[i] in phrase:
            window = stems[i:i + width]
            seen: set[str] = set()
            for k, s in enumerate(window):
                if s in phrase:
                    seen.add(s)
                    if len(seen) >= need:
                        break
            if len(seen) >= need and (not distinctive or seen & distinctive):
                found.append((i, i + k))
                i += k + 1
                continue
        i += 1
    return found


def _mention_windows(question: Question, tokens: list[tuple[str, int]],
                     lowered: str) -> dict[str, list[tuple[int, int, bool]]]:
    """For each option, (first, last token index, refusal) of every place the answer names it, in order; refusal
    when the words are what the option turns down (refusal_phrases), which name it only where the answer turns them
    down too."""
    found: dict[str, list[tuple[int, int, bool]]] = {}
    ends = [s.end for s in sentences(lowered)]
    phrases = {option.id: option_phrases(option) for option in question.options}
    combined = both_option(question)  # "do both" is found by its own rule, so its words are not a rival's
    for option in question.options:
        others = {s for other, ps in phrases.items() if other not in (option.id, combined) for p in ps for s in p}
        others |= GENERIC_STEMS
        taken: list[tuple[int, int, bool]] = []
        for phrase in sorted(phrases[option.id], key=len, reverse=True):
            if len(phrase) == 1 and phrase[0] in others:
                continue  # one word that also names another option (or nothing in particular)
            own = set(phrase) - others
            _take(taken, _find(phrase, tokens, own or set(phrase) - GENERIC_STEMS), False)
        if option.id != combined:  # "both" repeats its parts' words: a pair of them names a part
            pairs = _own_pairs({s for p in phrases[option.id] for s in p} - others, tokens, lowered)
            # a sentence that names the option by its wording already has its mention: a pair there is its tail
            named = {_sentence_of(ends, tokens[start][1]) for start, _, _ in taken}
            _take(taken, [(i, j) for i, j in pairs if _sentence_of(ends, tokens[i][1]) not in named], False)
        for phrase in sorted(refusal_phrases(option), key=len, reverse=True):
            if set(phrase) - GENERIC_STEMS:
                _take(taken, _find(phrase, tokens, set(phrase) - GENERIC_STEMS), True)
        found[option.id] = sorted(taken)
    return found


def _own_pairs(own: set[str], tokens: list[tuple[str, int]], lowered: str,
               reach: int = OWN_PAIR_REACH) -> list[tuple[int, int]]:
    """(start, end) token windows where two different words of the option's own (no rival's, not generic) stand
    within `reach` tokens of each other (stop words are not tokens): a shortened wording ("Fixed pipeline" for
    "Fixed three-step pipeline", "separate metrics" for component-metrics' "Score ... separately") still names the
    option. Side by side only: "whole thing in context" does not name "Send the whole contract in the context"
    (reach 2 or 3 read more such answers, but the fitted choice held out fewer of them right). Nothing but stop
    words may stand between them, and not a negation ("one known step, so no planning loop" does not name the
    planning agent)."""
    found, i = [], 0
    while i < len(tokens):
        if tokens[i][0] in own:
            j = next((j for j in range(i + 1, min(i + 1 + reach, len(tokens)))
                      if tokens[j][0] in own and tokens[j][0] != tokens[i][0] and _one_phrase(lowered, tokens, i, j)),
                     None)
            if j is not None:
                found.append((i, j))
                i = j + 1
                continue
        i += 1
    return found


def _sentence_of(ends: list[int], at: int) -> int:
    return bisect.bisect_right(ends, at)  # the first sentence ending after `at`


def _one_phrase(lowered: str, tokens: list[tuple[str, int]], i: int, j: int) -> bool:
    """Whether no negation stands between tokens i and j."""
    gap = lowered[tokens[i][1] + len(WORD_AT.match(lowered, tokens[i][1]).group(0)):tokens[j][1]]
    return not is_negated(gap)


def _take(taken: list[tuple[int, int, bool]], windows: list[tuple[int, int]], refusal: bool) -> None:
    for start, end in windows:
        if not any(s <= start <= e or s <= end <= e for s, e, _ in taken):
            taken.append((start, end, refusal))


def mention_words(question: Question, answer: str) -> dict[str, list[list[tuple[int, int]]]]:
    """For each option, every place the answer names it by its own words, as the (start, end) characters of them."""
    tokens = positioned_stems(answer)
    lowered = answer.lower()
    phrases = {option.id: {s for p in option_phrases(option) for s in p} for option in question.options}
    found = {}
    for option_id, windows in _mention_windows(question, tokens, lowered).items():
        found[option_id] = [[(at, at + len(WORD_AT.match(lowered, at).group(0))) for stem_, at in tokens[start:end + 1]
                             if stem_ in phrases[option_id]] for start, end, refusal in windows if not refusal]
    return found


def option_mentions(question: Question, answer: str) -> dict[str, list[tuple[int, bool]]]:
    """For each option, (character position, negated) of every place the answer names it: by its own words, or by
    turning down what the option turns down ("no routing" for "no routing, just the big model"; never negated)."""
    lowered = answer.lower()
    tokens = positioned_stems(answer)
    found: dict[str, list[tuple[int, bool]]] = {}
    for option_id, windows in _mention_windows(question, tokens, lowered).items():
        hits = []
        for start, end, refusal in windows:
            begin, finish = tokens[start][1], tokens[end][1]
            clause_start = max([m.end() for m in CLAUSE_START.finditer(lowered, 0, begin)] or [0])
            later = CLAUSE_END.search(lowered, finish)
            clause_end = later.start() if later else len(lowered)
            before = lowered[clause_start:begin]
            after = lowered[finish:clause_end]
            after = after[after.find(" ") + 1:] if " " in after else ""
            inside = lowered[begin:finish]
            # "first since ..., so the right passage isn't there": a failure said after a mention that runs across
            # a clause break is about the later clause's words, not the option
            failed_after = bool(AFTER_NEGATIVE.search(after)) and not _breaks(CLAUSE_END, lowered, begin, finish)
            negated = _negates(before) or failed_after or _negated_inside(inside, _breaks(CLAUSE_START, lowered,
                                                                                           begin, finish))
            if not refusal:
                hits.append((begin, negated))
            elif negated:
                hits.append((begin, False))  # turned down as the option turns it down: names it
        found[option_id] = hits
    return found


def _breaks(pattern: re.Pattern, text: str, begin: int, finish: int) -> bool:
    """Whether a clause break falls inside text[begin:finish], read in the whole text (a mention that ends on the
    "000" of "6,000" holds a comma that is not a break)."""
    found = pattern.search(text, begin)
    return found is not None and found.start() < finish


def _negated_inside(inside: str, broken: bool) -> bool:
    """"asking the same question again isn't reproducing it": the mention's own words, in one clause, carry the
    negation."""
    if broken:
        return False  # "rules: never delete ...": the negation belongs to a quoted rule, not to the option
    return any(w in STRONG_NEGATIONS or w.endswith("n't") for w in words(inside)[1:])


def _negates(before: str) -> bool:
    tail = words(before)[-6:]
    for i in range(len(tail) - 1, -1, -1):
        if tail[i] in ("and", "then", "but", "so"):
            break  # "drop the randomness and go greedy": a new verb phrase starts
        if tail[i] in REPLACERS:
            # "swap X for Y", "replace X with Y": X is rejected, Y is what they want
            return not any(w in ("with", "for", "by", "to", "into") for w in tail[i + 1:])
        if is_negation(tail[i]):
            return True
    return "over" in tail[-2:]


def lexical_choice(question: Question, answer: str) -> tuple[dict[str, float], str, float]:
    """Evidence per option from mentions: later and cued mentions weigh more, negated ones count against."""
    mentions = option_mentions(question, answer)
    length = max(len(answer), 1)
    lowered = answer.lower()
    sents = sentences(answer)
    first = sents[:1]
    opening_end = first[0].end if first else -1
    opening_bonus = 2.5 if first and len(words(first[0].text)) <= 8 else 1.5
    asides = [(s.start, s.end) for s in sents if ASIDE.search(s.text)]
    evidence, main = {}, set()
    for option_id, hits in mentions.items():
        score = 0.0
        for position, negated in hits:
            weight = 1.0 + position / length
            window = lowered[max(0, position - 40):position]
            if any(start <= position < end for start, end in asides):
                weight *= POLICY.aside_weight  # "I'd also ...", "longer term ...": not the main recommendation
            else:
                if not negated:
                    main.add(option_id)
                if any(cue in window for cue in DECISION_CUES):
                    weight += 1.0
            if position < opening_end:
                weight += opening_bonus  # the opening sentence usually states the recommendation
            score += -1.5 * weight if negated else weight
        evidence[option_id] = score
    positive = {k: v for k, v in evidence.items() if v > 0}
    rejected = [k for k, v in evidence.items() if v < 0]
    if not positive and len(question.options) == 2 and len(rejected) == 1:
        # "definitely not fine-tuning" in a two-way choice recommends the other option
        return evidence, next(o.id for o in question.options if o.id not in rejected), 0.6
    if not positive:
        return evidence, "none", 0.0
    combined = both_option(question)
    argued = sorted((v for k, v in positive.items() if k != combined), reverse=True)
    if combined and len(argued) >= 2 and argued[1] >= POLICY.both_balance * argued[0]:
        return evidence, combined, 0.6  # two options argued for about equally, where "both" is an option
    best = max(positive, key=positive.get)
    total = sum(positive.values())
    # a plain mention weighs at least 1; evidence from asides alone leaves the choice open
    return evidence, best, positive[best] / total * min(1.0, positive[best] if best in main else POLICY.aside_weight)


def option_wordings(question: Question) -> list[tuple[str, str]]:
    """(option id, label or alias): what a stated decision is compared with."""
    return [(option.id, text) for option in question.options for text in (option.label, *option.aliases)]


def question_texts(question: Question) -> list[str]:
    """Every text of the question that the rubric embeds: the phrasings of its points and the option wordings."""
    points = [t for p in (*question.key_points, *question.misconceptions) for t in p.phrasings]
    return points + [text for _, text in option_wordings(question)]


def stated_choice(question: Question, answer: str, similarity: Similarity) -> tuple[str, float]:
    """When no option is named: the option whose label or alias is closest in meaning to a sentence that states a
    decision ("my recommendation is to ..."), if it is close enough and clearly closer than the runner-up."""
    stated = [s.text for s in sentences(answer) if STATED.search(s.text)]
    if not stated:
        return "none", 0.0
    closest = closeness(question, stated, similarity)
    ranked = sorted(closest.values(), reverse=True)
    best = max(closest, key=closest.get)
    if ranked[0] >= POLICY.stated_similarity and ranked[0] - (ranked[1] if len(ranked) > 1 else 0.0) >= POLICY.stated_margin:
        return best, 0.6
    return "none", 0.0


def closeness(question: Question, texts: Sequence[str], similarity: Similarity) -> dict[str, float]:
    """Per option: the highest similarity of any of the texts to any of its wordings (label or alias)."""
    return nearest(closeness_of_each(question, texts, similarity))


def nearest(each: list[dict[str, float]]) -> dict[str, float]:
    """Per option, the highest of the per-text closenesses (closeness_of_each); {} when there is no text."""
    return {option_id: max(c[option_id] for c in each) for option_id in each[0]} if each else {}


def closeness_of_each(question: Question, texts: Sequence[str], similarity: Similarity) -> list[dict[str, float]]:
    """Per text, per option: the highest similarity of the text to any of the option's wordings."""
    names = option_wordings(question)
    rows = similarity(list(texts), [text for _, text in names])  # one call for every option's wording
    each = []
    for row in rows:
        closest: dict[str, float] = {}
        for column, (option_id, _) in enumerate(names):
            closest[option_id] = max(closest.get(option_id, 0.0), row[column])
        each.append(closest)
    return each


def point_matches(points: Sequence[Point], sents: list[Sentence], similarity: Similarity | None,
                  threshold: float, require_polarity: bool = False,
                  stating: Sequence[PointResult] = ()) -> list[PointResult]:
    """A point is made when some sentence is close enough to one of its phrasings. A sentence that states one of
    the `stating` results (misconceptions made) argues the opposite of the key points and makes none of them."""
    taken = {_place(r) for r in stating if r.made and r.span}
    sents = [s for s in sents if (s.start, s.end) not in taken]
    results = []
    sentence_stems = [set(content_stems(s.text)) for s in sents]
    for point in points:
        phrasings = point.phrasings
        phrasing_stems = [content_stems(p) for p in phrasings]
        point_negated = any(is_negated(p) for p in phrasings)
        best, best_index = 0.0, -1
        sims = similarity([s.text for s in sents], phrasings) if (similarity and sents) else None
        for i, sentence in enumerate(sents):
            lexical = max(containment(stems, sentence_stems[i]) for stems in phrasing_stems)
            dense = max(sims[i]) if sims else lexical
            combined = 0.5 * lexical + 0.5 * dense if sims else lexical
            if require_polarity and is_negated(sentence.text) != point_negated:
                combined *= 0.5
            if combined > best:
                best, best_index = combined, i
        span = Span(sents[best_index].start, sents[best_index].end, sents[best_index].text) if best_index >= 0 else None
        best = round(best, 3)  # made exactly when the confidence shown reaches the threshold (policy.points_for_choice)
        results.append(PointResult(point.id, point.text, best >= threshold, best, span))
    return results


def flags_for(question: Question, answer: str, sents: list[Sentence], relevance: float,
              addressed: list[Sentence] | None = None) -> list[str]:
    """The flags that say an answer is not an honest answer; `addressed`: the sentences found to speak to the grader
    (None: decide by the word patterns alone)."""
    flags = []
    tokens = words(answer)
    if (addresses_grader(answer) if addressed is None else addressed):
        flags.append(Flag.INSTRUCTIONS)
    if len(tokens) < 3:
        flags.append(Flag.EMPTY)
    elif len(tokens) < 12:
        flags.append(Flag.TOO_SHORT)
    if _looks_like_keyword_list(answer, tokens):
        flags.append(Flag.KEYWORD_LIST)
    if len(tokens) >= 3 and relevance < POLICY.off_topic_relevance:
        flags.append(Flag.OFF_TOPIC)
    return flags


# Six or more words with under one function word in ten is a run of terms, not an argument, even without commas
# (dev, blind and template answers: 33 such answers, every one labelled keyword-list; no other kind below 0.18).
RUN_OF_TERMS = (6, 0.10)


def _looks_like_keyword_list(answer: str, tokens: list[str]) -> bool:
    function_share = sum(1 for t in tokens if t in STOPWORDS) / max(len(tokens), 1)
    if len(tokens) >= RUN_OF_TERMS[0] and function_share < RUN_OF_TERMS[1]:
        return True
    items = [i.strip() for i in re.split(r"[,\n;/|•]+|\s-\s", answer) if i.strip()]
    if len(items) < 4:
        return False
    short = sum(1 for i in items if len(words(i)) <= 3)
    return short / len(items) >= 0.7 and function_share < 0.25


def _points_and_misconceptions(question: Question, sents: list[Sentence], arguing: list[Sentence],
                                similarity: Similarity | None, policy: GradingPolicy
                                ) -> tuple[list[PointResult], list[PointResult]]:
    """A key point and a misconception are opposite claims, so one sentence states one of them, not both: the one it
    is closer to. A sentence taken by a misconception makes no key point."""
    def misconceptions(among: list[Sentence]) -> list[PointResult]:
        return point_matches(question.misconceptions, among, similarity, policy.misconception_threshold,
                             require_polarity=True)

    def key_points(stating: Sequence[PointResult] = ()) -> list[PointResult]:
        return point_matches(question.key_points, arguing, similarity, policy.point_threshold, stating=stating)

    wrong, points = misconceptions(sents), key_points()
    closer: dict[tuple[int, int], float] = {}
    for p in points:
        if p.made and p.span:
            closer[_place(p)] = max(closer.get(_place(p), 0.0), p.confidence)
    lost = {_place(m) for m in wrong if m.made and m.span and closer.get(_place(m), 0.0) > m.confidence}
    if lost:
        wrong = misconceptions([s for s in sents if (s.start, s.end) not in lost])
    if not any(m.made and m.span for m in wrong):
        return points, wrong
    return key_points(stating=wrong), wrong


def _place(result: PointResult) -> tuple[int, int]:
    return result.span.start, result.span.end


def _for_another_option(question: Question, choice: str, text: str) -> bool:
    """The answer chose a wrong option and this sentence names it, not negated, and never the right one."""
    if choice in ("none", question.correct):
        return False
    mentions = option_mentions(question, text)
    return not mentions.get(question.correct) and any(not negated for _, negated in mentions.get(choice, []))


def relevance_of(question: Question, answer: str) -> float:
    """Share of the answer's content words that belong to the question's vocabulary."""
    vocabulary = set(content_stems(" ".join([question.prompt, question.rationale,
                                             *[o.label + " " + " ".join(o.aliases) for o in question.options],
                                             *[" ".join(p.phrasings) for p in question.key_points]])))
    stems = content_stems(answer)
    return containment(stems, vocabulary) if stems else 0.0


def grader_sentences(question: Question, answer: str, similarity: Similarity | None
                     ) -> tuple[list[grader_address.Reading], list[Sentence]]:
    """The sentences that speak to the grader, decided by what they are about (grader_address); without embeddings,
    by the word patterns."""
    if similarity is None:
        return [], [s for s in sentences(answer) if addresses_grader(s.text)]
    readings = grader_address.readings(address_texts(question), answer, similarity, patterns=INJECTION)
    return readings, [r.sentence for r in readings if r.addressed]


def address_texts(question: Question) -> list[str]:
    """What a sentence about the scenario resembles: the question's prompt and its own texts (grader_address)."""
    return [question.prompt, *question_texts(question)]


def addresses_grader(text: str) -> bool:
    """Instructions to the grader somewhere in the text."""
    return any(not (IGNORE.match(m.group(0)) and ABOUT_THE_MODEL.search(text[max(0, m.start() - 30):m.start()]))
               for m in INJECTION.finditer(text))


def lead_option(question: Question, answer: str) -> str | None:
    """The one option named, not turned down, by the answer's opening words when they are a bare name (LEAD)."""
    found = LEAD.match(answer)
    if not found or len(found.group(1).split()) > LEAD_WORDS or COPULA.search(found.group(1)):
        return None
    named = [o for o, hits in option_mentions(question, found.group(1)).items() if any(not neg for _, neg in hits)]
    return named[0] if len(named) == 1 else None


def all_hedged(sents: Sequence[Sentence]) -> bool:
    """Every sentence hedges (HEDGED): the answer does not commit to an option."""
    return bool(sents) and all(HEDGED.search(s.text) for s in sents)


def both_option(question: Question) -> str | None:
    """The option that means doing two of the others ("both", "Both: ..."); "Judge both orders" is not one."""
    return next((o.id for o in question.options if _is_both(o)), None)


def _is_both(option) -> bool:
    return "both" in option.id.split("-") or bool(re.match(r"\W*both\b", option.label, re.I))


def rubric_signals(question: Question, answer: str, similarity: Similarity | None = None,
                   policy: GradingPolicy = POLICY) -> RubricSignals:
    sents = sentences(answer)
    address, addressed = grader_sentences(question, answer, similarity)
    clean = grader_address.without(answer, addressed)
    evidence, choice, confidence = lexical_choice(question, clean)
    if choice == "none" and similarity is not None:
        choice, confidence = stated_choice(question, clean, similarity)
    relevance = relevance_of(question, answer)
    flags = flags_for(question, answer, sents, relevance, addressed)
    if (choice == "none" and HEDGE.search(clean)) or all_hedged(sents):
        flags.append(Flag.EVASIVE)
    if BOTH.search(clean):
        flags.append(Flag.BOTH)
        choice, confidence = both_option(question) or "none", 0.9
    clear_off_topic(flags, choice)
    sure = choice if confidence >= policy.unsure_choice_below else "none"
    arguing = [s for s in sents if not _for_another_option(question, sure, s.text)]
    points, wrong = _points_and_misconceptions(question, sents, arguing, similarity, policy)
    states = any(STATED.search(s.text) for s in sents)
    kept = sentences(clean)
    each = closeness_of_each(question, [s.text for s in kept], similarity) if similarity is not None and kept else []
    near = nearest(each)
    opening = each[0] if each else {}
    named = [at for hits in option_mentions(question, clean).values() for at, _ in hits]
    unnamed = [e for s, e in zip(kept, each) if not any(s.start <= at < s.end for at in named)]
    units = stance.masked_sentences(clean, mention_words(question, clean))
    return RubricSignals(evidence, choice, confidence, points, wrong, flags, relevance, states, address, addressed,
                         near, units, option_opening=opening, option_closing=unnamed[-1] if unnamed else {},
                         option_lead=lead_option(question, clean))
