"""Label regular expressions matched in time linear in the text: no backtracking, no ReDoS.

Python's `re` backtracks, so a pattern such as `(a+)+b` takes exponential time on a string of
a's; a silence or route written that way by a careless operator (or an attacker with a token)
stalls the server. Label matchers therefore use this engine instead: the pattern is compiled into
a Thompson NFA and simulated breadth-first (Thompson 1968; the "Pike VM" as described by Russ Cox,
"Regular Expression Matching: the Virtual Machine Approach", 2009), so matching costs at most
O(len(text) × len(program)) steps whatever the pattern.

The syntax is the subset of RE2 (the dialect of Prometheus and Alertmanager matchers) that label
matching needs: literals and escapes, `.`, classes `[a-z0-9_]` and `[^…]`, `\\d \\w \\s` and their
negations, groups `( )` and `(?: )`, alternation `|`, quantifiers `* + ?` and `{n}`, `{n,}`,
`{n,m}` (lazy forms accepted: they match the same strings when the whole text must match), the
anchors `^` and `$`, and a leading `(?i)`. The whole text must match (Alertmanager anchors every
regex). Back-references and look-around are refused, as RE2 refuses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

MAX_PATTERN = 1_000  # characters
MAX_PROGRAM = 10_000  # compiled instructions (bounded repetition expands)
MAX_REPEAT = 1_000


class RegexError(ValueError):
    """A pattern that is malformed, unsupported or too large; the message says where."""


@dataclass(frozen=True, slots=True)
class CharSet:
    """A set of characters as inclusive code-point ranges, possibly negated."""

    ranges: tuple[tuple[int, int], ...]
    negated: bool = False

    def contains(self, ch: str, *, fold: bool) -> bool:
        """True when `ch` (or, folding case, its other case) is in the set."""
        hit = self._has(ord(ch))
        if fold and not hit:
            hit = self._has(ord(ch.lower())) or self._has(ord(ch.upper()))
        return hit != self.negated

    def _has(self, code: int) -> bool:
        return any(lo <= code <= hi for lo, hi in self.ranges)


ANY = CharSet(((ord("\n"), ord("\n")),), negated=True)  # `.` does not match a newline (RE2)
DIGIT = ((ord("0"), ord("9")),)
WORD = ((ord("0"), ord("9")), (ord("A"), ord("Z")), (ord("_"), ord("_")), (ord("a"), ord("z")))
SPACE = tuple((ord(c), ord(c)) for c in "\t\n\f\r ")
CLASSES = {"d": DIGIT, "w": WORD, "s": SPACE}
ESCAPED = {"t": "\t", "n": "\n", "r": "\r", "f": "\f", "v": "\v"}


class Op(StrEnum):
    """An instruction of the compiled program."""

    CHAR = "char"
    SPLIT = "split"
    JUMP = "jump"
    BEGIN = "begin"  # assert: at the start of the text
    END = "end"  # assert: at the end of the text
    MATCH = "match"


@dataclass(frozen=True, slots=True)
class Instruction:
    """One step: consume a character of `chars`, branch to `x`/`y`, assert, or accept."""

    op: Op
    chars: CharSet | None = None
    x: int = 0
    y: int = 0


# --- parsing: pattern text -> tree of tuples --------------------------------------------------
# ("set", CharSet) | ("cat", [node]) | ("alt", [node]) | ("rep", node, min, max|None) |
# ("begin",) | ("end",)
Node = tuple[object, ...]


class _Parser:
    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.at = 0

    def fail(self, reason: str) -> RegexError:
        return RegexError(f"{reason} at position {self.at} of {self.text!r}")

    def peek(self) -> str | None:
        return self.text[self.at] if self.at < len(self.text) else None

    def take(self) -> str:
        ch = self.peek()
        if ch is None:
            raise self.fail("unexpected end of pattern")
        self.at += 1
        return ch

    def alternation(self) -> Node:
        branches = [self.sequence()]
        while self.peek() == "|":
            self.at += 1
            branches.append(self.sequence())
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def sequence(self) -> Node:
        items: list[Node] = []
        while self.peek() not in (None, "|", ")"):
            items.append(self.quantified(self.atom()))
        return ("cat", items)

    def atom(self) -> Node:
        ch = self.take()
        if ch == "(":
            if self.text.startswith("?:", self.at):
                self.at += 2
            elif self.peek() == "?":
                raise self.fail("unsupported group syntax (look-around, flags or names)")
            inner = self.alternation()
            if self.peek() != ")":
                raise self.fail("missing )")
            self.at += 1
            return inner
        if ch in ")*+?":
            raise self.fail(f"unexpected {ch!r}")
        simple: dict[str, Node] = {".": ("set", ANY), "^": ("begin",), "$": ("end",)}
        if ch in simple:
            return simple[ch]
        if ch == "[":
            return ("set", self.char_class())
        if ch == "\\":
            return ("set", self.escape(in_class=False))
        return ("set", CharSet(((ord(ch), ord(ch)),)))

    def escape(self, *, in_class: bool) -> CharSet:
        ch = self.take()
        if ch.lower() in CLASSES:
            return CharSet(CLASSES[ch.lower()], negated=ch.isupper())
        if ch.isdigit():
            raise self.fail("back-references are not supported")
        if ch.isalpha() and ch not in ESCAPED:
            raise self.fail(f"unsupported escape \\{ch}")
        code = ord(ESCAPED.get(ch, ch))
        return CharSet(((code, code),))

    def char_class(self) -> CharSet:
        negated = self.peek() == "^"
        self.at += negated
        ranges: list[tuple[int, int]] = []
        first = True
        while first or self.peek() != "]":
            first = False
            lo = self.class_member()
            if isinstance(lo, CharSet):  # \d, \w, \s inside a class
                if lo.negated:
                    raise self.fail("negated class escapes inside [] are not supported")
                ranges.extend(lo.ranges)
                continue
            if self.peek() == "-" and self.text[self.at + 1 : self.at + 2] not in ("]", ""):
                self.at += 1
                hi = self.class_member()
                if isinstance(hi, CharSet) or hi < lo:
                    raise self.fail("bad range in character class")
                ranges.append((lo, hi))
            else:
                ranges.append((lo, lo))
        self.at += 1
        return CharSet(tuple(ranges), negated=negated)

    def class_member(self) -> int | CharSet:
        ch = self.take()
        if ch != "\\":
            return ord(ch)
        escaped = self.escape(in_class=True)
        lo, hi = escaped.ranges[0]
        return escaped if (len(escaped.ranges) > 1 or lo != hi or escaped.negated) else lo

    def quantified(self, node: Node) -> Node:
        bounds = {"*": (0, None), "+": (1, None), "?": (0, 1)}
        ch = self.peek()
        if ch in bounds:
            self.at += 1
            low, high = bounds[ch]
        elif ch == "{" and self._counted():
            low, high = self.counted()
        else:
            return node
        if self.peek() == "?":  # lazy: the same set of fully matched strings
            self.at += 1
        if self.peek() in ("*", "+", "?"):
            raise self.fail("nested quantifier")
        return ("rep", node, low, high)

    def _counted(self) -> bool:
        end = self.text.find("}", self.at)
        body = self.text[self.at + 1 : end] if end > 0 else ""
        return bool(body) and all(p.isdigit() for p in body.split(",", 1) if p) and body[0] != ","

    def counted(self) -> tuple[int, int | None]:
        end = self.text.index("}", self.at)
        body, self.at = self.text[self.at + 1 : end], end + 1
        low_text, _, high_text = body.partition(",")
        low = int(low_text)
        high = low if "," not in body else (int(high_text) if high_text else None)
        if max(low, high or 0) > MAX_REPEAT or (high is not None and high < low):
            raise self.fail(f"bad repetition {{{body}}} (at most {MAX_REPEAT})")
        return low, high


# --- compiling: tree -> program ------------------------------------------------------------


class _Compiler:
    def __init__(self) -> None:
        self.program: list[Instruction] = []

    def emit(self, instruction: Instruction) -> int:
        if len(self.program) >= MAX_PROGRAM:
            raise RegexError(f"regular expression too large (over {MAX_PROGRAM} steps)")
        self.program.append(instruction)
        return len(self.program) - 1

    def patch(self, at: int, *, x: int | None = None, y: int | None = None) -> None:
        old = self.program[at]
        self.program[at] = Instruction(
            old.op, old.chars, old.x if x is None else x, old.y if y is None else y
        )

    def node(self, node: Node) -> None:
        kind = node[0]
        if kind == "set":
            self.emit(Instruction(Op.CHAR, node[1]))  # type: ignore[arg-type]
        elif kind in ("begin", "end"):
            self.emit(Instruction(Op.BEGIN if kind == "begin" else Op.END))
        elif kind == "cat":
            for item in node[1]:  # type: ignore[attr-defined]
                self.node(item)
        elif kind == "alt":
            self.alternatives(node[1])  # type: ignore[arg-type]
        else:
            self.repeat(node[1], node[2], node[3])  # type: ignore[arg-type]

    def alternatives(self, branches: list[Node]) -> None:
        jumps: list[int] = []
        for branch in branches[:-1]:
            split = self.emit(Instruction(Op.SPLIT))
            self.node(branch)
            jumps.append(self.emit(Instruction(Op.JUMP)))
            self.patch(split, x=split + 1, y=len(self.program))
        self.node(branches[-1])
        for jump in jumps:
            self.patch(jump, x=len(self.program))

    def repeat(self, body: Node, low: int, high: int | None) -> None:
        for _ in range(low):
            self.node(body)
        if high is None:
            loop = self.emit(Instruction(Op.SPLIT))
            self.node(body)
            self.emit(Instruction(Op.JUMP, x=loop))
            self.patch(loop, x=loop + 1, y=len(self.program))
            return
        skips = []
        for _ in range(high - low):
            skips.append(self.emit(Instruction(Op.SPLIT)))
            self.node(body)
        for split in skips:
            self.patch(split, x=split + 1, y=len(self.program))


@dataclass(frozen=True, slots=True)
class Regex:
    """A compiled pattern; `fullmatch` runs in time linear in the text."""

    pattern: str
    program: tuple[Instruction, ...]
    fold_case: bool

    def fullmatch(self, text: str) -> bool:
        """True when the whole of `text` matches the pattern."""
        current = self._closure([0], 0, len(text))
        for position, ch in enumerate(text):
            step = [
                pc + 1
                for pc in current
                if self.program[pc].op is Op.CHAR
                and self.program[pc].chars.contains(ch, fold=self.fold_case)  # type: ignore[union-attr]
            ]
            if not step:
                return False
            current = self._closure(step, position + 1, len(text))
        return any(self.program[pc].op is Op.MATCH for pc in current)

    def _closure(self, starts: list[int], position: int, length: int) -> list[int]:
        """The consuming (or accepting) instructions reachable from `starts` without input."""
        seen: set[int] = set()
        out: list[int] = []
        stack = list(reversed(starts))
        while stack:
            pc = stack.pop()
            if pc in seen:
                continue
            seen.add(pc)
            ins = self.program[pc]
            if ins.op is Op.SPLIT:
                stack += (ins.y, ins.x)
            elif ins.op is Op.JUMP:
                stack.append(ins.x)
            elif ins.op is Op.BEGIN:
                stack += [pc + 1] if position == 0 else []
            elif ins.op is Op.END:
                stack += [pc + 1] if position == length else []
            else:
                out.append(pc)
        return out


@lru_cache(maxsize=1024)
def compile_regex(pattern: str) -> Regex:
    """Compile a label regular expression; RegexError says what is wrong and where."""
    if len(pattern) > MAX_PATTERN:
        raise RegexError(f"regular expression longer than {MAX_PATTERN} characters")
    fold = pattern.startswith("(?i)")
    parser = _Parser(pattern[4:] if fold else pattern)
    tree = parser.alternation()
    if parser.peek() is not None:
        raise parser.fail("unbalanced )")
    compiler = _Compiler()
    compiler.node(tree)
    compiler.emit(Instruction(Op.MATCH))
    return Regex(pattern, tuple(compiler.program), fold)
