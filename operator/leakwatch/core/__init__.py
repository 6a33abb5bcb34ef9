"""Pure logic: no I/O, no clocks read, no clients. Everything here is tested alone."""
