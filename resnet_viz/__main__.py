"""`python -m resnet_viz ...`"""

from .cli import main

raise SystemExit(main())
