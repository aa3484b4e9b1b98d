"""Runs on the server's side (DESIGN §7a): the run manager that supervises their processes, and the
processes themselves. A backtest run's worker (:mod:`weaver.live.backtest_worker`) shares nothing with
the server but the store."""
