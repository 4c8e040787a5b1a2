"""What the generators share: text as a Swift raw string literal, and writing a generated file."""
import os


def swift_literal(text: str) -> str:
    """`text` as a multi-line raw string literal, with enough `#`s that nothing in it ends the literal early."""
    hashes = "#"
    while '"""' + hashes in text or '"' + hashes in text:
        hashes += "#"
    return hashes + '"""\n' + text + '\n"""' + hashes  # the newline before the delimiter is not part of the string


def write(path: str, lines: list) -> None:
    """Writes a generated Swift file, creating its folder."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
