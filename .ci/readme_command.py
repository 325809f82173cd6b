"""Print the shell command that follows ``<!-- NAME-command -->`` in README.md.

Used by ``.ci/run`` (and tests) so CI runs exactly the README's commands.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_command(name: str, readme: Path = README) -> str:
    """Return the one-line command in the fenced block after ``<!-- {name}-command -->``."""
    pattern = rf"<!-- {re.escape(name)}-command -->\s*```bash\n(.+?)\n```"
    match = re.search(pattern, readme.read_text(encoding="utf-8"), re.S)
    if not match:
        raise SystemExit(f"README.md has no '<!-- {name}-command -->' block")
    return match.group(1).strip()


if __name__ == "__main__":
    print(readme_command(sys.argv[1]))
