from ftbench.bench.runner import main

raise SystemExit(main())
