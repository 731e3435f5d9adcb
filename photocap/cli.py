"""The `photocap` command line. Commands only parse, call one function and print; heavy modules (torch, the
catalog) are imported inside the commands that need them, so `photocap search` starts fast."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from photocap.config import ConfigError, Settings, load_settings
from photocap.wording import counted

if TYPE_CHECKING:
    from photocap.export import ExportReport

EXIT_NOTHING_FOUND, EXIT_INPUT_ERROR, EXIT_PARTIAL_FAILURE = 1, 2, 3
SEARCH_LIMIT = 20  # results of `search`, and photos `export --query` writes, unless --limit says otherwise
MAYBE_SHOWN = 10  # photos only weaker guesses rank, listed apart after the results when fewer than --limit


class InputError(click.ClickException):
    """A usage or input error: one line on stderr, exit code 2."""

    exit_code = EXIT_INPUT_ERROR


def _settings(ctx: click.Context, **overrides) -> Settings:
    try:
        return load_settings(ctx.obj["config"], ctx.obj["home"], **overrides)
    except ConfigError as error:
        raise InputError(str(error)) from None


def _prepare_home(home: Path) -> None:
    """A home that cannot be used is said in one line before anything slow is imported."""
    from photocap.lock import HomeUnusable, prepare_home

    try:
        prepare_home(home)
    except HomeUnusable as error:
        raise InputError(str(error)) from None


def _check_engine(settings: Settings) -> None:
    """`--engine ray` (or `engine = "ray"` in the config) without Ray installed is one line, before any work."""
    if settings.engine == "ray":
        from photocap.indexing.ray_engine import INSTALL_HINT, ray_installed

        if not ray_installed():
            raise InputError(f"--engine ray needs Ray, which is not installed: {INSTALL_HINT}")


def _product_errors() -> tuple[type[Exception], ...]:
    """The exceptions that mean bad input or state, reported as one line rather than a traceback."""
    from photocap.catalog.store import CatalogError
    from photocap.indexing.ray_engine import RayEngineError
    from photocap.lock import HomeLocked, HomeUnusable
    from photocap.model.checkpoint import CheckpointError
    from photocap.search.index import SearchIndexError, SearchQueryError

    return (CatalogError, CheckpointError, HomeLocked, HomeUnusable, RayEngineError, SearchIndexError,
            SearchQueryError, ValueError, OSError)


def _printable(path: str) -> str:
    """A path for a text line: bytes of a name that is not UTF-8 are shown as \\xNN escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _progress(description: str, total: int):
    from tqdm import tqdm

    bar = tqdm(total=total, desc=description, unit="photo", file=sys.stderr, dynamic_ncols=True,
               disable=None)  # None: no bar when stderr is not a terminal
    return bar.update


device_option = click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
                             help="Where the captioner runs (default auto: CUDA when present).")
precision_option = click.option(
    "--precision", type=click.Choice(["auto", "fp32", "bf16"]), default=None,
    help="The encoder's number format (default auto: bf16 on a CPU that computes it natively, AMX or "
         "AVX512-BF16; fp16 on CUDA; else fp32).")
batch_option = click.option("--batch-size", type=click.IntRange(min=1), default=None,
                            help="Photos per batch (default 32).")
workers_option = click.option("--workers", type=click.IntRange(min=0), default=None,
                              help="Decoding processes (default min(4, CPUs)).")
beam_option = click.option("--beam-size", type=click.IntRange(min=1, max=20), default=None,
                           help="Caption beam width (default 3; 1 is greedy).")
model_option = click.option("--model", default=None, help="Shipped model name or checkpoint file (default: the best).")
encoder_weights_option = click.option(
    "--encoder-weights", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="The encoder's weights file, for a model trained on weights photocap does not install.")
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
follow_symlinks_option = click.option("--follow-symlinks", is_flag=True, default=None,
                                      help="Follow symbolic links (loops are skipped).")
detect_option = click.option("--detect/--no-detect", default=None,
                             help="Look for objects with the COCO detector (default: on; config key detect).")


def indexing_options(command):
    """The options `index` and `watch` share: how folders are walked and how photos are captioned."""
    for option in reversed((follow_symlinks_option, device_option, precision_option, batch_option, workers_option,
                            beam_option, detect_option,
                            model_option, encoder_weights_option, json_option)):
        command = option(command)
    return command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), envvar="PHOTOCAP_HOME", default=None,
              help="Folder holding catalog.db and index/ (env PHOTOCAP_HOME; default $XDG_DATA_HOME/photocap).")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="TOML settings file (see config.example.toml).")
@click.version_option(package_name="photocap")
@click.pass_context
def main(ctx: click.Context, home: Path | None, config: Path | None) -> None:
    """Caption your photos and find them by describing them.

    \b
    Example:
        photocap index ~/Pictures
        photocap search "a dog running on the beach"
    """
    ctx.obj = {"home": home, "config": config}


@main.command()
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--recaption-older", is_flag=True,
              help="Re-caption photos captioned by another model, or not looked at by the current detector.")
@click.option("--engine", type=click.Choice(["builtin", "ray"]), default=None,
              help="Who decodes and captions: builtin (this machine, the default) or ray (a Ray cluster; needs "
                   "photocap[ray]; see docs/RAY.md).")
@click.option("--ray-address", default=None, metavar="ADDR",
              help="With --engine ray: the cluster to join (host:port, or ray://host:port). Default: a local Ray "
                   "started for the run.")
@click.option("--ship-bytes", is_flag=True, default=None,
              help="With --engine ray: read the photos here and send their bytes to the workers, for nodes that "
                   "do not see them at the same path.")
@indexing_options
@click.pass_context
def index(ctx, paths, recaption_older, engine, ray_address, ship_bytes, follow_symlinks, device, precision,
          batch_size, workers, beam_size, detect, model, encoder_weights, as_json):
    """Scan folders; caption new and changed photos; record moves and removals. Captions and keywords the
    photos already carry (XMP, IPTC, EXIF, and XMP sidecars photo.jpg.xmp / photo.xmp) are read too, and win
    over the model's.

    Photo types: JPEG (.jpg .jpeg), PNG, WebP, TIFF, BMP, GIF, HEIC/HEIF (.heic .heif .hif), AVIF, and camera
    RAW (.dng .cr2 .cr3 .nef .arw .raf .orf .rw2), read through the JPEG preview they embed.

    \b
    Example:
        photocap index ~/Pictures ~/Phone --json
        photocap index /shared/photos --engine ray --ray-address 10.0.0.5:6379
    """
    settings = _settings(ctx, device=device, precision=precision, batch_size=batch_size, workers=workers,
                         beam_size=beam_size, model=model, encoder_weights=encoder_weights,
                         follow_symlinks=follow_symlinks, engine=engine, ray_address=ray_address,
                         ship_bytes=ship_bytes, detect=detect)
    if settings.engine != "ray" and (ray_address or ship_bytes):
        raise InputError("--ray-address and --ship-bytes go with --engine ray")
    _check_engine(settings)
    _prepare_home(settings.home)
    import threading

    from photocap.indexing.pipeline import run_index
    from photocap.indexing.signals import EXIT_INTERRUPTED, stop_on_signals

    stopping = threading.Event()
    try:
        with stop_on_signals(stopping.set):
            report = run_index(settings, list(paths), recaption_older=recaption_older, progress=_progress,
                               should_stop=stopping.is_set)
    except _product_errors() as error:
        raise InputError(str(error)) from None
    except KeyboardInterrupt:  # a second Ctrl-C: stopped at once, in the middle of a batch
        click.echo("interrupted: the photos captioned so far are kept; run the same command again to go on",
                   err=True)
        ctx.exit(EXIT_INTERRUPTED)
    if as_json:
        click.echo(json.dumps(report.as_json(), default=str))
    else:
        click.echo(report.summary_line())
        for failure in report.new_failed:
            click.echo(f"error: {_printable(failure['path'])}: {failure['error']}", err=True)
        if report.errors > report.new_errors:
            earlier = report.errors - report.new_errors
            click.echo(f"{counted(earlier, 'photo')} failed before and still {'does' if earlier == 1 else 'do'}; "
                       "`photocap status` lists them", err=True)
    if report.without_photos:
        from photocap.metadata.formats import SUPPORTED_TYPES

        for root in report.without_photos:
            click.echo(f"no photos found under {_printable(root)} (photocap reads {SUPPORTED_TYPES})", err=True)
    if report.links_skipped:
        click.echo(f"{counted(report.links_skipped, 'symbolic link')} under the folders not followed "
                   "(--follow-symlinks, or follow_symlinks = true in the config, follows them)", err=True)
    if report.interrupted:
        click.echo(f"interrupted: {report.captioned} of {counted(report.to_caption, 'photo')} captioned; run the "
                   "same command again to go on" if report.to_caption else
                   "interrupted while looking for photos; run the same command again to go on", err=True)
        ctx.exit(EXIT_INTERRUPTED)
    if report.new_errors:
        ctx.exit(EXIT_PARTIAL_FAILURE)


@main.command()
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--polling", is_flag=True, help="Poll the folders for changes instead of asking the system "
              "(automatic on network and FUSE mounts, and when inotify cannot start).")
@click.option("--debounce", type=click.FloatRange(min=0.1), default=1.5, show_default=True, metavar="SECONDS",
              help="Quiet time after the last file event before the changed folders are indexed.")
@indexing_options
@click.pass_context
def watch(ctx, paths, polling, debounce, follow_symlinks, device, precision, batch_size, workers, beam_size,
          detect, model, encoder_weights, as_json):
    """Index folders, then keep indexing them as photos appear, change, move or vanish, until Ctrl-C or
    SIGTERM (the batch in flight is finished first). With --json, one object per line for each photo
    handled: {"path", "action", "caption"}, action being new or changed (with "tags"), moved (with "from"),
    missing, restored, metadata (its XMP sidecar changed: caption and keywords read again), error (with
    "error"), held (most of a folder vanished at once, as when a mount drops: its
    photos are kept until they come back, or until `photocap index` confirms they are gone) or resumed.

    \b
    Example:
        photocap watch ~/Pictures --json
    """
    settings = _settings(ctx, device=device, precision=precision, batch_size=batch_size, workers=workers,
                         beam_size=beam_size, model=model, encoder_weights=encoder_weights,
                         follow_symlinks=follow_symlinks, detect=detect)
    # Always the built-in engine: a file event's batch is small, and a Ray run starts its actors (and loads the
    # model in each) for every batch, which costs more than captioning the batch here.
    settings = replace(settings, engine="builtin")
    _prepare_home(settings.home)
    from photocap.indexing.scan import ScanError
    from photocap.indexing.watch import run_watch

    def report(event: dict) -> None:
        if as_json:
            click.echo(json.dumps(event))
            return
        line = f"{event['action']:<8} {_printable(event['path'])}"
        if event.get("from"):
            line += f" (from {_printable(event['from'])})"
        if event.get("caption"):
            line += f": {event['caption']}"
        if event.get("error"):
            line += f": {event['error']}"
        if event["action"] == "held":
            line += (f": {event['gone']} of {counted(event['photos'], 'photo')} vanished at once; kept until they "
                     "come back")
        click.echo(line)

    try:
        run_watch(settings, list(paths), polling=polling, debounce_s=debounce, on_event=report,
                  log=lambda message: click.echo(_printable(message), err=True), progress=_progress)
    except (ScanError, *_product_errors()) as error:
        raise InputError(str(error)) from None


class QueryCommand(click.Command):
    """A command whose query may start with a dash (`search -cat`: a word excluded, not an option), while an unknown
    `--option` is still named as one ("No such option: --paths-only Did you mean --paths?"), not taken for a
    second query."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        known = {name for param in self.get_params(ctx) for name in (*param.opts, *param.secondary_opts)}
        for arg in args:
            if arg == "--":
                break
            name = arg.split("=", 1)[0]
            if name.startswith("--") and len(name) > 2 and name not in known:
                raise click.NoSuchOption(name, possibilities=sorted(known), ctx=ctx)
        return super().parse_args(ctx, args)


@main.command(cls=QueryCommand, context_settings={"ignore_unknown_options": True})
@click.argument("query")
@click.option("--limit", type=click.IntRange(min=1), default=SEARCH_LIMIT, show_default=True,
              help="Most results shown.")
@click.option("--folder", type=click.Path(file_okay=False, path_type=Path), help="Only photos under this folder.")
@click.option("--after", help="Only photos taken on or after this day (YYYY-MM-DD): the EXIF date, else the XMP "
              "date (embedded or in a sidecar), else a date in the file name, else the file's modification time "
              "(`photocap show` says which).")
@click.option("--before", help="Only photos taken on or before this day (YYYY-MM-DD), dated as for --after.")
@click.option("--camera", help="Only photos whose camera make or model matches.")
@click.option("--place", help="Only photos taken at this place: every word of it among the place's city, region, "
              "country names or country code (accents aside), from GPS or the files' location fields.")
@click.option("--near", metavar="LAT,LON", help="Only photos whose GPS position is within --within KM of this point.")
@click.option("--within", type=click.FloatRange(min=0, min_open=True), metavar="KM", help="The distance for --near.")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Only photos with this tag (repeatable: all of "
              "them), e.g. --tag dog --tag beach.")
@json_option
@click.option("--paths", "paths_only", is_flag=True, help="Print only paths, one per line.")
@click.option("-0", "null_separated", is_flag=True, help="Print only paths, NUL-separated (for xargs -0).")
@click.pass_context
def search(ctx, query, limit, folder, after, before, camera, place, near, within, tags, as_json, paths_only,
           null_separated):
    """Find photos by description (plain words, or Whoosh syntax: AND OR NOT "phrase" dog*). Words are looked
    for in captions, tags (with their synonyms: "plane" finds airliners) and the model's likely words; each
    result says what it matched. A word no photo has is named on stderr.

    \b
    Examples:
        photocap search "a dog runs on the beach"
        photocap search pizza --tag food --json
        photocap search "dog -cat"                      # a dash excludes a word
        photocap search 'dog AND (beach OR sand) NOT ball' --after 2023-01-01 --json
        photocap search "kids playing in snow" -0 | xargs -0 open
        photocap search "beach summer 2019" --place portugal   # years, months, seasons become date filters
        photocap search "snow last winter" --near 46.02,7.75 --within 30
    """
    from photocap.search.evidence import matched_text
    from photocap.search.library import SearchFilters, SearchRequestError, parse_day, parse_near, search_library

    settings = _settings(ctx)
    try:
        position, within_km = parse_near(near, within)
        filters = SearchFilters(folder=folder, after=parse_day(after, "--after"), before=parse_day(before, "--before"),
                                camera=camera, tags=tuple(tags), place=place, near=position, within_km=within_km)
        maybe = 0 if (paths_only or null_separated) else MAYBE_SHOWN  # scripts get the results alone
        results = search_library(settings.home, query, filters, limit=limit, maybe=maybe)
    except SearchRequestError as error:
        raise InputError(str(error)) from None
    hits, unknown = results.hits, results.unknown
    read = results.reading.as_json() if results.reading else None
    if read:
        click.echo("read as: " + "; ".join(read["read"]), err=True)
    if unknown:
        quoted = ", ".join(f'"{word}"' for word in unknown)
        click.echo(f"unknown: no caption or tag in the library has {quoted}", err=True)
        for word, meant in results.suggestions.items():
            options = " or ".join(f'"{known}"' for known in meant)
            click.echo(f'did you mean {options} for "{word}"?', err=True)
    for hit in hits + results.maybe:
        if null_separated:
            sys.stdout.write(hit.path + "\0")
        elif paths_only:
            click.echo(hit.path)
        elif as_json:
            cited = {word: tag._asdict() for word, tag in (hit.matched_tags or {}).items()}
            click.echo(json.dumps({"path": hit.path, "caption": hit.caption, "score": round(hit.score, 4),
                                   "tags": [tag for tag, _p, _source in hit.tags], "matched": hit.matched or {},
                                   "matched_tags": cited, "maybe": hit.maybe,
                                   **({"query_read": read} if read else {})}))
        else:
            if hit is (results.maybe or [None])[0]:
                click.echo(f"maybe: {counted(len(results.maybe), 'photo')} that only guesses weaker than search "
                           "trusts rank (not counted as matches)")
            click.echo(f"{hit.score:7.2f}  {hit.path}\n         {hit.caption}")
            if hit.matched:
                click.echo(f"         matched {matched_text(hit.matched, hit.matched_tags)}")
    if not hits:
        if not (as_json or paths_only or null_separated):
            click.echo("no photo matches", err=True)
        ctx.exit(EXIT_NOTHING_FOUND)


@main.command()
@click.argument("images", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "user_caption", nargs=2, type=(click.Path(dir_okay=False, path_type=Path), str),
              metavar="PATH TEXT", help="Save TEXT as your own caption of catalogued photo PATH; it wins over "
              "the model's in search and export, and re-indexing never replaces it.")
@click.option("--clear", "clear_path", type=click.Path(dir_okay=False, path_type=Path), metavar="PATH",
              help="Remove your own caption of PATH: the model's is used again.")
@device_option
@precision_option
@beam_option
@detect_option
@model_option
@encoder_weights_option
@json_option
@click.pass_context
def caption(ctx, images, user_caption, clear_path, device, precision, beam_size, detect, model, encoder_weights,
            as_json):
    """Caption image files without touching the catalog (alt text for one image), or set your own caption
    of a catalogued photo.

    \b
    Examples:
        photocap caption holiday.jpg --json
        photocap caption --set ~/Pictures/beach.jpg "Mia building a sandcastle at Whitby"
        photocap caption --clear ~/Pictures/beach.jpg
    """
    if user_caption or clear_path:
        if images or (user_caption and clear_path):
            raise InputError("--set PATH TEXT and --clear PATH each take one photo, and no IMAGE arguments")
        path, text = user_caption or (clear_path, None)
        _save_user_caption(_settings(ctx).home, path, text)
        return
    if not images:
        raise InputError("give IMAGE files to caption (or --set PATH TEXT, --clear PATH)")
    settings = _settings(ctx, device=device, precision=precision, beam_size=beam_size, model=model,
                         encoder_weights=encoder_weights, detect=detect)
    from photocap.media.decode import PhotoDecodeError
    from photocap.model.captioner import Captioner

    try:
        captioner = Captioner.load(settings.model, settings.device, settings.encoder_weights, settings.precision,
                                   settings.detector_input)
    except _product_errors() as error:
        raise InputError(str(error)) from None
    failed = 0
    for start in range(0, len(images), settings.batch_size):
        chunk = images[start : start + settings.batch_size]
        for path, result in zip(chunk, captioner.caption_files(list(chunk), settings.beam_size), strict=True):
            if isinstance(result, PhotoDecodeError):
                failed += 1
                click.echo(f"error: {path}: {result}", err=True)
            elif as_json:
                click.echo(json.dumps({"path": str(path), "caption": result.text}))
            else:
                click.echo(f"{path}: {result.text}")
    if failed:
        ctx.exit(EXIT_INPUT_ERROR if failed == len(images) else EXIT_PARTIAL_FAILURE)


def _save_user_caption(home: Path, path: Path, text: str | None) -> None:
    from photocap.edits import EditError, save_user_caption

    try:
        photo, changed = save_user_caption(home, path, text, warn=lambda message: click.echo(message, err=True))
    except (EditError, *_product_errors()) as error:
        raise InputError(_printable(str(error))) from None
    if text is not None:
        click.echo(f"caption saved: {_printable(photo)}", err=True)
    elif changed:
        click.echo(f"caption cleared (the model's is used again): {_printable(photo)}", err=True)
    else:
        click.echo(f"nothing to clear: {_printable(photo)} has no caption of yours", err=True)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--query", "-q", help="Export the photos this search finds (same syntax as `photocap search`).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="With --query: at most this many photos, the best matches (default 20, as `photocap search`).")
@click.option("--to", "to_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Copy the photos into this folder with the alt text embedded (EXIF and XMP).")
@click.option("--sidecar", is_flag=True, help="Write XMP sidecars beside the originals instead of copying them; "
              "an existing sidecar keeps all its other metadata.")
@click.option("--sidecar-style", type=click.Choice(["darktable", "lightroom"]), default=None,
              help="Sidecar names: darktable (the default; also digiKam) photo.jpg.xmp, lightroom photo.xmp.")
@click.option("--manifest", type=click.Choice(["json", "csv", "html"]),
              help="Also write a manifest of file, alt text and caption model (html: a page of thumbnails).")
@click.option("--manifest-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Where the manifest goes (default with --to: DIR/manifest.FORMAT).")
@click.option("--overwrite", is_flag=True, help="Replace copies (and a manifest) that already exist.")
@click.option("--min-confidence", type=click.FloatRange(0.0, 1.0), default=None,
              help="Do not write a model caption less sure than this as alt text (default: the calibrated "
                   "threshold, 0.5 as shipped: below it a caption is more likely wrong than right; 0 writes every "
                   "caption). Your own captions are always written.")
@click.option("--unsure", "unsure_alt", type=click.Choice(["tags", "none"]), default="tags", show_default=True,
              help="What a photo with an unsure caption gets: its tags as a short alt text, or no alt text.")
@json_option
@click.pass_context
def export(ctx, paths, query, limit, to_dir, sidecar, sidecar_style, manifest, manifest_file, overwrite,
           min_confidence, unsure_alt, as_json):
    """Export photos with their captions as alt text: copies with the alt text embedded, XMP sidecars, or a
    manifest. PATH is a catalogued photo or a folder of them. Captions come from the catalog (yours win over
    the model's); originals are never modified. Exit 3 when some photos failed (listed), 2 when all did.

    \b
    Examples:
        photocap export ~/Pictures/2024/beach.jpg --to ~/Desktop/for-web --manifest html
        photocap export --query "dog on a beach" --to out/ --json
        photocap export ~/Pictures/trip --sidecar
        photocap export ~/Pictures/trip --manifest csv --manifest-file trip-alt-text.csv
        photocap export ~/Pictures/trip --to out/ --min-confidence 0.7 --unsure none
    """
    from photocap.export import ExportError, ExportRequest, NothingToExport, run_export
    from photocap.model.calibration import unsure_below

    if sidecar_style is not None and not sidecar:
        raise InputError("--sidecar-style needs --sidecar")
    if limit is None and query is not None:
        limit = SEARCH_LIMIT
    settings = _settings(ctx)
    request = ExportRequest(paths=paths, query=query, limit=limit, to=to_dir,
                            sidecar_style=(sidecar_style or "darktable") if sidecar else None,
                            manifest=manifest, manifest_file=manifest_file, overwrite=overwrite,
                            place_in_alt_text=settings.alt_text_place,
                            min_confidence=unsure_below() if min_confidence is None else min_confidence,
                            unsure_alt=unsure_alt)
    try:
        report = run_export(settings.home, request, on_plan=_say_how_many if query is not None else None)
    except NothingToExport as error:
        click.echo(str(error), err=True)
        ctx.exit(EXIT_NOTHING_FOUND)
    except (ExportError, *_product_errors()) as error:
        raise InputError(_printable(str(error))) from None
    for item in report.exported:
        if as_json:
            click.echo(json.dumps(item.as_json()))
        else:
            click.echo(f"{_printable(item.path or item.source)}: {item.alt_text or '(no alt text)'}")
    for source, note in report.unembedded:
        click.echo(f"note: {_printable(source)}: {note}", err=True)
    for line in _failure_lines(report.failed):
        click.echo(line, err=True)
    if report.manifest:
        click.echo(f"manifest: {_printable(report.manifest)}", err=True)
    for line in _unsure_lines(report, request.min_confidence):
        click.echo(line, err=True)
    if report.failed:
        ctx.exit(EXIT_INPUT_ERROR if not report.exported else EXIT_PARTIAL_FAILURE)


def _unsure_lines(report: ExportReport, threshold: float | None) -> list[str]:
    """What became of the photos whose captions were too unsure to write (see export --min-confidence)."""
    lines = []
    for kind, what in (("tags", "their tags written as alt text instead"), ("none", "no alt text written")):
        count = report.unsure(kind)
        if count:
            lines.append(f"{counted(count, 'photo')} with a caption under confidence {threshold or 0:.2f}: {what} "
                         "(--min-confidence and --unsure choose)")
    return lines


def _failure_lines(failed: list[tuple[str, str]]) -> list[str]:
    """One line per failed photo; photos failing for the same folder ("cannot write in DIR: ...") share one."""
    by_folder: dict[str, list[str]] = {}
    lines = []
    for path, reason in failed:
        if reason.startswith("cannot write in "):
            if reason not in by_folder:
                lines.append(reason)
            by_folder.setdefault(reason, []).append(path)
        else:
            lines.append(f"{_printable(path)}: {_printable(reason)}")
    return [f"error: {_printable(line)}" + (f" ({counted(len(by_folder[line]), 'photo')} not exported)"
                                             if line in by_folder else "") for line in lines]


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@json_option
@click.pass_context
def show(ctx, paths, as_json):
    """What photocap knows of catalogued photos: caption (and who wrote it), tags, date, camera, status, model.
    Exit 2 if a PATH is not in the catalog (the others are still shown).

    \b
    Examples:
        photocap show ~/Pictures/beach.jpg
        photocap show ~/Pictures/2024/*.jpg --json
    """
    from photocap.show import details_text, photo_details

    try:
        found, unknown = photo_details(_settings(ctx).home, list(paths))
    except _product_errors() as error:
        raise InputError(str(error)) from None
    for details in found:
        if as_json:
            click.echo(json.dumps(details))
        else:
            click.echo(details_text(details))
    from photocap.wording import not_catalogued

    for path in unknown:
        click.echo(f"error: {_printable(not_catalogued(path))}", err=True)
    if unknown:
        ctx.exit(EXIT_INPUT_ERROR)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--add", "add", multiple=True, metavar="WORD", help="Tag the photos with WORD (repeatable).")
@click.option("--remove", "remove", multiple=True, metavar="WORD",
              help="Take tag WORD away, the model's or your own (repeatable).")
@json_option
@click.pass_context
def tag(ctx, paths, add, remove, as_json):
    """Your own tags of catalogued photos: they win over the model's, in search and export, and re-indexing
    never undoes them. Prints each photo's tags afterwards. Exit 2 if a PATH is not a catalogued photo (the
    others are still tagged).

    \b
    Examples:
        photocap tag ~/Pictures/beach.jpg --add "grandma" --add picnic --remove dog
        photocap tag ~/Pictures/2024-lisbon/*.jpg --add "lisbon trip"
    """
    from photocap.edits import EditError, edit_user_tags_of

    try:
        edited = edit_user_tags_of(_settings(ctx).home, paths, add, remove,
                                   warn=lambda message: click.echo(message, err=True))
    except (EditError, *_product_errors()) as error:
        raise InputError(str(error)) from None
    notes = {"user": " (yours)", "file": " (from the file)"}
    for photo, tags in edited:
        if isinstance(tags, str):
            click.echo(f"error: {_printable(tags)}", err=True)
        elif as_json:
            click.echo(json.dumps({"path": photo, "tags": tags}))
        else:
            listed = ", ".join(t["word"] + notes.get(t["source"], "") for t in tags) or "no tags"
            click.echo(listed if len(paths) == 1 else f"{_printable(photo)}: {listed}")
    if any(isinstance(tags, str) for _photo, tags in edited):
        ctx.exit(EXIT_INPUT_ERROR)


def _say_how_many(count: int) -> None:
    click.echo(f"exporting {count} {'photo' if count == 1 else 'photos'} (the best matches; --limit N for more)",
               err=True)


@main.command()
@json_option
@click.pass_context
def status(ctx, as_json):
    """Counts of photos by status, the models that wrote their captions, the search index's health, and the
    photos in error or missing, by name. Exit 3 when the search index is missing or unreadable.

    \b
    Example:
        photocap status --json
    """
    from photocap.status import catalog_status

    settings = _settings(ctx)
    try:
        report = catalog_status(settings.home)
    except _product_errors() as error:
        raise InputError(str(error)) from None
    if as_json:
        click.echo(json.dumps(report, default=str))
        if report["indexed"] is None:
            ctx.exit(EXIT_PARTIAL_FAILURE)
        return
    click.echo(f"home     {settings.home}")
    click.echo(f"photos   {report['photos']} ({report['ok']} ok, {report['pending']} pending, "
               f"{report['errors']} errors, {report['missing']} missing)")
    click.echo(f"model    {report['model'] or '-'}")
    click.echo(f"index    {report['index']}")
    if report["index_advice"]:
        click.echo(f"         {report['index_advice']}")
    tags = report["tagger"] or "none (the EfficientNet-Lite0 weights are not installed)"
    if report["awaiting_tags"]:
        waiting = report["awaiting_tags"]
        verb = "awaits" if waiting == 1 else "await"
        tags += f"; {counted(waiting, 'photo')} {verb} tags: run `photocap index` on their folders"
    click.echo(f"tagger   {tags}")
    objects = report["detector"] or "none (its weights are missing from photocap's assets)"
    if report["awaiting_detector"]:
        objects += (f"; {counted(report['awaiting_detector'], 'photo')} not looked at: "
                    "`photocap index --recaption-older` on their folders looks (it decodes them again)")
    click.echo(f"detector {objects}")
    index_unusable = report["indexed"] is None
    for failure in report["failed"]:
        click.echo(f"error: {_printable(failure['path'])}: {failure['error']}")
    for path in report["missing_photos"]:
        click.echo(f"missing: {_printable(path)}")
    if report["missing_photos"]:
        click.echo("(`photocap prune` forgets missing photos; they come back by themselves if they reappear)")
    if index_unusable:
        ctx.exit(EXIT_PARTIAL_FAILURE)


@main.command()
@json_option
@click.pass_context
def prune(ctx, as_json):
    """Forget the photos that are missing from disk (`photocap status` lists them): their captions, tags,
    search entries and thumbnails go. A photo that reappears later is simply indexed again.

    \b
    Example:
        photocap status && photocap prune
    """
    from photocap.catalog.store import Catalog
    from photocap.lock import exclusive_writer
    from photocap.media.thumbnails import prune_thumbnails
    from photocap.search.sync import open_for_writing
    from photocap.similar.vector_index import keep_in_step

    settings = _settings(ctx)
    if not (settings.home / "catalog.db").is_file():
        raise InputError(f"no catalog in {settings.home}; run `photocap index FOLDER` first")
    try:
        with exclusive_writer(settings.home), Catalog.open(settings.home) as catalog:
            paths = catalog.missing_paths()
            ids = catalog.prune_missing()
            with open_for_writing(catalog, settings.home / "index") as search_index:
                search_index.delete(ids)
            prune_thumbnails(settings.home, keep=catalog.content_hashes())
            keep_in_step(catalog, settings.home)
    except _product_errors() as error:
        raise InputError(str(error)) from None
    if as_json:
        click.echo(json.dumps({"pruned": len(ids), "paths": paths}))
    else:
        for path in paths:
            click.echo(f"forgot: {_printable(path)}")
        click.echo(f"{len(ids)} missing photos forgotten", err=True)


@main.command()
@click.argument("photo", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--limit", type=click.IntRange(min=1), default=SEARCH_LIMIT, show_default=True,
              help="How many photos to list.")
@json_option
@click.pass_context
def similar(ctx, photo, limit, as_json):
    """The catalogued photos that look most like PHOTO (a catalogued photo), most alike first, by the cosine
    similarity of the image features kept when they were captioned (1: the same picture). With --json, one
    object per line: {"path", "score", "caption"}.

    \b
    Example:
        photocap similar ~/Pictures/beach.jpg --limit 5
    """
    # Before numpy loads: a query's products are small, and OpenBLAS starting a thread per core costs about 0.1 s
    # of the 0.3 s a query may take (docs/SCALE.md). The user's own setting wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from photocap.similar.neighbours import SimilarError, similar_photos

    try:
        found = similar_photos(_settings(ctx).home, photo, limit)
    except (SimilarError, *_product_errors()) as error:
        raise InputError(str(error)) from None
    for item in found:
        if as_json:
            click.echo(json.dumps({"path": item["path"], "score": item["score"], "caption": item["caption"]}))
        else:
            click.echo(f"{item['score']:.3f}  {_printable(item['path'])}  {item['caption'] or ''}")
    if not found:
        click.echo("no other photo to compare with", err=True)
        ctx.exit(EXIT_NOTHING_FOUND)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--move-extras-to", "move_to", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Move every photo a group does not keep into DIR (under its own path), writing a manifest there.")
@click.option("--undo", "undo_manifest", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              metavar="MANIFEST", help="Put back the photos a --move-extras-to run moved, as its manifest lists.")
@click.option("--bursts/--no-bursts", default=True, show_default=True,
              help="Also list bursts: shots from one camera seconds apart, alike (never mixed with copies).")
@json_option
@click.pass_context
def duplicates(ctx, paths, move_to, undo_manifest, bursts, as_json):
    """Groups of the same picture among the catalogued photos (under PATHS, or all): exact copies, near copies
    (re-encoded, resized, slightly cropped, converted, metadata stripped) and bursts, each with the photo to keep
    and why: the largest, then the original format over a derived JPEG, then the one with your caption or tags,
    then the oldest. Nothing is deleted. With --json, one object per group:
    {"kind", "reason", "keep", "why", "photos": [{"path", "keep", ...}]}.

    \b
    Examples:
        photocap duplicates ~/Pictures
        photocap duplicates ~/Pictures --move-extras-to ~/duplicates      # then look, and if wrong:
        photocap duplicates --undo ~/duplicates/photocap-duplicates-20261203T180000000000Z.json
    """
    from photocap.catalog.store import Catalog
    from photocap.lock import exclusive_writer
    from photocap.search.sync import open_for_writing, sync_search_index
    from photocap.similar.duplicates import find_duplicates
    from photocap.similar.moves import ManifestError, move_extras, undo_moves

    settings = _settings(ctx)
    if undo_manifest and (move_to or paths):
        raise InputError("--undo takes only the manifest, no PATHS and no --move-extras-to")
    if not (settings.home / "catalog.db").is_file():
        raise InputError(f"no catalog in {settings.home}; run `photocap index FOLDER` first")
    roots = [os.path.abspath(path) for path in paths] or None
    try:
        if undo_manifest or move_to:
            with exclusive_writer(settings.home), Catalog.open(settings.home) as catalog:
                if undo_manifest:
                    report = undo_moves(catalog, undo_manifest)
                else:
                    found = find_duplicates(catalog, settings.home, roots, bursts=bursts, progress=_progress)
                    report = move_extras(catalog, found, move_to)
                with open_for_writing(catalog, settings.home / "index") as search_index:
                    sync_search_index(catalog, search_index)  # search shows the new paths at once
        else:
            with Catalog.open(settings.home) as catalog:
                found = find_duplicates(catalog, settings.home, roots, bursts=bursts, progress=_progress)
    except (ManifestError, *_product_errors()) as error:
        raise InputError(str(error)) from None
    if undo_manifest or move_to:
        verb = "put back" if undo_manifest else "moved"
        if as_json:
            click.echo(json.dumps(report))
        else:
            for move in report["moved"]:
                shown = (move["target"], move["source"]) if undo_manifest else (move["source"], move["target"])
                click.echo(f"{verb}: {_printable(shown[0])} -> {_printable(shown[1])}")
        for skipped in report["skipped"]:
            click.echo(f"skipped: {_printable(skipped['path'])}: {skipped['reason']}", err=True)
        click.echo(f"{counted(len(report['moved']), 'photo')} {verb}; manifest {report['manifest']}", err=True)
        if report["skipped"]:
            ctx.exit(EXIT_PARTIAL_FAILURE)
        return
    for group in found:
        if as_json:
            click.echo(json.dumps(group))
            continue
        click.echo(f"{group['kind']}: {group['reason']}")
        for member in group["photos"]:
            if member["keep"]:
                click.echo(f"  keep   {_printable(member['path'])}  ({group['why']})")
            else:
                click.echo(f"  extra  {_printable(member['path'])}")
    extras = sum(len(group["photos"]) - 1 for group in found)
    if not found:
        click.echo("no duplicates found", err=True)
        return
    click.echo(f"{counted(len(found), 'group')}, {counted(extras, 'photo')} to spare (--move-extras-to DIR moves "
               f"{'it' if extras == 1 else 'them'} aside)", err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Any other than loopback needs a token (one is made and printed).")
@click.option("--port", type=click.IntRange(min=1, max=65535), default=8765, show_default=True,
              help="Port to listen on.")
@click.option("--read-only", is_flag=True, help="Refuse every edit: browse and search only.")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the default browser.")
@click.option("--token", default=None, metavar="TOKEN",
              help="Require this token (16+ characters) on every request; without it one is made when --host is "
              "not loopback.")
@click.pass_context
def serve(ctx, host, port, read_only, open_browser, token):
    """Search, look at and fix your photos in a web browser: a local web app over the same catalog and search
    index (JSON API under /api/, documented at /api/docs). Runs beside `photocap watch`.

    \b
    Examples:
        photocap serve --open
        photocap serve --read-only --port 9000
        photocap serve --host 0.0.0.0            # prints an address with a token to open elsewhere
    """
    from photocap.web.options import checked_options

    settings = _settings(ctx)
    if not (settings.home / "catalog.db").is_file():
        raise InputError(f"no catalog in {settings.home}; run `photocap index FOLDER` first")
    try:
        options = checked_options(settings.home, host, port, read_only, token, generate_token=False)
    except ValueError as error:
        raise InputError(str(error)) from None
    from photocap.web.server import serve as run_server

    try:
        run_server(options, open_browser=open_browser)
    except OSError as error:
        raise InputError(str(error)) from None


@main.command("rebuild-index")
@click.pass_context
def rebuild_index(ctx):
    """Rebuild the search index from the catalog (after damage, or to be sure).

    \b
    Example:
        photocap rebuild-index
    """
    from photocap.catalog.store import Catalog
    from photocap.lock import exclusive_writer
    from photocap.search.index import SearchIndex
    from photocap.search.sync import rebuild_search_index

    settings = _settings(ctx)
    try:
        with exclusive_writer(settings.home), Catalog.open(settings.home) as catalog, \
                SearchIndex.open(settings.home / "index", create=True, repair=True) as search_index:
            count = rebuild_search_index(catalog, search_index)
    except _product_errors() as error:
        raise InputError(str(error)) from None
    click.echo(f"search index rebuilt: {counted(count, 'photo')}", err=True)


if __name__ == "__main__":
    main()
