"""Strict, safe YAML loading for task and policy files.

PyYAML's safe loaders silently keep the last of two duplicate keys and expand aliases; both
are refused here. The document is composed into nodes first (libyaml's C parser when present,
passed explicitly: ~10x faster on large files), the node graph is checked, and only then
constructed by the safe constructor.
"""
from __future__ import annotations

from avorelo_gate.errors import BadInputError
from avorelo_gate.files import memo

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

    import yaml

MAX_YAML_BYTES = 1024 * 1024
MAX_DEPTH = 64

_STANDARD_TAGS = {
    "tag:yaml.org,2002:" + t
    for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
}

GLOB_HINT = ("quote patterns that start with '*', '!', '[', '{' or contain ': ' or ' #', "
             "e.g. scope: [\"*.py\"]")


def load_yaml(data: bytes, source: str) -> Any:
    """Parse one YAML document; every failure is a BadInputError naming ``source``.

    Where the clone's memo is open (the commit and agent hooks), a document parsed before is
    taken from it, and PyYAML is not even imported: failures are never kept, so a broken file
    fails the same way every time."""
    kept = memo.get("yaml", data)
    if isinstance(kept, dict) and "document" in kept:
        return kept["document"]
    document = _parse(data, source)
    if memo.is_open() and memo.is_plain(document):
        memo.put("yaml", data, {"document": document})
    return document


def _loader() -> type[Any]:
    import yaml

    try:
        loader: type[Any] = yaml.CSafeLoader
    except AttributeError:  # PyYAML built without libyaml
        loader = yaml.SafeLoader
    return loader


def _parse(data: bytes, source: str) -> Any:
    import yaml

    if len(data) > MAX_YAML_BYTES:
        raise BadInputError(f"{source}: file is {len(data)} bytes; the limit is "
                            f"{MAX_YAML_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise BadInputError(f"{source}: not UTF-8 (byte {e.start}): save it as UTF-8") from e
    if "\t" in text and _tab_indented(text):
        line = next(i for i, ln in enumerate(text.splitlines(), 1)
                    if ln[:len(ln) - len(ln.lstrip())].count("\t"))
        raise BadInputError(f"{source}:{line}: tab used for indentation; YAML indents with "
                            "spaces")
    loader = _loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node, source)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as e:
        raise BadInputError(_marked(source, e)) from e
    except yaml.YAMLError as e:
        raise BadInputError(f"{source}: invalid YAML: {_one_line(str(e))}") from e
    except RecursionError as e:
        raise BadInputError(f"{source}: nested too deeply") from e
    finally:
        loader.dispose()


def _tab_indented(text: str) -> bool:
    return any(ln[:len(ln) - len(ln.lstrip())].count("\t") for ln in text.splitlines()
               if ln.strip() and not ln.lstrip().startswith("#"))


def _marked(source: str, e: yaml.MarkedYAMLError) -> str:
    import yaml

    mark = e.problem_mark or e.context_mark
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
    problem = e.problem or e.context or "invalid YAML"
    if e.context and problem.startswith("but "):
        # libyaml splits one sentence in two: "expected a single document in the stream",
        # "but found another document"; the second half alone says nothing.
        problem = f"{e.context}, {problem}"
    if "nesting depth" in problem:
        # libyaml's own cap (1000 levels) fires before ours: no glob is to blame.
        return f"{where}: nested too deeply ({_one_line(problem)})"
    hint = ""
    if isinstance(e, (yaml.scanner.ScannerError, yaml.parser.ParserError)):
        hint = f" (hint: {GLOB_HINT})"
    return f"{where}: {_one_line(problem)}{hint}"


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def _check_nodes(root: yaml.Node, source: str) -> None:
    """Refuse aliases, duplicate keys, non-standard tags and deep nesting, iteratively."""
    import yaml

    seen: set[int] = set()
    stack: list[tuple[yaml.Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        where = f"{source}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"
        if id(node) in seen:
            # The composer hands back the anchored node itself for every alias.
            raise BadInputError(f"{where}: YAML aliases and anchors are not allowed here")
        seen.add(id(node))
        if depth > MAX_DEPTH:
            raise BadInputError(f"{where}: nested deeper than {MAX_DEPTH} levels")
        if node.tag not in _STANDARD_TAGS:
            raise BadInputError(f"{where}: tag {node.tag!r} is not allowed (plain YAML only)")
        if isinstance(node, yaml.MappingNode):
            keys: dict[str, yaml.Node] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise BadInputError(f"{where}: mapping keys must be plain strings")
                if key_node.value == "<<" and key_node.tag.endswith(":merge"):
                    raise BadInputError(f"{where}: merge keys ('<<') are not allowed")
                if key_node.value in keys:
                    first = keys[key_node.value].start_mark.line + 1
                    raise BadInputError(
                        f"{source}:{key_node.start_mark.line + 1}: duplicate key "
                        f"{key_node.value!r} (first defined on line {first})")
                keys[key_node.value] = key_node
                stack.append((key_node, depth + 1))
                stack.append((value_node, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
