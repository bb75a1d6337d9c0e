"""An HTML template for `dvc plots show` that works with no internet.

DVC's default page loads vega, vega-lite and vega-embed from a CDN. This template inlines the same libraries from
the ``vl-convert-python`` bundle (which sets ``window.vegaEmbed``) and leaves out DVC's ``{scripts}`` placeholder,
so no external script is referenced. ``make plots`` writes it and renders the plots with it.

    python -m dtgan.reports.offline_html .dvc/plots/offline.html
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from dtgan.runtime import write_text

EXTERNAL_RESOURCE = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""",
                               re.IGNORECASE)


def offline_template() -> str:
    import vl_convert

    bundle = vl_convert.javascript_bundle()
    head = '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>dtgan plots</title>\n'
    body = "</head>\n<body>\n{plot_divs}\n</body>\n</html>\n"
    return f'{head}<script type="text/javascript">\n{bundle}\n</script>\n{body}'


def external_resources(html: str) -> list[str]:
    """Tags that would load something from another host (what must be empty for an offline page)."""
    return EXTERNAL_RESOURCE.findall(html)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?", default=Path(".dvc/plots/offline.html"))
    args = parser.parse_args(argv)
    write_text(args.out, offline_template())
    return 0


if __name__ == "__main__":
    main()
