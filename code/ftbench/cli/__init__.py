"""The command line: `cli/main.py` parses, `cli/registry.py` holds the table of commands, and each
other module is one subcommand (showyourwork's one file per subcommand).

Every command is registered when the parser is built, but a command imports the stage it drives
inside its function, when it runs: these are the package's lazy imports, and they are on purpose,
so that `ftbench status`, `plan`, `explain` and `render` never load torch or timm (about 3 s).
"""
