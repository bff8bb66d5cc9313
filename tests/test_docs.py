"""The docs show the equations as the models generate them (never stale), and state the domains."""
from pathlib import Path

import pytest

from asymptotics.models import kernel_ridge, random_features, ridge

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.parametrize("page,model", [("ridge.md", ridge.RIDGE), ("ridge.md", ridge.RIDGE_SPECTRUM),
                                        ("random_features.md", random_features.RANDOM_FEATURES),
                                        ("kernel_ridge.md", kernel_ridge.KERNEL_RIDGE),
                                        ("kernel_ridge.md", kernel_ridge.KERNEL_RIDGE_LIMIT)])
def test_docs_contain_the_generated_latex(page, model):
    assert model.latex() in (DOCS / page).read_text(), \
        f"docs/{page} is stale: paste {model.name}'s model.latex() into it"


def test_every_docs_page_is_linked_from_the_index():
    index = (DOCS / "index.md").read_text()
    for page in DOCS.glob("*.md"):
        if page.name != "index.md":
            assert f"({page.name})" in index, page.name
