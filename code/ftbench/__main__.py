from ftbench.cli.main import main

raise SystemExit(main())
