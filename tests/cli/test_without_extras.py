"""The CLI without the optional extras: every command but `serve` works, and `serve` says which extra it needs."""
import subprocess
import sys

# hide the serve extra's packages from the child interpreter, as on an install without `[serve]`
HIDE = "import sys; [sys.modules.__setitem__(m, None) for m in ('starlette', 'fastapi', 'uvicorn', 'ray')]; "


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", HIDE + code], capture_output=True, text=True, timeout=300)


def test_commands_parse_and_run_without_the_serve_extra(tmp_path):
    corpus = tmp_path / "posts.txt"
    corpus.write_text("IMGID:1\nObama\tB-PER\nwaves\tO\n", encoding="utf8")
    done = run(
        "from spacy_mner.__main__ import main; "
        f"sys.exit(main(['convert', {str(corpus)!r}, {str(tmp_path / 'posts.spacy')!r}]))"
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "posts.spacy").is_file()


def test_serve_without_its_extra_names_the_extra(tmp_path):
    done = run(f"from spacy_mner.__main__ import main; sys.exit(main(['serve', {str(tmp_path)!r}]))")
    assert done.returncode == 1
    assert 'pip install "spacy-mner[serve]"' in done.stderr and "Traceback" not in done.stderr
