"""The `photocap` command line. Commands only parse, call one function and print; heavy modules (torch, the
catalog) are imported inside the commands that need them, so `photocap search` starts fast."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path

import click

from photocap.config import ConfigError, Settings, load_settings

EXIT_NOTHING_FOUND, EXIT_INPUT_ERROR, EXIT_PARTIAL_FAILURE = 1, 2, 3


class InputError(click.ClickException):
    """A usage or input error: one line on stderr, exit code 2."""

    exit_code = EXIT_INPUT_ERROR


def _settings(ctx: click.Context, **overrides) -> Settings:
    try:
        return load_settings(ctx.obj["config"], ctx.obj["home"], **overrides)
    except ConfigError as error:
        raise InputError(str(error)) from None


def _product_errors() -> tuple[type[Exception], ...]:
    """The exceptions that mean bad input or state, reported as one line rather than a traceback."""
    from photocap.catalog import CatalogError
    from photocap.lock import HomeLocked
    from photocap.model.checkpoint import CheckpointError
    from photocap.search import SearchIndexError, SearchQueryError

    return CatalogError, CheckpointError, HomeLocked, SearchIndexError, SearchQueryError, ValueError, OSError


def _progress(description: str, total: int):
    from tqdm import tqdm

    bar = tqdm(total=total, desc=description, unit="photo", file=sys.stderr, dynamic_ncols=True,
               disable=None)  # None: no bar when stderr is not a terminal
    return bar.update


device_option = click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
                             help="Where the captioner runs (default auto: CUDA when present).")
batch_option = click.option("--batch-size", type=click.IntRange(min=1), default=None,
                            help="Photos per batch (default 32).")
workers_option = click.option("--workers", type=click.IntRange(min=0), default=None,
                              help="Decoding processes (default min(4, CPUs)).")
beam_option = click.option("--beam-size", type=click.IntRange(min=1, max=20), default=None,
                           help="Caption beam width (default 3; 1 is greedy).")
model_option = click.option("--model", default=None, help="Shipped model name or checkpoint file (default: the best).")
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")


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
@click.option("--recaption-older", is_flag=True, help="Re-caption photos captioned by another model.")
@click.option("--follow-symlinks", is_flag=True, default=None, help="Follow symbolic links (loops are skipped).")
@device_option
@batch_option
@workers_option
@beam_option
@model_option
@json_option
@click.pass_context
def index(ctx, paths, recaption_older, follow_symlinks, device, batch_size, workers, beam_size, model, as_json):
    """Scan folders; caption new and changed photos; record moves and removals.

    \b
    Example:
        photocap index ~/Pictures ~/Phone --json
    """
    settings = _settings(ctx, device=device, batch_size=batch_size, workers=workers, beam_size=beam_size,
                         model=model, follow_symlinks=follow_symlinks)
    from photocap.pipeline import run_index

    try:
        report = run_index(settings, list(paths), recaption_older=recaption_older, progress=_progress)
    except _product_errors() as error:
        raise InputError(str(error)) from None
    if as_json:
        click.echo(json.dumps(report.as_json(), default=str))
    else:
        click.echo(f"{report.new} new, {report.changed} changed, {report.moved} moved, {report.missing} missing, "
                   f"{report.unchanged} unchanged; {report.captioned} captioned, {report.errors} errors "
                   f"in {report.seconds:.1f} s ({report.photos_per_s:.1f} photos/s)")
        for failure in report.failed:
            click.echo(f"error: {failure['path']}: {failure['error']}", err=True)
    if report.errors:
        ctx.exit(EXIT_PARTIAL_FAILURE)


def _parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise InputError(f"{option} expects a date as YYYY-MM-DD, got {value!r}") from None


@main.command()
@click.argument("query")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Most results shown.")
@click.option("--folder", type=click.Path(file_okay=False, path_type=Path), help="Only photos under this folder.")
@click.option("--after", help="Only photos taken on or after this day (YYYY-MM-DD).")
@click.option("--before", help="Only photos taken on or before this day (YYYY-MM-DD).")
@click.option("--camera", help="Only photos whose camera make or model matches.")
@json_option
@click.option("--paths", "paths_only", is_flag=True, help="Print only paths, one per line.")
@click.option("-0", "null_separated", is_flag=True, help="Print only paths, NUL-separated (for xargs -0).")
@click.pass_context
def search(ctx, query, limit, folder, after, before, camera, as_json, paths_only, null_separated):
    """Find photos by description (plain words, or Whoosh syntax: AND OR NOT "phrase" dog*).

    \b
    Examples:
        photocap search "a dog runs on the beach"
        photocap search 'dog AND (beach OR sand) NOT ball' --after 2023-01-01 --json
        photocap search "kids playing in snow" -0 | xargs -0 open
    """
    from photocap.search import SearchIndex, SearchIndexError, SearchQueryError

    settings = _settings(ctx)
    after_day, before_day = _parse_day(after, "--after"), _parse_day(before, "--before")
    index_dir = settings.home / "index"
    if not index_dir.exists():
        raise InputError(f"no search index in {settings.home}; run `photocap index FOLDER` first")
    try:
        with SearchIndex.open(index_dir, create=False) as search_index:
            hits = search_index.search(query, limit=limit, folder=str(folder.resolve()) if folder else None,
                                       after=after_day, before=before_day, camera=camera)
    except SearchQueryError as error:
        raise InputError(f"bad query: {error}") from None
    except SearchIndexError as error:
        raise InputError(str(error)) from None
    for hit in hits:
        if null_separated:
            sys.stdout.write(hit.path + "\0")
        elif paths_only:
            click.echo(hit.path)
        elif as_json:
            click.echo(json.dumps({"path": hit.path, "caption": hit.caption, "score": round(hit.score, 4)}))
        else:
            click.echo(f"{hit.score:7.2f}  {hit.path}\n         {hit.caption}")
    if not hits:
        if not (as_json or paths_only or null_separated):
            click.echo("no photo matches", err=True)
        ctx.exit(EXIT_NOTHING_FOUND)


@main.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@device_option
@beam_option
@model_option
@json_option
@click.pass_context
def caption(ctx, images, device, beam_size, model, as_json):
    """Caption image files without touching the catalog (alt text for one image).

    \b
    Example:
        photocap caption holiday.jpg --json
    """
    settings = _settings(ctx, device=device, beam_size=beam_size, model=model)
    from photocap.images import PhotoDecodeError
    from photocap.model.captioner import Captioner

    try:
        captioner = Captioner.load(settings.model, settings.device)
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


@main.command()
@json_option
@click.pass_context
def status(ctx, as_json):
    """Counts of photos by status, the models that wrote their captions, and the search index's health.

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
        return
    click.echo(f"home     {settings.home}")
    click.echo(f"photos   {report['photos']} ({report['ok']} ok, {report['pending']} pending, "
               f"{report['errors']} errors, {report['missing']} missing)")
    click.echo(f"model    {report['model'] or '-'}")
    click.echo(f"index    {report['index']}")
    for failure in report["failed"]:
        click.echo(f"error: {failure['path']}: {failure['error']}")


@main.command("rebuild-index")
@click.pass_context
def rebuild_index(ctx):
    """Rebuild the search index from the catalog (after damage, or to be sure).

    \b
    Example:
        photocap rebuild-index
    """
    from photocap.catalog import Catalog
    from photocap.lock import exclusive_writer
    from photocap.search import SearchIndex
    from photocap.search_sync import rebuild_search_index

    settings = _settings(ctx)
    try:
        with exclusive_writer(settings.home), Catalog.open(settings.home) as catalog, \
                SearchIndex.open(settings.home / "index", create=True, repair=True) as search_index:
            count = rebuild_search_index(catalog, search_index)
    except _product_errors() as error:
        raise InputError(str(error)) from None
    click.echo(f"search index rebuilt: {count} photos", err=True)


if __name__ == "__main__":
    main()
