from ftbench.tools.bench.runner import main

raise SystemExit(main())
