"""PNS feedback and registry hygiene: applying dead-handle reports, removing what outlived
itself, and the ``GET /{hub}/feedback`` API that shows what was pruned."""
