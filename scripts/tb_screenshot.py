"""Screenshot TensorBoard's scalar curves for a folder of run directories (for the README).

    python scripts/tb_screenshot.py runs/ --to docs/tensorboard.png [--tags 'modes|reverse_kl']

Starts TensorBoard on the run directories' tb/ event files (written by --tensorboard or
`ganbench export-tb`) on a free port of 127.0.0.1, each run named by its path below the
folder (ring8/dcgan/seed0); waits until it serves scalars for every run; opens its Time
Series page showing scalars only (TensorBoard's current scalars view; the legacy Scalars
tab draws no lines in headless Chromium) in headless Chromium (scripts/headless.py, the
same driver as tests/test_report_browser.py), with `?forceSVG=true` (its WebGL charts
draw no lines there either), and writes a PNG of the window (TensorBoard scrolls inside
the page: make --height taller for more cards). Requests leaving 127.0.0.1 are blocked
and listed. Exit 2 on bad input, 1 when TensorBoard or its charts do not come up.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from headless import open_page, unavailable


def tb_runs(folder: Path) -> dict[str, Path]:
    """{name: tb folder} for every run directory under `folder` that has event files."""
    found = {}
    for events in sorted(folder.rglob("events.out.tfevents.*")):
        tb = events.parent
        if tb.name == "tb":
            found[tb.parent.relative_to(folder).as_posix() or tb.parent.name] = tb
    return found


def link_runs(runs: dict[str, Path], logdir: Path) -> Path:
    """A folder where each run's event files sit (as links) under its name, so TensorBoard
    names the run ring8/dcgan/seed0 rather than ring8/dcgan/seed0/tb."""
    for name, tb in runs.items():
        (logdir / name).mkdir(parents=True)
        for events in tb.glob("events.out.tfevents.*"):
            (logdir / name / events.name).symlink_to(events.resolve())
    return logdir


def screenshot(url: str, allow: tuple[str, ...], args) -> tuple[list[str], list[str]]:
    """Open the Time Series page with --smoothing, show scalars only (matching --tags),
    scale each chart to all its points, open every group, write the PNG; returns the
    blocked requests and the tags of the cards shown (some may lie below the window)."""
    timeout = args.timeout * 1000
    with open_page(allow=allow, width=args.width, height=args.height) as seen:
        page = seen.page
        # TensorBoard's saved settings, read at start: no smoothing unless asked, and each
        # chart scaled to all its points ("ignore outliers", on by default, cuts the rest off).
        settings = {"scalarSmoothing": args.smoothing, "ignoreOutliers": False}
        page.add_init_script(f"localStorage.setItem('_tb_global_settings', {json.dumps(json.dumps(settings))})")
        page.goto(url, wait_until="networkidle")
        page.locator("line-chart svg path").first.wait_for(state="visible", timeout=timeout)
        page.locator("button", has_text="Scalars").first.click()
        if args.tags:
            page.locator("input[placeholder='Filter tags (regex)']").fill(args.tags)
        if page.locator("metrics-dashboard-right-pane").is_visible():
            page.locator("button[aria-label='Toggle settings side pane']").click()
        for collapsed in page.locator("button.group-toolbar:has(mat-icon[svgicon='expand_more_24px']):visible").all():
            collapsed.click()  # TensorBoard opens only the first groups of cards
        page.wait_for_load_state("networkidle")
        page.locator("line-chart svg path:visible").first.wait_for(timeout=timeout)
        page.wait_for_timeout(1500)  # the cards settle after a relayout
        args.to.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.to))
        cards = [tag.get_attribute("title") for tag in page.locator("card-view:visible tb-truncated-path.tag").all()]
        return list(seen.blocked), cards


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def wait_for_scalars(base: str, runs: int, proc: subprocess.Popen, timeout: float) -> None:
    """Until TensorBoard answers with scalar tags for `runs` runs (it loads event files in the background)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"TensorBoard exited with status {proc.returncode} (its log is above)")
        try:
            tags = get_json(f"{base}/data/plugin/scalars/tags")
            if len([run for run, t in tags.items() if t]) >= runs:
                return
            last = f"scalars of {len(tags)} of {runs} runs loaded"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.5)
    raise SystemExit(f"TensorBoard was not ready within {timeout:.0f}s ({last})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="a folder of run directories (an --out folder)")
    parser.add_argument("--to", type=Path, default=Path("tensorboard.png"), help="the PNG to write")
    parser.add_argument("--tags", default="", help="only tags matching this regular expression (TensorBoard's filter)")
    parser.add_argument("--smoothing", type=float, default=0.0, help="TensorBoard's smoothing, 0 to 0.999")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1400)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for TensorBoard and its charts")
    args = parser.parse_args(argv)

    if not 0 <= args.smoothing < 1:
        parser.error("--smoothing must be in [0, 1)")
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    runs = tb_runs(args.folder)
    if not runs:
        parser.error(f"no tb/ event files under {args.folder}; train with --tensorboard or run `ganbench export-tb`")
    reason = unavailable()
    if reason:
        parser.error(f"no headless browser: {reason}")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        logdir = link_runs(runs, Path(tmp) / "logdir")
        command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", "127.0.0.1"]
        command += ["--port", str(port)]
        # HOME: TensorBoard keeps its process info there; a temporary one leaves the user's alone.
        log = Path(tmp) / "tensorboard.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(command, env={**os.environ, "HOME": tmp}, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for_scalars(base, len(runs), proc, args.timeout)
            blocked, cards = screenshot(f"{base}/?forceSVG=true#timeseries", (base,), args)
        except (SystemExit, Exception) as exc:  # playwright's TimeoutError too: one line, TensorBoard's log
            sys.stderr.write(log.read_text(errors="replace")[-2000:])
            message = exc.code if isinstance(exc, SystemExit) else f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
            print(f"error: {message}", file=sys.stderr)
            return 1
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    for url in blocked:
        print(f"blocked (not fetched): {url}", file=sys.stderr)
    print(f"{args.to} ({len(runs)} runs: {', '.join(runs)}; cards: {', '.join(cards)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
