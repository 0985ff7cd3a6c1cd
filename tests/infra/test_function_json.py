"""Every function folder's function.json agrees with its handler, and no two HTTP routes collide.

A failure names the folder and says what is wrong; the rules are in infra/check_function_json.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.check_function_json import (
    check_function_folder,
    check_routes,
    function_folders,
    route_prefix,
)

REPO = Path(__file__).resolve().parents[2]
_FOLDERS = function_folders(REPO)


@pytest.mark.parametrize("folder", _FOLDERS, ids=[f.name for f in _FOLDERS])
def test_function_folder_is_valid(folder: Path) -> None:
    problems = check_function_folder(folder)
    assert not problems, f"{folder.name}/function.json:\n  " + "\n  ".join(problems)


def test_http_routes_do_not_collide() -> None:
    problems = check_routes(_FOLDERS, route_prefix(REPO))
    assert not problems, "\n".join(problems)


def test_the_repo_has_function_folders() -> None:
    names = {f.name for f in _FOLDERS}
    assert {"register_installation", "send_notification", "health"} <= names
