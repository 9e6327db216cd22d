"""nativeval command line: thin click commands that parse options and call into the packages."""

from __future__ import annotations

import functools
import logging
import sys

import click

from harness_ext import __version__
from harness_ext.errors import NativevalError


def friendly_errors(fn):
    """Turn expected failures into one line on stderr and a non-zero exit, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except NativevalError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted: finished work is saved; rerun the same command to resume", err=True)
            sys.exit(130)

    return wrapper


def not_implemented(name: str):
    click.echo(f"nativeval {name}: not implemented yet", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nativeval")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool):
    """nativeval: is my multilingual model good, or is my evaluation just bad?"""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s: %(message)s")


# --- data -------------------------------------------------------------------------------------------
@main.group()
def data():
    """Dataset mirrors for offline clusters: download and check."""


@data.command("download", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def data_download(args):
    """Write a mirror of the tasks' datasets (needs internet)."""
    not_implemented("data download")


@data.command("check", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def data_check(args):
    """Print where each task's data would come from and whether it is available."""
    not_implemented("data check")


# --- tasks ------------------------------------------------------------------------------------------
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def tasks(args):
    """The task catalogue: name, language, provenance, type, shots, metrics, data."""
    not_implemented("tasks")


# --- eval -------------------------------------------------------------------------------------------
@main.command("eval", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def eval_(args):
    """Run lm-eval on nativeval tasks (and the judge, when configured)."""
    not_implemented("eval")


# --- translate / rtt --------------------------------------------------------------------------------
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def translate(args):
    """Translate a dataset with Google, an LLM or a local MT model."""
    not_implemented("translate")


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def rtt(args):
    """Round-trip translate X -> en -> X, keeping the English pivot."""
    not_implemented("rtt")


# --- finetune ---------------------------------------------------------------------------------------
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def finetune(args):
    """LoRA or full SFT with the study's recipe."""
    not_implemented("finetune")


# --- judge ------------------------------------------------------------------------------------------
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def judge(args):
    """Judge open-ended answers with GPT-4 or any OpenAI-compatible model."""
    not_implemented("judge")


# --- leaderboard ------------------------------------------------------------------------------------
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def leaderboard(args):
    """Markdown, CSV, HTML and plots that expose the native-translated gap."""
    not_implemented("leaderboard")


# --- study ------------------------------------------------------------------------------------------
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def study(args):
    """Run a whole study: translate, fine-tune, evaluate, judge, leaderboard; resumable."""
    not_implemented("study")


if __name__ == "__main__":
    main()
