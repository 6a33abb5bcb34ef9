from leakwatch.cli import main

raise SystemExit(main())
