"""The docs stay true to the project: project.md's generated part matches project.yml, the README links to
every docs page, and no relative link in the README or docs/ points at a missing file or heading."""
import re
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import FrozenSet, Iterator, Tuple

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PROJECT_MD = DOCS / "project.md"
WEASEL_START = "<!-- WEASEL: AUTO-GENERATED DOCS START (do not remove) -->"
WEASEL_END = "<!-- WEASEL: AUTO-GENERATED DOCS END (do not remove) -->"

FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")  # inline links and images: [text](target), ![alt](target)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def prose(path: Path) -> str:
    """The page's Markdown outside code blocks, without weasel's generated part: its links are relative
    to the project's root, where weasel writes them from, not to docs/."""
    text = path.read_text(encoding="utf8")
    if WEASEL_START in text:
        text = text.split(WEASEL_START)[0] + text.split(WEASEL_END)[-1]
    return FENCE.sub("", text)


@lru_cache(maxsize=None)
def anchors(path: Path) -> FrozenSet[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces as hyphens, -1, -2 ... for repeats."""
    seen: dict = {}
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf8"))):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        seen[slug] = seen.get(slug, -1) + 1
        if seen[slug]:
            seen[f"{slug}-{seen[slug]}"] = 0
    return frozenset(seen)


def relative_links(path: Path) -> Iterator[Tuple[str, Path, str]]:
    """(link as written, file it names, anchor) for each link that is not a URL."""
    for target in LINK.findall(INLINE_CODE.sub("", prose(path))):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        yield target, (path.parent / file).resolve() if file else path, anchor


def test_project_md_is_generated_from_project_yml(tmp_path):
    text = PROJECT_MD.read_text(encoding="utf8")
    assert WEASEL_START in text and WEASEL_END in text, f"{PROJECT_MD} lost weasel's markers"
    regenerated = tmp_path / "project.md"
    shutil.copy(PROJECT_MD, regenerated)
    subprocess.run([sys.executable, "-m", "weasel", "document", str(ROOT), "--output", str(regenerated)],
                   check=True, capture_output=True, timeout=300)
    assert regenerated.read_text(encoding="utf8") == text, (
        "docs/project.md is older than project.yml: run `python -m spacy project run document .`")


def test_readme_links_every_docs_page():
    linked = {file for _, file, _ in relative_links(README)}
    missing = [page.name for page in sorted(DOCS.glob("*.md")) if page.resolve() not in linked]
    assert DOCS.is_dir() and not missing, f"README.md does not link these docs pages: {missing}"


def test_relative_links_name_existing_files_and_headings():
    broken = []
    for page in [README, *sorted(DOCS.glob("*.md"))]:
        for target, file, anchor in relative_links(page):
            if not file.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and file.suffix == ".md" and anchor not in anchors(file):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)
