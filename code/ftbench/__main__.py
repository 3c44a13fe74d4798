from ftbench.cli import main

raise SystemExit(main())
