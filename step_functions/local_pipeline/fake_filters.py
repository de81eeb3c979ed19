"""How the fake Personalize applies a filter to a batch job's output.

The forms it evaluates, each as Personalize's pages describe it
(https://docs.aws.amazon.com/personalize/latest/dg/filter-expressions.html,
https://docs.aws.amazon.com/personalize/latest/dg/creating-filter-expressions.html):

- ``INCLUDE|EXCLUDE ItemID WHERE Items.FIELD ...`` on the Items dataset's rows,
  and ``... UserID WHERE Users.FIELD ...`` (batch segments) on the Users rows:
  ``IN``/``NOT IN`` a list of "strings", numbers or a $PARAMETER, or ``= != < <=
  > >=`` a number or a $PARAMETER. A categorical field holds several values
  separated by ``|``; ``IN`` matches when one of them is listed;
- ``... WHERE Interactions.EVENT_TYPE IN (...)``: for items, the items the
  job line's user interacted with by those event types; for users, the users
  who have interactions of those event types. "Amazon Personalize ignores case
  only when matching event types"
  (https://docs.aws.amazon.com/personalize/latest/dg/filter-expression-guidelines-requirements.html);
- conditions chained with AND only or OR only;
- expressions joined with ``|``: "Include A | Include B | Exclude C | Exclude D
  is equal to Include (A or B) - (C or D)"
  (https://docs.aws.amazon.com/personalize/latest/dg/multiple-expression-example.html);
- $PARAMETER values from the line's ``filterValues`` object, each value in
  escaped quotes, several separated by commas: ``{"GENRES": "\\"drama\\",\\"comedy\\""}``
  (https://docs.aws.amazon.com/personalize/latest/dg/filter-batch.html).

Any other form (IF CurrentUser, CurrentItem, Actions, AND mixed with OR, a
field of another dataset than the target's, event type "*") is refused with a
FakeError naming the expression: the fake never leaves a filter unapplied.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional

# The dataset whose rows describe each target (filter-batch.html: items for
# inference, users for segments).
TARGET_DATASET = {"ItemID": "Items", "UserID": "Users"}
NUMBER_TESTS = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}
_TOKEN = re.compile(r'\s*(?:"(?P<string>[^"]*)"|(?P<number>-?\d+(?:\.\d+)?)|\$(?P<param>[A-Za-z0-9_]+)'
                    r'|(?P<op><=|>=|!=|=|<|>|\(|\)|,|\|)|(?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?))')
_PARAMETER_VALUE = re.compile(r'\s*(?:"(?P<string>[^"]*)"|(?P<number>-?\d+(?:\.\d+)?))\s*(?:,|$)')


class FilterNotEvaluable(ValueError):
    """The fake cannot evaluate this filter (the form, or a job line's values)."""


@dataclass(frozen=True)
class Value:
    kind: str  # string, number or param
    text: str


@dataclass(frozen=True)
class Condition:
    dataset: str
    field: str
    test: str  # IN, NOT IN or a comparison
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Part:
    action: str  # INCLUDE or EXCLUDE
    conditions: tuple[Condition, ...]
    chained_with: str  # AND or OR (one condition: AND)


@dataclass
class Subject:
    """What a filter reads for one job line: the candidates' rows of the target
    dataset, the event types behind each candidate, and the line's parameter values."""

    rows: dict[str, dict[str, str]]
    event_types: dict[str, set[str]]
    filter_values: dict[str, str]


def _tokens(expression: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while expression[pos:].strip():
        match = _TOKEN.match(expression, pos)
        if not match:
            raise FilterNotEvaluable(f"cannot read {expression[pos:].strip()[:20]!r}")
        out.append((match.lastgroup or "", match.group(match.lastgroup)))
        pos = match.end()
    return out


class _Reader:
    def __init__(self, tokens: list[tuple[str, str]], target: str) -> None:
        self.tokens, self.i, self.target = tokens, 0, target

    def next(self) -> tuple[str, str]:
        if self.i >= len(self.tokens):
            raise FilterNotEvaluable("the expression ends too early")
        self.i += 1
        return self.tokens[self.i - 1]

    def peek(self) -> Optional[str]:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def condition(self) -> Condition:
        kind, name = self.next()
        dataset, _, field = name.partition(".")
        if kind != "word" or not field:
            raise FilterNotEvaluable(f"expected Dataset.FIELD, got {name!r}")
        if dataset == "Interactions":
            if field != "EVENT_TYPE":
                raise FilterNotEvaluable(f"{name}: interactions filter only on EVENT_TYPE")
        elif dataset != TARGET_DATASET[self.target]:
            raise FilterNotEvaluable(f"{name}: a {self.target} filter is evaluated on {TARGET_DATASET[self.target]} "
                                     "or Interactions fields only")
        _, test = self.next()
        if test == "NOT":
            test = "NOT " + self.next()[1]
        if test in ("IN", "NOT IN"):
            if self.next()[1] != "(":
                raise FilterNotEvaluable(f"expected ( after {test}")
            values = []
            while True:
                kind, text = self.next()
                if kind not in ("string", "number", "param"):
                    raise FilterNotEvaluable(f"expected a value, got {text!r}")
                values.append(Value(kind, text))
                separator = self.next()[1]
                if separator == ")":
                    break
                if separator != ",":
                    raise FilterNotEvaluable(f"expected , or ), got {separator!r}")
        elif test in NUMBER_TESTS:
            kind, text = self.next()
            if kind not in ("number", "param"):
                raise FilterNotEvaluable(f"{test} compares numbers, got {text!r}")
            values = [Value(kind, text)]
        else:
            raise FilterNotEvaluable(f"unknown test {test!r}")
        if dataset == "Interactions":
            if test != "IN":
                raise FilterNotEvaluable(f"{name} {test}: only Interactions.EVENT_TYPE IN (...) is evaluated")
            if any(v.kind == "string" and v.text == "*" for v in values):
                raise FilterNotEvaluable('event type "*" is not evaluated')
        return Condition(dataset, field, test, tuple(values))

    def part(self) -> Part:
        action = self.next()[1]
        target = self.next()[1]
        if action not in ("INCLUDE", "EXCLUDE") or target != self.target or self.next()[1] != "WHERE":
            raise FilterNotEvaluable(f"expected INCLUDE|EXCLUDE {self.target} WHERE")
        conditions, joiners = [self.condition()], set()
        while self.peek() in ("AND", "OR"):
            joiners.add(self.next()[1])
            conditions.append(self.condition())
        if len(joiners) > 1:
            raise FilterNotEvaluable("AND mixed with OR in one expression is not evaluated")
        if self.peek() == "IF":
            raise FilterNotEvaluable("IF CurrentUser conditions are not evaluated")
        return Part(action, tuple(conditions), joiners.pop() if joiners else "AND")


@dataclass(frozen=True)
class CompiledFilter:
    expression: str
    parts: tuple[Part, ...]

    @property
    def parameters(self) -> set[str]:
        return {v.text for p in self.parts for c in p.conditions for v in c.values if v.kind == "param"}

    @property
    def compared_parameters(self) -> set[str]:
        """The parameters compared with = < ...: each takes one number."""
        return {v.text for p in self.parts for c in p.conditions if c.test in NUMBER_TESTS for v in c.values if v.kind == "param"}

    @property
    def reads_interactions(self) -> bool:
        return any(c.dataset == "Interactions" for p in self.parts for c in p.conditions)

    def apply(self, candidates: Iterable[str], subject: Subject) -> list[str]:
        """The candidates the filter keeps, in their order."""
        resolved = [(p, [(c, self._values(c, subject.filter_values)) for c in p.conditions]) for p in self.parts]

        def matches(candidate: str, part: Part, conditions: list) -> bool:
            results = (self._holds(candidate, c, values, subject) for c, values in conditions)
            return all(results) if part.chained_with == "AND" else any(results)

        includes = [(p, cs) for p, cs in resolved if p.action == "INCLUDE"]
        excludes = [(p, cs) for p, cs in resolved if p.action == "EXCLUDE"]
        return [c for c in candidates
                if (not includes or any(matches(c, p, cs) for p, cs in includes))
                and not any(matches(c, p, cs) for p, cs in excludes)]

    def _values(self, condition: Condition, filter_values: dict[str, str]) -> list[Value]:
        out = []
        for value in condition.values:
            if value.kind != "param":
                out.append(value)
                continue
            given = filter_values.get(value.text)
            if not isinstance(given, str):
                raise FilterNotEvaluable(f"no filterValues value for ${value.text}")
            out.extend(parameter_values(value.text, given))
        return out

    @staticmethod
    def _holds(candidate: str, condition: Condition, values: list[Value], subject: Subject) -> bool:
        if condition.dataset == "Interactions":
            wanted = {v.text.lower() for v in values}
            return bool(wanted & {e.lower() for e in subject.event_types.get(candidate, set())})
        row = subject.rows.get(candidate)
        if row is None or condition.field not in row:
            return False  # a candidate without that metadata matches no condition
        raw = row[condition.field]
        if condition.test in NUMBER_TESTS:
            number = _number(raw)
            return number is not None and NUMBER_TESTS[condition.test](number, float(values[0].text))
        held = {v for v in raw.split("|") if v != ""}  # a categorical field's values
        listed = any(v.text in held if v.kind == "string" else any(_number(h) == float(v.text) for h in held) for v in values)
        return listed if condition.test == "IN" else not listed


def _number(text: str) -> Optional[float]:
    try:
        return float(text)
    except ValueError:
        return None


def parameter_values(name: str, given: str) -> list[Value]:
    """A filterValues entry: "\\"a\\",\\"b\\"" (quoted strings) or numbers, comma-separated."""
    out, pos = [], 0
    while pos < len(given):
        match = _PARAMETER_VALUE.match(given, pos)
        if not match or match.end() == pos:
            raise FilterNotEvaluable(f"filterValues ${name} = {given!r}: expected \"quoted\" values or numbers separated by commas")
        kind = match.lastgroup or ""
        out.append(Value(kind, match.group(kind)))
        pos = match.end()
    if not out:
        raise FilterNotEvaluable(f"filterValues ${name} is empty")
    return out


def compile_filter(expression: str, target: str) -> CompiledFilter:
    """The filter as the fake evaluates it, or FilterNotEvaluable saying which part it cannot."""
    if target not in TARGET_DATASET:
        raise FilterNotEvaluable(f"filters on {target} are not evaluated")
    reader, parts = _Reader(_tokens(expression), target), []
    while True:
        parts.append(reader.part())
        following = reader.peek()
        if following is None:
            return CompiledFilter(expression, tuple(parts))
        if following != "|":
            raise FilterNotEvaluable(f"unexpected {following!r}")
        reader.next()


def line_problem(compiled: CompiledFilter, line: dict, user_key: Optional[str]) -> Optional[str]:
    """Why one job input line cannot be filtered: a parameter without a value, or
    an interactions filter with no user to read the interactions of."""
    values = line.get("filterValues", {})
    if not isinstance(values, dict):
        return "filterValues is not a JSON object"
    compared_parameters = compiled.compared_parameters
    for name in sorted(compiled.parameters):
        if not isinstance(values.get(name), str):
            return f"filterValues has no value for ${name}"
        try:
            given = parameter_values(name, values[name])
        except FilterNotEvaluable as exc:
            return str(exc)
        if name in compared_parameters and [v.kind for v in given] != ["number"]:
            return f"filterValues ${name} = {values[name]!r}: a comparison takes one number"
    if compiled.reads_interactions and user_key is not None and not line.get(user_key):
        return f"the filter reads interactions, but the line has no {user_key}"
    return None
