"""report.html in a real browser (headless Chromium through scripts/headless.py): every
image decodes, every table has rows, nothing is fetched from the network. The screenshot
lands in the test's tmp folder (pytest prints where with -rA; look at it after a change)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from support import mnist_available

from ganbench.cli import cli
from headless import open_page, unavailable

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=f"no headless browser: {unavailable()}")

COMMON = ["--profile", "smoke", "--log-every", "20", "--no-progress"]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """report.html over two ring8 runs (evaluated twice) and, with MNIST here, one MNIST run."""
    out = tmp_path_factory.mktemp("runs")
    ring = ["run", "dcgan", "hinge", "--dataset", "ring8", "--steps", "60", "--eval-every", "30"]
    result = CliRunner().invoke(cli, [*ring, *COMMON, "--out", str(out)])
    assert result.exit_code == 0, result.output
    if mnist_available():
        mnist = ["run", "dcgan", "--dataset", "mnist", "--steps", "10", "--data-limit", "256", "--batch-size", "32"]
        result = CliRunner().invoke(cli, [*mnist, "--eval-samples", "300", *COMMON, "--out", str(out)])
        assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["report", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out / "report.html"


def render(path: Path, screenshot: Path) -> dict:
    """Open `path`, wait for load, screenshot the whole page; what a reader's browser got."""
    with open_page() as seen:
        seen.page.goto(path.resolve().as_uri(), wait_until="load")
        images = seen.page.evaluate(
            "Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth}))"
        )
        tables = seen.page.evaluate(
            "Array.from(document.querySelectorAll('table')).map(t => t.querySelectorAll('tbody tr').length)"
        )
        seen.page.screenshot(path=str(screenshot), full_page=True)
        return {"images": images, "tables": tables, "requests": seen.requests, "blocked": seen.blocked}


def problems(page: dict, own_url: str) -> list[str]:
    bad = [f"image {i['alt']!r} did not load" for i in page["images"] if not (i["complete"] and i["width"] > 0)]
    bad += [f"table {k} has no rows" for k, rows in enumerate(page["tables"]) if rows == 0]
    bad += [f"fetched {url}" for url in page["requests"] if url != own_url]
    return bad


def test_report_renders_offline_with_every_image_and_table(report, tmp_path):
    shot = tmp_path / "report.png"
    page = render(report, shot)
    print(f"screenshot: {shot}")
    assert problems(page, report.resolve().as_uri()) == []
    datasets = 2 if mnist_available() else 1
    assert len(page["tables"]) == datasets  # one results table per dataset
    # ring8: 3 metrics x (curve + bar) + samples; MNIST: 6 metrics x 2 + samples + classes.
    assert len(page["images"]) == 7 + (14 if mnist_available() else 0)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_the_checks_catch_a_broken_image_an_empty_table_and_a_fetch(report, tmp_path):
    """The same checks on a copy with a remote stylesheet, a remote image, a broken one and an empty table."""
    broken = tmp_path / "broken.html"
    extra = (
        "<link rel='stylesheet' href='https://example.com/style.css'>"
        "<img alt='remote' src='http://192.0.2.1/x.png'><img alt='garbage' src='data:image/png;base64,AAAA'>"
        "<table><thead><tr><th>a</th></tr></thead><tbody></tbody></table></body>"
    )
    broken.write_text(report.read_text().replace("</body>", extra))
    page = render(broken, tmp_path / "broken.png")
    found = problems(page, broken.resolve().as_uri())
    assert "image 'remote' did not load" in found and "image 'garbage' did not load" in found
    assert f"table {len(page['tables']) - 1} has no rows" in found
    assert sorted(page["blocked"]) == ["http://192.0.2.1/x.png", "https://example.com/style.css"]


# --- scripts/tb_screenshot.py ------------------------------------------------------------
def test_tb_screenshot_of_two_runs_trained_with_tensorboard(tmp_path, capsys):
    pytest.importorskip("tensorboard")
    import tb_screenshot
    from PIL import Image

    out = tmp_path / "runs"
    args = ["run", "dcgan", "hinge", "--dataset", "ring8", "--steps", "40", "--eval-every", "20", "--tensorboard"]
    result = CliRunner().invoke(cli, [*args, *COMMON, "--out", str(out)])
    assert result.exit_code == 0, result.output
    shot = tmp_path / "tb.png"
    assert tb_screenshot.main([str(out), "--to", str(shot), "--tags", "modes|loss", "--height", "700"]) == 0
    said = capsys.readouterr().out
    assert "2 runs: ring8/dcgan/seed0, ring8/hinge/seed0; cards: eval/modes, train/d_loss, train/g_loss" in said
    with Image.open(shot) as im:
        assert im.size == (1400, 700)


def test_tb_screenshot_refuses_a_folder_without_event_files(tmp_path, capsys):
    import tb_screenshot

    with pytest.raises(SystemExit) as exit_info:
        tb_screenshot.main([str(tmp_path)])
    assert exit_info.value.code == 2
    assert f"no tb/ event files under {tmp_path}" in capsys.readouterr().err
