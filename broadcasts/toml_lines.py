"""Where each thing of a TOML file is: the line of every table, key and array element.

tomllib gives no line numbers for the data it returns, so errors in campaign and poll files
could not say where they are; `key_lines` walks the text tomllib already accepted and maps
every path of its data (("messages", 0, "texts", "bm")) to the line it starts on. Pure.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping

Path_ = tuple[str | int, ...]  # a place in the parsed TOML: ("messages", 0, "texts", "bm")


class _Scanner:
    """Walks TOML text that tomllib already accepted and records the line of every table
    header, key, inline-table key and array element, under the path tomllib's data has."""

    def __init__(self, text: str) -> None:
        self.text, self.i, self.line = text, 0, 1
        self.lines: dict[Path_, int] = {}
        self.arrays: dict[Path_, int] = {}  # an array of tables → the index of its last table

    def peek(self, ahead: int = 0) -> str:
        index = self.i + ahead
        return self.text[index] if index < len(self.text) else ""

    def advance(self, count: int = 1) -> None:
        for _ in range(count):
            if self.peek() == "\n":
                self.line += 1
            self.i += 1

    def skip_blank(self, newlines: bool) -> None:
        """Spaces, tabs, comments, and newlines too when `newlines`."""
        while self.i < len(self.text):
            char = self.peek()
            if char in " \t\r" or (newlines and char == "\n"):
                self.advance()
            elif char == "#":
                while self.i < len(self.text) and self.peek() != "\n":
                    self.advance()
            else:
                return

    def record(self, path: Path_) -> None:
        self.lines.setdefault(path, self.line)

    def key(self) -> list[str]:
        """A dotted key: bare, "basic" or 'literal' parts."""
        parts: list[str] = []
        while True:
            self.skip_blank(newlines=False)
            char = self.peek()
            if char == '"':
                start = self.i + 1
                self.advance()
                while self.peek() not in ('"', ""):
                    self.advance(2 if self.peek() == "\\" else 1)
                parts.append(tomllib.loads(f"k = {self.text[start - 1 : self.i + 1]}")["k"])
                self.advance()
            elif char == "'":
                start = self.i + 1
                self.advance()
                while self.peek() not in ("'", ""):
                    self.advance()
                parts.append(self.text[start : self.i])
                self.advance()
            else:
                start = self.i
                while self.peek() and (self.peek().isalnum() or self.peek() in "_-"):
                    self.advance()
                parts.append(self.text[start : self.i])
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return parts
            self.advance()

    def resolve(self, keys: list[str]) -> Path_:
        """The concrete path of a dotted key: through the last table of each array of tables."""
        path: Path_ = ()
        for part in keys:
            path = (*path, part)
            if path in self.arrays:
                path = (*path, self.arrays[path])
        return path

    def string(self) -> None:
        quote = self.peek()
        if self.text.startswith(quote * 3, self.i):
            self.advance(3)
            while self.i < len(self.text):
                if quote == '"' and self.peek() == "\\":
                    self.advance(2)
                elif self.text.startswith(quote * 3, self.i):
                    self.advance(3)
                    while self.peek() == quote:  # up to two quotes may end the content
                        self.advance()
                    return
                else:
                    self.advance()
            return
        self.advance()
        while self.peek() not in (quote, "\n", ""):
            self.advance(2 if quote == '"' and self.peek() == "\\" else 1)
        self.advance()

    def value(self, path: Path_) -> None:
        char = self.peek()
        if char in ('"', "'"):
            self.string()
        elif char == "[":
            self.advance()
            index = 0
            while True:
                self.skip_blank(newlines=True)
                if self.peek() in ("]", ""):
                    self.advance()
                    return
                self.record((*path, index))
                self.value((*path, index))
                self.skip_blank(newlines=True)
                if self.peek() == ",":
                    self.advance()
                index += 1
        elif char == "{":
            self.advance()
            while True:
                self.skip_blank(newlines=False)
                if self.peek() in ("}", ""):
                    self.advance()
                    return
                inner = (*path, *self.key())
                self.record(inner)
                self.advance()  # =
                self.skip_blank(newlines=False)
                self.value(inner)
                self.skip_blank(newlines=False)
                if self.peek() == ",":
                    self.advance()
        else:  # number, boolean, date or time
            while self.peek() not in (",", "]", "}", "\n", "#", ""):
                self.advance()

    def scan(self) -> dict[Path_, int]:
        table: Path_ = ()
        while True:
            self.skip_blank(newlines=True)
            if self.i >= len(self.text):
                return self.lines
            if self.peek() == "[":
                array = self.peek(1) == "["
                self.advance(2 if array else 1)
                keys = self.key()
                if array:
                    parent = self.resolve(keys[:-1])
                    where = (*parent, keys[-1])
                    self.arrays[where] = self.arrays.get(where, -1) + 1
                    table = (*where, self.arrays[where])
                    self.record(where)
                else:
                    table = self.resolve(keys)
                self.record(table)
                while self.peek() not in ("\n", ""):
                    self.advance()
                continue
            keys = self.key()
            for depth in range(1, len(keys) + 1):  # texts.fr = … defines texts here too
                self.record((*table, *keys[:depth]))
            self.advance()  # =
            self.skip_blank(newlines=False)
            self.value((*table, *keys))


def key_lines(text: str) -> dict[Path_, int]:
    """Every table, key and array element of valid TOML text → the line it starts on."""
    return _Scanner(text).scan()


def line_of(lines: Mapping[Path_, int], path: Path_) -> int | None:
    """The line of `path`, or of the nearest enclosing thing that has one."""
    for depth in range(len(path), 0, -1):
        if path[:depth] in lines:
            return lines[path[:depth]]
    return None


def field_name(path: Path_) -> str:
    """("messages", 2, "texts", "bm") → "messages[3].texts.bm" (tables counted from 1)."""
    name = ""
    for part in path:
        name += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if name else part)
    return name
