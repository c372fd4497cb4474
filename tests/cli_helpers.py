"""What the command-line tests share (pytest puts this folder on sys.path)."""

from rlbasics.cli import main


def run_cli(args, capsys):
    """``rlbasics ARGS`` in this process: (exit status, stdout, stderr)."""
    try:
        code = main(args)
    except SystemExit as stop:  # argparse's --help, --version and usage errors
        code = stop.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err
