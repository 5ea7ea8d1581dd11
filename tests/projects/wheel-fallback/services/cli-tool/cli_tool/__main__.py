"""Usage: cli_tool [--name=NAME]"""

from docopt import docopt

args = docopt(__doc__)
print(f"hello, {args['--name'] or 'world'}")
