"""Collects the examples of the project's documents as tests (tests/docs/harness.py runs them).

The documents live outside tests/, where pytest never looks, so this folder's conftest.py is
the anchor: when pytest visits it, it yields one collector per document (node ids such as
`docs/cli.md::line:53`) and one item per example.

What an example may depend on (harness.World): the page's files (written when the page starts),
its setup steps, its Python blocks (one namespace per page) and the servers or workers it
started; each shell block otherwise works in its own copy of the page's folder, with its own
store. pytest-xdist may hand a page's examples to two workers, so an item first runs, quietly,
those earlier examples of its page that this worker has not run (`needs_replay`): the result
is the same whichever worker runs what.
"""

from __future__ import annotations

import contextlib
import unittest
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sybil import Document, Example
from sybil.evaluators.skip import Skipper
from sybil.parsers.markdown import SkipParser

from tests.docs.defects import KNOWN_ENGINE_DEFECTS
from tests.docs.harness import (
    COMMAND_TIMEOUT,
    REPO,
    FileBlock,
    block_source,
    needs_replay,
    parse_document,
    setup_document,
    teardown_document,
    write_file,
)

DOCUMENTS = (
    "README.md",
    "asl_examples/README.md",
    "asl_examples/order_fulfilment/README.md",
    "docs/*.md",
)
PARSERS = (parse_document, SkipParser())


def is_skip(example: Example) -> bool:
    return isinstance(example.region.evaluator, Skipper)


def documents() -> list[Path]:
    found: list[Path] = []
    for pattern in DOCUMENTS:
        found.extend(sorted(REPO.glob(pattern)))
    return found


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path == Path(__file__):
        return DocsCollector.from_parent(parent, path=file_path)
    return None


class DocsCollector(pytest.File):
    """The anchor: one DocFile per document."""

    def collect(self) -> Iterator[DocFile]:
        for path in documents():
            yield DocFile.from_parent(self, path=path)


class DocFile(pytest.File):
    """One document: its examples in order, its scratch world set up and torn down around them."""

    document: Document

    def collect(self) -> Iterator[DocItem]:
        self.document = Document.parse(str(self.path), *PARSERS)
        relative = self.path.relative_to(REPO).as_posix()
        for example in self.document.examples():
            item = DocItem.from_parent(self, name=f"line:{example.line}", example=example)
            source = block_source(example)
            for defect in KNOWN_ENGINE_DEFECTS:
                if defect.doc == relative and defect.block in source:
                    item.add_marker(pytest.mark.xfail(reason=defect.symptom, strict=True))
            yield item

    def setup(self) -> None:
        setup_document(self.document.namespace)
        # the files a page shows exist from the start: a page may show them after their use
        # (an appendix), and writing one twice changes nothing
        for example in self.document.examples():
            if isinstance(example.parsed, FileBlock):
                write_file(example)

    def teardown(self) -> None:
        teardown_document(self.document.namespace)


class DocItem(pytest.Item):
    def __init__(self, *, example: Example, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.example = example
        # a whole block (several commands, a server start) may take a few command timeouts
        self.add_marker(pytest.mark.timeout(4 * COMMAND_TIMEOUT))

    def runtest(self) -> None:
        examples = list(self.example.document.examples())
        index = next(i for i, e in enumerate(examples) if e.start == self.example.start)
        done: set[int] = self.example.namespace.setdefault("_done", set())
        # Another xdist worker may have run this page's earlier examples: run here, quietly,
        # those this one may depend on (needs_replay), each with the skip directive before it.
        for position, earlier in enumerate(examples[:index]):
            if earlier.start in done:
                continue
            following = examples[position + 1]
            if needs_replay(earlier) or (
                is_skip(earlier) and (position + 1 == index or needs_replay(following))
            ):
                done.add(earlier.start)
                with contextlib.suppress(Exception):
                    earlier.evaluate()
        done.add(self.example.start)
        try:
            self.example.evaluate()
        except unittest.SkipTest as skip:  # Sybil's `skip:` directive: say where
            pytest.skip(f"{self.path.relative_to(REPO)}:{self.example.line}: {skip}")

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.example.line - 1, f"{self.path.name}:{self.example.line}"

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        from tests.docs.harness import DocExampleFailed

        where = f"{self.path.relative_to(REPO)}:{self.example.line}"
        if isinstance(excinfo.value, DocExampleFailed):
            return f"{where}: {excinfo.value}"
        # a Python block raised: its own lines, not the harness's or a library's frames
        source = str(getattr(self.example.parsed, "source", "")).split("\n")
        lines = [
            f"  block line {entry.lineno + 1}: {source[entry.lineno].strip()}"
            for entry in excinfo.traceback
            if str(entry.path).startswith(str(self.path)) and entry.lineno < len(source)
        ]
        return "\n".join([f"{where}: the Python block raised", *lines, excinfo.exconly()])
