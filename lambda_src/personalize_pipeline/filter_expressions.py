"""The filter expression grammar, checked at ReadParams so a typo fails before
any import instead of after hours of training.

https://docs.aws.amazon.com/personalize/latest/dg/creating-filter-expressions.html

    expression  := part ( "|" part )*
    part        := (INCLUDE | EXCLUDE) (ItemID | ActionID | UserID) WHERE
                   condition ( (AND | OR) condition )* [ IF user_cond ( AND user_cond )* ]
    condition   := Dataset.field ( [NOT] IN "(" value ("," value)* ")" | compare number )
    user_cond   := CurrentUser.field ( [NOT] IN "(" value ("," value)* ")" | compare number )
    compare     := = | < | <= | > | >= | !=
    value       := "string" | number | $PARAMETER        number := digits | $PARAMETER

Conditions chained with AND/OR may only use fields of the dataset of the first
condition; IF (on CurrentUser) comes once, at the end of a part.
"""
from __future__ import annotations

import re

from .errors import ParamsInvalid

DATASETS = ("Items", "Interactions", "Users", "Actions", "Action_Interactions", "CurrentItem")
TARGETS = ("ItemID", "ActionID", "UserID")
COMPARE = ("<=", ">=", "!=", "=", "<", ">")
_TOKEN = re.compile(r'\s*(?:(?P<string>"[^"]*")|(?P<number>-?\d+(?:\.\d+)?)|(?P<param>\$[A-Za-z0-9_]+)'
                    r'|(?P<op><=|>=|!=|=|<|>|\(|\)|,|\|)|(?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_*][A-Za-z0-9_]*)?))')


def _tokens(expression: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(expression):
        if expression[pos:].strip() == "":
            break
        match = _TOKEN.match(expression, pos)
        if not match:
            raise ValueError(f"unexpected character {expression[pos:].lstrip()[:1]!r} at position {pos}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, expression: str) -> None:
        self.tokens = _tokens(expression)
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, expected: str) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise ValueError(f"expected {expected} but the expression ends")
        self.i += 1
        return token

    def word(self, choices: tuple[str, ...], what: str) -> str:
        kind, text, pos = self.take(what)
        if text not in choices:
            raise ValueError(f"expected {what} ({'/'.join(choices)}) at position {pos}, got {text!r}")
        return text

    def field(self, datasets: tuple[str, ...]) -> str:
        kind, text, pos = self.take("Dataset.field")
        if kind != "word" or "." not in text or text.split(".")[0] not in datasets:
            raise ValueError(f"expected a field as {'/'.join(datasets)}.FIELD at position {pos}, got {text!r}")
        return text.split(".")[0]

    def test(self) -> None:
        kind, text, pos = self.take("IN, NOT IN or a comparison")
        if text == "NOT":
            self.word(("IN",), "IN after NOT")
            text = "IN"
        if text == "IN":
            self.word(("(",), "( after IN")
            while True:
                kind, value, pos = self.take("a value")
                if kind not in ("string", "number", "param"):
                    raise ValueError(f"expected a \"quoted\" value, a number or a $PARAMETER at position {pos}, got {value!r}")
                kind, sep, pos = self.take(", or )")
                if sep == ")":
                    return
                if sep != ",":
                    raise ValueError(f"expected , or ) at position {pos}, got {sep!r}")
        if text in COMPARE:
            kind, value, pos = self.take("a number")
            if kind not in ("number", "param"):
                raise ValueError(f"{text} compares numbers: expected a number or a $PARAMETER at position {pos}, got {value!r}")
            return
        raise ValueError(f"expected IN, NOT IN or one of {' '.join(COMPARE)} at position {pos}, got {text!r}")

    def part(self) -> None:
        self.word(("INCLUDE", "EXCLUDE"), "INCLUDE or EXCLUDE")
        self.word(TARGETS, "the element to filter")
        self.word(("WHERE",), "WHERE")
        first = self.field(DATASETS)
        self.test()
        while self.peek() and self.peek()[1] in ("AND", "OR"):
            self.i += 1
            pos = self.peek()[2] if self.peek() else -1
            dataset = self.field(DATASETS)
            if dataset != first:
                raise ValueError(f"conditions chained with AND/OR use the dataset of the first condition ({first}); "
                                 f"position {pos} uses {dataset}")
            self.test()
        if self.peek() and self.peek()[1] == "IF":
            self.i += 1
            self.field(("CurrentUser",))
            self.test()
            while self.peek() and self.peek()[1] == "AND":
                self.i += 1
                self.field(("CurrentUser",))
                self.test()

    def expression(self) -> None:
        self.part()
        while self.peek() and self.peek()[1] == "|":
            self.i += 1
            self.part()
        if self.peek():
            kind, text, pos = self.peek()
            raise ValueError(f"unexpected {text!r} at position {pos}")


def syntax_problem(expression: str) -> str | None:
    """Why ``expression`` breaks the documented grammar, or None."""
    try:
        _Parser(expression).expression()
    except ValueError as exc:
        return str(exc)
    return None


def check(path: str, expression: str) -> None:
    problem = syntax_problem(expression)
    if problem:
        raise ParamsInvalid(f"{path}: not a valid Personalize filter expression: {problem} "
                            "(see https://docs.aws.amazon.com/personalize/latest/dg/creating-filter-expressions.html)")
