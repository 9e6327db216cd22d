"""One prompt renderer: ``{name}`` placeholders filled in a single pass.

Values are inserted as they are and never scanned again, so a value that itself contains ``{tgt_name}``
or ``{answer}`` (user text, a model answer) comes out unchanged. Braces that name no given value stay.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def render_template(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each ``{name}`` whose name is in ``values`` replaced, in one pass."""
    return _PLACEHOLDER.sub(
        lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template
    )
