"""`python -m voice`: the same program as the `voicefaq` command."""

from voice.cli import run

if __name__ == "__main__":
    run()
