"""`python -m spacy_mner COMMAND`: the package's command-line tools."""
import argparse
import importlib
import sys
from typing import List, Optional

# command -> module under spacy_mner.cli; each module has add_arguments(parser) and run(args) -> int
COMMANDS = {
    "calibrate": "calibrate",
    "convert": "convert",
    "label-images": "label_images",
    "predict": "predict",
    "serve": "serve",
    "visualize": "visualize",
}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spacy_mner", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    modules = {}
    for command, module_name in COMMANDS.items():
        module = importlib.import_module(f"spacy_mner.cli.{module_name}")
        modules[command] = module
        module.add_arguments(sub.add_parser(command, help=module.__doc__, description=module.__doc__))
    args = parser.parse_args(argv)
    return modules[args.command].run(args)


if __name__ == "__main__":
    sys.exit(main())
